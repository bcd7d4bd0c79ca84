"""The report's analytic tables: fastest device per case, cost models with crossovers, and bandwidth limits."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..analysis.crossovers import device_crossovers
from ..analysis.model import Crossover, Fit, host_copy_limits, reference_limits
from ..analysis.ties import Judge
from ..runs import SIZES, case_key, variant_label
from .document import Section
from .units import column_unit, format_bytes, format_in, format_ratio

__all__ = ["bandwidth_table", "cost_model_table", "crossover_words", "fastest_table"]


def crossover_words(found: Crossover, first: str, second: str) -> str:
    """A crossover in words, with the devices named."""
    name = {"first": first, "second": second}
    span = f"({format_bytes(found.low_bytes)}–{format_bytes(found.high_bytes)})"
    if found.kind == "disjoint":
        return "no common sizes"
    if found.kind == "tied":
        return f"within 5% of each other throughout {span}"
    if found.kind == "crossing":
        return f"from {format_bytes(found.at_bytes or 0)} on, {name[found.faster or 'first']} is faster"
    return f"never in range {span}: {name[found.faster or 'first']} is faster throughout"


def _fit_columns(case: dict[str, Any]) -> tuple[str, ...]:
    # A table case is fitted over its counts of rows: the count of the case standing for the fit is not its own.
    return (case["family"], case["op"], variant_label({**case, "rows": None}), case.get("mode", ""), case["dtype"])


def cost_model_table(fits: dict[tuple, tuple[Fit, dict[str, Any]]]) -> list[Section]:
    """Overhead, bandwidth and residual per fit, then crossovers for every device pair.

    `fits` maps a model key to its fit and one of the cases it covers (for the table's columns).
    """
    rows = tuple(
        (*_fit_columns(case), case["device_label"], f"{fit.overhead_s * 1e6:.3g}",
         "size-independent" if fit.size_independent else f"{fit.bandwidth_gbps:.3g}", f"{100 * fit.residual:.1f}%", str(fit.points))
        for fit, case in fits.values()
    )
    crossings = [
        (*_fit_columns(a)[1:], a["device_label"], b["device_label"], crossover_words(found, a["device_label"], b["device_label"]))
        for a, b, found in device_crossovers(fits)
    ]
    return [
        Section(
            "Cost model", 1,
            "time = overhead + bytes / bandwidth, fitted per op, mode, dtype and device over its sizes "
            "(robust fit on relative residuals; residual = median |relative miss|). A case on a table is fitted over "
            "the rows it touches per call, its bytes being those rows' bytes: a dense update shows as size-independent.",
            ("family", "op", "variant", "mode", "dtype", "device", "overhead µs", "bandwidth GB/s", "residual", "sizes"), rows,
        ),
        Section(
            "Crossovers", 2,
            "For each op and every pair of devices: the size from which one overtakes the other."
            + ("" if crossings else " No op was measured on two devices."),
            ("op", "variant", "mode", "dtype", "first", "second", "crossover") if crossings else (), tuple(crossings),
        ),
    ]


def bandwidth_table(cases: Sequence[dict[str, Any]]) -> list[Section]:
    """Each case's effective GB/s and its fraction of the limit of the same size on its host.

    The limit is a NumPy copy for an update in memory; for a variable on a parameter server
    (`bandwidth_limit` "loopback" in its record) it is a TCP copy over loopback, the path its
    bytes take. On a CPU, a figure above the copy of the same size cannot be a copy: TensorFlow's
    assign can take over the new tensor's buffer instead of copying it. Such rows say so instead
    of claiming the speed. GPU memory is not bounded by the host's copy bandwidth, so GPU rows show
    no fraction of it. A case that moves less than its variable (`bandwidth_limit` "none: why") says why.
    A call that makes several updates (`updates_per_call`, one per parameter-server worker) moves each one's bytes.
    """
    limits = {"host copy": host_copy_limits(cases), "loopback": reference_limits(cases, "loopback copy")}
    rows = []
    for case in cases:
        if case.get("mode") == "reference" or not case.get("gbps") or SIZES.get(case["size"], 0) < SIZES["1Ki"]:
            continue
        held_to = case.get("bandwidth_limit") or "host copy"
        gbps = case["gbps"] * (case.get("updates_per_call") or 1)
        limit = limits.get(held_to, {}).get((case["host"], int(case["bytes"])))
        fraction, note = "–", ""
        if held_to.startswith("none"):
            note = held_to.partition(": ")[2] or "no limit applies"
        elif limit and (case.get("device_kind") == "CPU" or held_to == "loopback"):
            share = gbps / limit
            fraction = f"{100 * share:.0f}% of {held_to}"
            if share > 1 and held_to == "host copy":
                note = "faster than a copy of this size: not a real copy (buffer handed over)"
        rows.append((case["device_label"], case["op"], variant_label(case), case.get("mode", ""), case["dtype"], case["size"], f"{gbps:.3g}", fraction, note))
    words = []
    for held_to, found in limits.items():
        words += [f"{held_to}, {host} {format_bytes(nbytes)}: {gbps:.3g} GB/s" for (host, nbytes), gbps in sorted(found.items())]
    text = (
        "Bytes of the variable moved per call / median time. The limit is a copy of the same number of bytes on the "
        "same host (reference cases): a NumPy copy for updates in memory, a TCP copy over loopback for variables on "
        f"parameter servers: {'; '.join(words) or 'not measured in these runs'}."
    )
    headers = ("device", "op", "variant", "mode", "dtype", "size", "GB/s", "of limit", "note")
    return [Section("Effective bandwidth", 1, text, headers, tuple(rows))]


def fastest_table(cases: Sequence[dict[str, Any]]) -> list[Section]:
    """For each op, mode, dtype and size, the fastest device and its margin over the next, or a tie.

    Devices not slower than the fastest beyond 5% and their paired noise are tied with it
    (analysis/ties.py): a 1.01× "win" between two logical CPUs of the same cores is luck, not a faster device.
    """
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for case in cases:
        if case.get("mode") != "reference":
            groups.setdefault(case_key(case), []).append(case)
    judge, found = Judge(cases), []
    for members in groups.values():
        ranked = sorted(members, key=lambda case: case["median_s"])
        best = ranked[0]
        ties = [c for c in ranked[1:] if judge.tied(best, c)]
        if len(ranked) == 1:
            fastest, margin = best["device_label"], "only device"
        elif ties:
            fastest = "tie: " + ", ".join(c["device_label"] for c in [best, *ties])
            margin = f"within noise ({format_ratio(ties[-1]['median_s'] / best['median_s'])})"
        else:
            fastest, margin = best["device_label"], f"{format_ratio(ranked[1]['median_s'] / best['median_s'])} faster than {ranked[1]['device_label']}"
        found.append((best, fastest, margin))
    unit, _ = column_unit(best["median_s"] for best, _, _ in found)
    rows = tuple(
        (best["family"], best["op"], variant_label(best), best.get("mode", ""), best["dtype"], best["size"], fastest, format_in(best["median_s"], unit), margin)
        for best, fastest, margin in found
    )
    headers = ("family", "op", "variant", "mode", "dtype", "size", "fastest", "median", "margin")
    text = ("The fastest device per case; a device is slower only when its time over the fastest's, paired pass by pass "
            "(or block by block), lies more than 5% past 1 with 95% confidence; otherwise it is a tie.")
    return [Section("Fastest device", 1, text, headers, rows)]
