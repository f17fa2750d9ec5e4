"""Chooser: runs the option that has been fastest lately, and the other now and then to notice a change."""

from __future__ import annotations

import pytest

from seqdl.nn.autotune import Chooser


def run(chooser: Chooser, costs: dict[str, float], calls: int) -> list[str]:
    """Pick and record ``calls`` times with fixed costs; the options picked, in order."""
    picked = []
    for _ in range(calls):
        option = chooser.pick()
        chooser.record(option, costs[option])
        picked.append(option)
    return picked


def test_each_option_is_tried_twice_then_the_fastest_runs_and_the_other_every_nth_call():
    chooser = Chooser(("units", "rows"), probe_every=5)
    picked = run(chooser, {"units": 2.0, "rows": 1.0}, 20)
    assert picked[:4] == ["units", "units", "rows", "rows"]
    assert [i + 1 for i, option in enumerate(picked) if option == "units"] == [1, 2, 5, 10, 15, 20]
    assert chooser.best() == "rows"


def test_an_option_s_first_time_is_not_counted():
    chooser = Chooser(("units", "rows"))
    for option, seconds in (("units", 50.0), ("units", 1.0), ("rows", 2.0), ("rows", 2.0)):
        assert chooser.pick() == option
        chooser.record(option, seconds)
    assert chooser.seconds == {"units": 1.0, "rows": 2.0} and chooser.best() == "units"


def test_it_follows_a_change_of_the_machine():
    chooser = Chooser(("units", "rows"), probe_every=4, smoothing=0.5)
    run(chooser, {"units": 1.0, "rows": 2.0}, 12)
    assert chooser.best() == "units"
    picked = run(chooser, {"units": 3.0, "rows": 2.0}, 12)  # the cores moved apart: units got slower
    assert chooser.best() == "rows" and picked[-4:-1] == ["rows"] * 3  # (the 24th call is a probe)


def test_one_option_always_runs():
    chooser = Chooser(("units",))
    assert run(chooser, {"units": 1.0}, 5) == ["units"] * 5


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        Chooser(())
    with pytest.raises(ValueError):
        Chooser(("a", "a"))
    with pytest.raises(ValueError):
        Chooser(("a", "b"), probe_every=1)
    with pytest.raises(ValueError):
        Chooser(("a", "b"), smoothing=0)
    with pytest.raises(ValueError, match="unknown option"):
        Chooser(("a", "b")).record("c", 1.0)


def test_a_probe_that_is_never_recorded_is_not_handed_out_again():
    """A caller that runs without timing (an evaluation's forward) may take the probe: the next picks are the
    fastest option again, not the probe over and over."""
    chooser = Chooser(("units", "rows"), probe_every=5)
    run(chooser, {"units": 2.0, "rows": 1.0}, 4)  # both tried; the 5th call would be the probe
    assert [chooser.pick() for _ in range(3)] == ["units", "rows", "rows"]
