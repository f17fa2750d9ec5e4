"""Text input: corpus streaming with byte offsets, tokenization, vocabulary and subsampling."""
