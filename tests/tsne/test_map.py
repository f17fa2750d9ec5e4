"""The labelled map: readable at 500 words, written atomically, and optional matplotlib."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from seqdl.cli import make_cli
from seqdl_tsne.plot import draw_map, figure_size


def label_boxes(fig):
    """Pixel boxes (x0, y0, x1, y1) of the word labels and of the map area."""
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    boxes = np.array([t.get_window_extent(renderer).extents for t in ax.texts])
    return boxes, ax.get_window_extent(renderer).extents, ax.transData.transform(ax.collections[0].get_offsets())


def crowded_words(count: int, seed: int = 0):
    """``count`` words: a dense core where labels must collide, and a sparse halo where they need not."""
    rng = np.random.default_rng(seed)
    xy = np.vstack([rng.normal(scale=0.3, size=(count // 2, 2)), rng.uniform(-20, 20, size=(count - count // 2, 2))])
    return [f"word{i:03d}" for i in range(count)], xy


def test_500_labels_neither_overlap_nor_cover_other_dots():
    words, xy = crowded_words(500)
    fig, labelled = draw_map(words, xy, title="test")
    boxes, frame, dots = label_boxes(fig)
    assert len(boxes) == labelled
    assert 150 < labelled < 500  # the core is thinned, the halo labelled
    assert (boxes[:, :2] >= frame[:2]).all() and (boxes[:, 2:] <= frame[2:]).all()  # inside the map
    x0, y0, x1, y1 = (boxes[:, i] for i in range(4))
    overlap = (x0[:, None] < x1[None]) & (x0[None] < x1[:, None]) & (y0[:, None] < y1[None]) & (y0[None] < y1[:, None])
    np.fill_diagonal(overlap, False)
    assert not overlap.any()
    # a label covers no dot's centre (its own included: labels sit beside their dot)
    covers = (x0[:, None] < dots[None, :, 0]) & (dots[None, :, 0] < x1[:, None]) \
        & (y0[:, None] < dots[None, :, 1]) & (dots[None, :, 1] < y1[:, None])
    assert not covers.any()


def test_words_earlier_in_the_list_win_the_crowded_places():
    # three words on each point of a sparse grid: only two labels fit beside one dot (left and right)
    cells = np.array([(i, j) for i in range(5) for j in range(5)], dtype=float) * 10
    words = [f"r{rank}c{cell}" for rank in range(3) for cell in range(len(cells))]
    fig, _ = draw_map(words, np.vstack([cells] * 3))
    shown = {t.get_text() for t in fig.axes[0].texts}
    assert {w for w in words if w.startswith("r0")} <= shown
    assert not {w for w in words if w.startswith("r2")} & shown


def test_sparse_words_are_all_labelled():
    grid = np.array([(i, j) for i in range(8) for j in range(8)], dtype=float) * 10
    fig, labelled = draw_map([f"w{i}" for i in range(64)], grid)
    assert labelled == 64


def test_figure_grows_with_the_word_count_and_follows_the_map_shape():
    words, xy = crowded_words(500)
    small = figure_size(xy[:50])
    large = figure_size(xy)
    assert large[0] * large[1] > 2 * small[0] * small[1]
    wide = figure_size(np.array([[0, 0], [30, 10], [15, 5]], dtype=float))
    assert wide[0] > wide[1]


@pytest.fixture
def cli_run(vectors_file, tmp_path):
    def run(*args):
        return CliRunner().invoke(make_cli(), ["project", "--vectors", str(vectors_file), "--method", "pca", *args])
    return run


def test_png_svg_pdf_outputs(cli_run, tmp_path, kv):
    for suffix, magic in ((".png", b"\x89PNG\r\n\x1a\n"), (".svg", b"<?xml"), (".pdf", b"%PDF")):
        out = tmp_path / f"map{suffix}"
        result = cli_run("-o", str(out))
        assert result.exit_code == 0, result.output
        assert out.read_bytes().startswith(magic)
    svg = (tmp_path / "map.svg").read_text(encoding="utf-8")
    texts = re.findall(r"<text[^>]*>([^<]+)</text>", svg)  # labels stay text, not glyph paths
    assert texts[-1] == "pca map of 48 words from vectors.vec"
    assert set(texts[:-1]) <= set(kv.index_to_key) and len(set(texts[:-1])) == len(texts) - 1
    shown = re.search(r"labelled (\d+) of 48 words", result.stderr)
    assert len(texts) - 1 == (int(shown.group(1)) if shown else 48)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.pdf", "map.png", "map.svg", "vectors.vec"]


def test_without_matplotlib_maps_fail_in_one_line_but_tables_work(cli_run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    for suffix in (".png", ".svg"):
        result = cli_run("-o", str(tmp_path / f"map{suffix}"))
        assert result.exit_code == 1
        assert result.stderr.strip() == f'Error: writing a {suffix} map needs matplotlib: pip install "seqdl[plot]"'
    for suffix in (".csv", ".json"):
        assert cli_run("-q", "-o", str(tmp_path / f"map{suffix}")).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.csv", "map.json", "vectors.vec"]
