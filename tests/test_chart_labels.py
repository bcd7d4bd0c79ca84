"""Every chart the README's run draws, read as a reader reads it: no two labels of a panel overlap, none is cut."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tfvarbench.render.labels import problems
from tfvarbench.render.report import build_report
from tfvarbench.runs import load_run


def _title(figure: Any) -> str:
    said = figure._suptitle.get_text() if figure._suptitle else ""
    return said or next((axis.get_title(loc) for axis in figure.axes for loc in ("left", "center") if axis.get_title(loc)), "?")


@pytest.fixture(scope="module")
def checked() -> list[tuple[str, list[str]]]:
    """(title, problems) of every figure the report of the example run saves, checked as it is saved."""
    from matplotlib.figure import Figure

    example = Path(__file__).resolve().parent.parent / "results" / "examples" / "quick-2cpu.json"
    found: list[tuple[str, list[str]]] = []
    original = Figure.savefig

    def saving(self: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("format", "png") == "png":  # each figure is saved as PNG once (and as SVG for the plots)
            found.append((_title(self), problems(self, tight=kwargs.get("bbox_inches") == "tight")))
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Figure, "savefig", saving)
        build_report([load_run(example)])
    return found


def test_every_chart_of_the_example_run_is_checked(checked: list[tuple[str, list[str]]]) -> None:
    # a chart per job table (glance) and the family and mode plots
    assert len(checked) >= 15, [title for title, _ in checked]


def test_no_label_of_any_chart_overlaps_another_or_is_cut(checked: list[tuple[str, list[str]]]) -> None:
    bad = [(title, found) for title, found in checked if found]
    assert bad == [], f"{sum(len(f) for _, f in bad)} problems in {len(bad)} of {len(checked)} charts: {bad}"


def test_the_check_sees_an_overlap_and_a_cut_label() -> None:
    """Planted: the two formatters of one log axis (the issue's "4 × 10⁻⁵" on "100 µs"), and a label clipped with an ellipsis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    figure, axis = plt.subplots(figsize=(2.5, 2))
    axis.barh([0, 1], [3e-5, 1e-4], left=2e-5)
    axis.set_xscale("log")
    axis.set_xlim(2e-5, 2e-4)  # one decade: matplotlib labels some minor ticks too
    axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value * 1e6:.3g} µs"))
    axis.set_yticks([0, 1], ["embedding step: tape + v.sc…", "embedding step: tape + v.as…"])
    found = problems(figure, tight=True)
    plt.close(figure)
    assert any(line.startswith("overlap:") for line in found), found
    assert any(line.startswith("cut:") and "…" in line for line in found), found


def test_the_ways_of_a_family_are_labelled_by_what_sets_them_apart() -> None:
    """The issue's six embedding ways: cut to 28 characters two pairs read the same; their own words never do."""
    from tfvarbench.render.jobchart import shared

    ways = [
        "embedding step: tape + v.scatter_sub(IndexedSlices(lr * g.values, g.indices)) [function]",
        "embedding step: tape + ResourceSparseApplyProximalGradientDescent (l1 = l2 = 0) [eager]",
        "embedding step: tape + v.assign_sub(lr * tf.convert_to_tensor(g)) (densified) [function]",
        "embedding step: tape + v.scatter_sub(IndexedSlices(lr * g.values, g.indices)) [eager]",
        "embedding step: tape + keras SGD.apply_gradients [eager]",
        "embedding step: tape + v.assign_sub(lr * tf.convert_to_tensor(g)) (densified) [eager]",
    ]
    head, tail, rests = shared(ways)
    assert (head, tail) == ("embedding step: tape +", "")
    assert len(set(rests)) == len(ways) and all(f"{head} {rest}" == way for rest, way in zip(rests, ways))
    assert shared(["assign: read_value=False", "slice assign: v[:n/2].assign(x)"]) == ("", "", ["assign: read_value=False", "slice assign: v[:n/2].assign(x)"])
    assert shared(["a: x [function]", "a: y [function]"]) == ("a:", "[function]", ["x", "y"])


def test_a_label_wraps_between_words_or_after_a_call_s_bracket_and_keeps_every_character() -> None:
    from tfvarbench.render.jobchart import WRAP, wrap

    text = "v.scatter_sub(IndexedSlices(lr * g.values, g.indices)) [function]"
    assert wrap(text) == ["v.scatter_sub(IndexedSlices(", "lr * g.values, g.indices))", "[function]"]
    assert wrap("v.assign_sub(lr * tf.convert_to_tensor(g)) (densified) [eager]")[-1] == "(densified) [eager]"  # " (" opens a line
    long = "ResourceSparseApplyProximalGradientDescent (l1 = l2 = 0) [eager]"  # a name longer than a line is split, nothing lost
    assert "".join(wrap(long)).replace(" ", "") == long.replace(" ", "") and all(len(line) <= WRAP for line in wrap(long))
