"""A third party adds a projection through register_projections and selects it with --method."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from click.testing import CliRunner

import seqdl
from seqdl.cli import make_cli
from seqdl.errors import PluginError
from seqdl.plugins import PluginHost

PLUGIN_SOURCE = '''
import numpy as np
import seqdl


def swap(vectors, *, scale=1.0):
    """The first two coordinates, swapped and scaled: a projection anyone can check by hand."""
    return np.asarray(vectors)[:, [1, 0]] * scale


@seqdl.hookimpl
def register_projections(register):
    register("swap", swap)
'''


def expected(kv, words, scale):
    return kv[words][:, [1, 0]] * scale


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[1:]
    return [r[0] for r in rows], np.array([[float(r[1]), float(r[2])] for r in rows])


def test_in_process_plugin_is_selected_by_method(tmp_path, vectors_file, kv):
    namespace: dict = {}
    exec(compile(PLUGIN_SOURCE, "swapper", "exec"), namespace)
    plugin = type("Swapper", (), {"register_projections": staticmethod(namespace["register_projections"])})
    host = PluginHost()
    host.load_entry_points()
    host.register(plugin, name="swapper")
    assert host.owner("projections", "swap") == "swapper"
    assert host.owner("projections", "tsne") == "tsne"

    out = tmp_path / "swap.csv"
    result = CliRunner().invoke(make_cli(host), ["project", "--vectors", str(vectors_file), "--limit", "10",
                                                 "--method", "swap", "-O", "scale=2.5", "-o", str(out)])
    assert result.exit_code == 0, result.output
    words, xy = read_csv(out)
    assert words == kv.index_to_key[:10]
    np.testing.assert_allclose(xy, expected(kv, words, 2.5), rtol=1e-6)
    np.testing.assert_allclose(seqdl.project(kv, words, method="swap", host=host, scale=2.5), xy, rtol=1e-6)
    with pytest.raises(seqdl.SeqdlError, match="unknown projection 'swap'"):  # not installed in this process
        seqdl.project(kv, words, method="swap")

    result = CliRunner().invoke(make_cli(host), ["project", "--vectors", str(vectors_file), "--method", "swap",
                                                 "--seed", "1", "-o", str(out)])
    assert result.exit_code == 1
    assert "projection 'swap' has no option 'seed' (it takes: scale)" in result.stderr


def test_installed_plugin_end_to_end(tmp_path, vectors_file, kv, make_distribution, run_seqdl):
    site = make_distribution(tmp_path / "site", "seqdl-swap", "0.1", {"seqdl_swap": PLUGIN_SOURCE},
                             {"swap": "seqdl_swap"})
    result = run_seqdl("project", "--method", "swap", "--words", "bee4,ant2,cat7", "-o", "swap.csv",
                       cwd=tmp_path, pythonpath=site)
    assert result.returncode == 0, result.stderr
    words, xy = read_csv(tmp_path / "swap.csv")
    assert words == ["bee4", "ant2", "cat7"]
    np.testing.assert_allclose(xy, expected(kv, words, 1.0), rtol=1e-6)


def test_a_projection_returning_the_wrong_shape_is_named(kv):
    class Broken:
        @staticmethod
        @seqdl.hookimpl
        def register_projections(register):
            register("first3", lambda vectors: np.asarray(vectors)[:, :3])
            register("nan", lambda vectors: np.full((len(vectors), 2), np.nan))

    host = PluginHost()
    host.register(Broken, name="broken")
    with pytest.raises(PluginError, match=r"projection 'first3' returned shape \(48, 3\), expected \(48, 2\)"):
        seqdl.project(kv, method="first3", host=host)
    with pytest.raises(PluginError, match="projection 'nan' returned NaN or infinite coordinates"):
        seqdl.project(kv, method="nan", host=host)
    with pytest.raises(seqdl.SeqdlError, match=r"unknown projection 'tsne' \(available: first3, nan\)"):
        seqdl.project(kv, host=host)
