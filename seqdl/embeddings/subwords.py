"""fastText's character n-grams and their hash buckets, exactly as fastText and gensim compute them.

A word is wrapped in ``<`` and ``>``; its n-grams are the runs of ``minn`` to
``maxn`` UTF-8 *characters* of the wrapped word (taken on the UTF-8 bytes,
never splitting a character), except the lone ``<`` and ``>``. Each n-gram's
bucket is its FNV-1a hash modulo ``bucket``, where fastText XORs each byte
as a *signed* char (so bytes >= 0x80 are sign-extended to 32 bits), a quirk
gensim's ``ft_hash_bytes`` reproduces and so do we: otherwise the rows of a
published ``.bin`` would belong to other n-grams for any non-ASCII word.
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["ft_hash", "ngrams", "ngram_buckets"]

_FNV_OFFSET = 2166136261
_FNV_PRIME = 16777619
_MASK = 0xFFFFFFFF


def ft_hash(data: bytes) -> int:
    """fastText's 32-bit FNV-1a of ``data`` with each byte taken as a signed char."""
    h = _FNV_OFFSET
    for byte in data:
        h = ((h ^ (byte | 0xFFFFFF00 if byte >= 0x80 else byte)) * _FNV_PRIME) & _MASK
    return h


def ngrams(word: str, minn: int, maxn: int) -> list[bytes]:
    """The UTF-8 n-grams of ``<word>`` of ``minn`` to ``maxn`` characters, in fastText's order."""
    data = f"<{word}>".encode("utf-8")
    size = len(data)
    out: list[bytes] = []
    for i in range(size):
        if data[i] & 0xC0 == 0x80:  # a continuation byte: not the start of a character
            continue
        j, n = i, 1
        while j < size and n <= maxn:
            j += 1
            while j < size and data[j] & 0xC0 == 0x80:
                j += 1
            if n >= minn and not (n == 1 and (i == 0 or j == size)):
                out.append(data[i:j])
            n += 1
    return out


def ngram_buckets(word: str, minn: int, maxn: int, bucket: int, cache: dict[bytes, int] | None = None) -> list[int]:
    """The hash bucket of each of ``word``'s n-grams (repeats kept, as fastText and gensim keep them).

    ``cache`` (n-gram -> hash) saves rehashing n-grams shared by many words.
    """
    if cache is None:
        return [ft_hash(gram) % bucket for gram in ngrams(word, minn, maxn)]
    out = []
    for gram in ngrams(word, minn, maxn):
        h = cache.get(gram)
        if h is None:
            h = cache[gram] = ft_hash(gram)
        out.append(h % bucket)
    return out


def subword_table(words: Sequence[str], minn: int, maxn: int, bucket: int):
    """The kernels' ``(subword_ptr, subword_rows)``: word ``i``'s rows are ``i`` then ``len(words) + b``.

    ``b`` runs over the buckets of the word's n-grams (those of
    :func:`ngram_buckets`, computed for the whole vocabulary by a numba
    kernel); the n-gram rows follow the word rows in one input matrix.
    """
    from .subword_kernels import subword_rows

    return subword_rows(words, minn, maxn, bucket)
