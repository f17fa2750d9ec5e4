"""``seqdl convert IN OUT``: vectors from any format seqdl reads into word2vec, GloVe, npz or TensorBoard's."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import json_option, quiet_option

#: OUT's format from its suffix when --to is not given.
_BY_SUFFIX = {".bin": "binary", ".npz": "npz", ".tsv": "projector"}


@click.command("convert")
@click.argument("source", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("output", metavar="OUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--to", "target", type=click.Choice(["text", "binary", "glove", "npz", "projector"]), default=None,
              help="OUT's format  [default: from OUT's suffix: .bin binary, .npz npz, .tsv projector, else text]")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Keep only the first (most frequent) N vectors.")
@click.option("--no-header", is_flag=True, default=None,
              help="IN is a GloVe file (no '<count> <dim>' line)  [default: detected]")
@click.option("--binary/--text", "binary", default=None,
              help="IN is word2vec binary / text  [default: detected from the content]")
@click.option("--metadata", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --to projector: the labels file  [default: metadata.tsv beside OUT]")
@json_option
@quiet_option
def convert_command(source: Path, output: Path, target: str | None, limit: int | None, no_header: bool | None,
                    binary: bool | None, metadata: Path | None, as_json: bool, quiet: bool) -> None:
    """Convert the vectors in IN (word2vec text or binary, GloVe, seqdl .npz, fastText .bin) to OUT.

    OUT is word2vec text (gensim, fastText and every seqdl command read it),
    word2vec binary, GloVe text (no header), a seqdl .npz (which keeps a
    subword model's n-grams, so unknown words still get vectors), or the
    TensorBoard Embedding Projector pair: OUT (vectors.tsv) plus a labels
    file (metadata.tsv), to load at projector.tensorflow.org.
    """
    from ..embeddings.loading import load_vectors
    from ..io import check_input, check_output, to_json

    target = target or _BY_SUFFIX.get(output.suffix.lower(), "text")
    if metadata is not None and target != "projector":
        raise click.UsageError("--metadata goes with --to projector")
    check_input(source, "vectors file")
    check_output(output, inputs=[source])
    if target == "projector":
        metadata = metadata or output.with_name("metadata.tsv")
        check_output(metadata, inputs=[source], others=[output])
    kv = load_vectors(source, limit=limit, no_header=no_header or None, binary=binary)
    if target == "npz":
        kv.save(output)
    elif target == "projector":
        from ..embeddings.formats import write_projector

        write_projector(output, metadata, kv.index_to_key, kv.vectors)
    else:
        from ..embeddings.formats import write_word2vec

        write_word2vec(output, kv.index_to_key, kv.vectors, binary=target == "binary", header=target != "glove")
    written = [str(output)] + ([str(metadata)] if target == "projector" else [])
    if as_json:
        click.echo(to_json({"input": str(source), "outputs": written, "format": target, "words": len(kv),
                            "dim": kv.vector_size}))
    if not quiet:
        click.echo(f"wrote {len(kv):,} vectors of dimension {kv.vector_size} to {' and '.join(written)}", err=True)
