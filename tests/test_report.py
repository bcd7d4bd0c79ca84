"""`tfvarbench report`: merged runs from two machines, cost models, limits, plots, HTML, and bad input."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from tfvarbench.cli import main
from tfvarbench.analysis.model import crossover, fit_cost
from tfvarbench.render.findings import crossover_words
from tfvarbench.render.report import MARKER, build_report, merge
from tfvarbench.runs import load_run


@pytest.fixture
def gpu_run(saved_run: Path, tmp_path: Path) -> Path:
    """The real CPU run, rewritten as if made on 'gpu-box' with an H100 as GPU:0 (times scaled down 3x, and 20 µs overhead added)."""
    run = json.loads(saved_run.read_text())
    other = copy.deepcopy(run)
    other["machine_info"]["node"] = "gpu-box"
    other["datetime"] = "2026-11-25T10:00:00+00:00"
    other["machine_info"]["tfvarbench"]["devices"] = [
        {"name": "CPU:0", "kind": "CPU", "description": "Intel Xeon"},
        {"name": "GPU:0", "kind": "GPU", "model": "NVIDIA H100 80GB HBM3", "description": "NVIDIA H100 80GB HBM3, compute capability 9.0"},
    ]
    benchmarks = []
    for bench in other["benchmarks"]:
        info = bench["extra_info"]
        if info["device"] != "CPU:1":
            benchmarks.append(bench)
            continue
        info.update(device="GPU:0", device_kind="GPU")
        stats = bench["stats"]
        stats["data"] = [t / 3 + 20e-6 for t in stats["data"]]
        for key in ("median", "min", "max", "mean", "q1", "q3"):
            if key in stats:
                stats[key] = stats[key] / 3 + 20e-6
        stats["iqr"] = stats["iqr"] / 3
        benchmarks.append(bench)
    other["benchmarks"] = benchmarks
    path = tmp_path / "gpu-box.json"
    path.write_text(json.dumps(other))
    return path


def test_merge_labels_devices_by_machine_and_gpu_model(saved_run: Path, gpu_run: Path) -> None:
    cases = merge([load_run(saved_run), load_run(gpu_run)])
    labels = {case["device_label"] for case in cases}
    assert labels == {"vm/CPU:0", "vm/CPU:1", "gpu-box/CPU:0", "gpu-box/GPU:0 (NVIDIA H100 80GB HBM3, compute capability 9.0)"}


def test_pick_newest_takes_the_later_run_and_pooled_pools_every_round(saved_run: Path, tmp_path: Path) -> None:
    later = json.loads(saved_run.read_text())
    later["datetime"] = "2099-01-01T00:00:00+00:00"
    for bench in later["benchmarks"]:
        bench["stats"]["data"] = [t * 2 for t in bench["stats"]["data"]]
        bench["stats"]["median"] *= 2
    (tmp_path / "later.json").write_text(json.dumps(later))
    runs = [load_run(saved_run), load_run(tmp_path / "later.json")]
    one = lambda cases: next(c for c in cases if (c["case"], c["size"], c["device"]) == ("assign_add", "1Mi", "CPU:0"))
    original = one(runs[0].cases)
    assert one(merge(runs, "newest"))["median_s"] == pytest.approx(2 * original["median_s"])
    pooled = one(merge(runs, "pooled"))
    assert pooled["pooled_runs"] == 2 and len(pooled["data"]) == 2 * len(original["data"])
    # each run weighs the same: the headline is the median of the runs' (here unblocked) medians
    assert pooled["block_medians_s"] == [2 * original["median_s"], original["median_s"]]
    assert pooled["median_s"] == pytest.approx(1.5 * original["median_s"])


def test_the_blocks_of_a_case_become_one_case_with_pooled_rounds_and_each_blocks_median(saved_run: Path, tmp_path: Path, deal_blocks) -> None:
    original = json.loads(saved_run.read_text())
    blocked = tmp_path / "blocked.json"
    blocked.write_text(json.dumps(deal_blocks(original, 3)))
    cases = load_run(blocked).cases
    plain = load_run(saved_run).cases
    assert len(cases) == len(plain) == len(original["benchmarks"])
    one = lambda found: next(c for c in found if (c["case"], c["size"], c["device"]) == ("assign_add", "1Mi", "CPU:0"))
    merged, unmerged = one(cases), one(plain)
    assert sorted(merged["data"]) == sorted(unmerged["data"]) and merged["rounds_measured"] == len(unmerged["data"])
    assert merged["block_medians_s"] == [sorted(unmerged["data"][b::3])[len(unmerged["data"][b::3]) // 2] for b in range(3)]
    assert merged["median_s"] == pytest.approx(np.median(merged["block_medians_s"]))  # each block weighs the same
    assert merged["first_call_s"] == pytest.approx(2 * unmerged["first_call_s"])  # median of 1x, 2x, 3x
    assert merged["blocks"] == 3 and merged["name"] == unmerged["name"] and "block" not in merged
    assert "blocks" not in unmerged and "block_medians_s" not in unmerged  # older runs pass through unchanged


def test_the_fit_recovers_a_known_overhead_and_bandwidth_despite_one_disturbed_point() -> None:
    sizes = np.array([4, 4096, 65536, 1 << 20, 1 << 24], dtype=float)
    times = 20e-6 + sizes / 10e9
    times[2] *= 1.5  # one disturbed round
    fit = fit_cost(sizes, times)
    assert fit.overhead_s == pytest.approx(20e-6, rel=0.02)
    assert fit.bandwidth_gbps == pytest.approx(10, rel=0.02)
    assert fit.points == 5 and not fit.size_independent


def test_fewer_than_three_sizes_are_not_fitted() -> None:
    assert fit_cost([4, 4096], [1e-5, 2e-5]) is None


def test_crossover_is_where_the_lines_meet_and_never_outside_the_range() -> None:
    cpu = fit_cost([1e3, 1e5, 1e7], [1e-6 + x / 10e9 for x in (1e3, 1e5, 1e7)])  # low overhead, 10 GB/s
    gpu = fit_cost([1e3, 1e5, 1e7], [50e-6 + x / 1000e9 for x in (1e3, 1e5, 1e7)])  # 50 µs launch, 1 TB/s
    found = crossover(cpu, gpu)
    assert found.at_bytes == pytest.approx(49e-6 / (1 / 10e9 - 1 / 1000e9), rel=0.05)  # about 495 KB
    assert (found.kind, found.faster) == ("crossing", "second")
    assert crossover_words(found, "CPU:0", "GPU:0") == f"from {found.at_bytes / 1024:.3g} KiB on, GPU:0 is faster"
    small = fit_cost([1e3, 1e4, 1e5], [1e-6 + x / 10e9 for x in (1e3, 1e4, 1e5)])
    small_gpu = fit_cost([1e3, 1e4, 1e5], [50e-6 + x / 1000e9 for x in (1e3, 1e4, 1e5)])
    found = crossover(small, small_gpu)
    assert (found.kind, found.at_bytes, found.faster) == ("never", None, "first")
    assert crossover_words(found, "CPU:0", "GPU:0") == "never in range (1000 B–97.7 KiB): CPU:0 is faster throughout"


def test_a_bandwidth_above_the_copy_limit_is_flagged_not_claimed(saved_run: Path) -> None:
    report = build_report([load_run(saved_run)], plots=False)
    rows = [line for line in report.files["bandwidth.md"].splitlines() if line.startswith("| CPU:0")]
    assign = next(row for row in rows if "| assign " in row and "1Mi" in row and "read_value=False" in row)
    assert "not a real copy" in assign
    round_trip = next(row for row in rows if "host round trip" in row and "1Mi" in row)
    assert "not a real copy" not in round_trip


def test_report_writes_every_file_and_one_self_contained_html(saved_run: Path, gpu_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["report", str(saved_run), str(gpu_run), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"comparison.md", "fastest.md", "cost-model.md", "bandwidth.md", "results.csv", "index.html", MARKER} <= names
    assert {"plot-assignment.png", "plot-assignment.svg", "plot-modes.png", "plot-modes.svg"} <= names
    assert "gpu-box_GPU_0_NVIDIA_H100_80GB_HBM3_compute_capability_9.0.md" in names
    page = (out / "index.html").read_text()
    for heading in ("Device comparison", "Fastest device", "Cost model", "Crossovers", "Effective bandwidth"):
        assert heading in page
    assert page.count("data:image/png;base64,") == len([n for n in names if n.endswith(".png")])
    assert "gpu-box/GPU:0" in (out / "comparison.md").read_text()


def test_reference_device_sets_the_ratio_column(saved_run: Path, gpu_run: Path, tmp_path: Path) -> None:
    label = "gpu-box/CPU:0"
    assert main(["report", str(saved_run), str(gpu_run), "--out", str(tmp_path / "r"), "--reference", label, "--no-plots"]) == 0
    assert f"vm/CPU:0 / {label}" in (tmp_path / "r" / "comparison.md").read_text()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        ("{not json", "not JSON"),
        ('{"a": 1}', "not a saved pytest-benchmark run"),
        ('{"machine_info": {}, "benchmarks": []}', "a saved run with no measured tfvarbench cases"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_leaves_out_untouched(
    saved_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, problem: str
) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    out = tmp_path / "out"
    out.mkdir()
    (out / MARKER).write_text("earlier report")
    (out / "comparison.md").write_text("earlier comparison")
    assert main(["report", str(saved_run), str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"tfvarbench report: {bad}: ") and problem in err
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "comparison.md"])
    assert (out / "comparison.md").read_text() == "earlier comparison"


def test_unknown_reference_and_foreign_out_directory_are_refused(saved_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(saved_run), "--out", str(tmp_path / "r"), "--reference", "GPU:7"]) == 2
    assert "--reference 'GPU:7' is not a device in these runs; devices: CPU:0, CPU:1" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's")
    assert main(["report", str(saved_run), "--out", str(mine)]) == 2
    assert "holds files that are not a tfvarbench report (such as notes.txt)" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "the user's" and len(list(mine.iterdir())) == 1
