"""The figures table of bench/README.md, generated from bench/results/*.json so the two stay in step.

    .venv/bin/python bench/report.py [--check]

Rewrites what lies between the `<!-- figures:begin -->` and `<!-- figures:end -->` markers of
bench/README.md; with --check, only says whether the README is current (exit 1 if not).
A figure whose JSON file is missing is shown as "not measured".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"

PORTAL_P95_MS = 300
"""Every portal page, with 100,000 products in the catalogue (issue 18)."""

Row = tuple[str, str, str, str]
"""figure, value, target, met."""


def save(name: str, results: dict) -> None:
    """Write one benchmark's results to bench/results/NAME.json, where this table reads them."""
    path = RESULTS / f"{name}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {path.relative_to(ROOT)}")


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def processor_rows(d: dict | None) -> list[Row]:
    if d is None:
        return [("orchestration overhead (bench/processor.py)", "not measured", "", "")]
    rows = d["abs"]
    ratio_all = d["total_processor_seconds"] / d["total_by_hand_seconds"]
    ratio_median = statistics.median(r["ratio"] for r in rows)
    overhead_ms = 1000 * statistics.median(r["overhead_seconds"] for r in rows)
    worst = max(rows, key=lambda r: r["ratio"])
    slowest = max(rows, key=lambda r: r["reused_seconds"])
    return [
        ("processor ÷ esorex by hand, all ABs together (wall time)", f"{ratio_all:.3f}", "≤ 1.05",
         verdict(ratio_all <= 1.05)),
        (f"processor ÷ esorex by hand, median over the {len(rows)} ABs", f"{ratio_median:.3f}", "≤ 1.05",
         verdict(ratio_median <= 1.05) + f" (worst {worst['ab']}: {worst['ratio']:.2f})"),
        ("overhead per AB, median", f"{overhead_ms:.0f} ms", "< 50 ms", verdict(overhead_ms < 50)),
        ("job reuse of one AB (processor handler), median / slowest",
         f"{1000 * statistics.median(r['reused_seconds'] for r in rows):.1f} ms / "
         f"{1000 * slowest['reused_seconds']:.0f} ms ({slowest['ab']})", "", ""),
    ]


def bus_rows(d: dict | None) -> list[Row]:
    if d is None:
        return [("no-op chain (bench/bus.py)", "not measured", "", "")]
    kinds = [k for k in ("embedded", "apache") if k in d]
    rows: list[Row] = [(
        f"no-op chain, 5 hops, events/s ({d['events']} requests, {d['runs']} runs)",
        " · ".join(f"{k}: {d[k]['events_per_second_median']:.0f}" for k in kinds), "", "",
    )]
    hops = d[kinds[0]]["hop_latency_ms_median"]
    for hop in hops:
        rows.append((f"latency {hop}, median", " · ".join(f"{k}: {d[k]['hop_latency_ms_median'][hop]:.0f} ms"
                                                           for k in kinds), "", ""))
    return rows


def campaign_rows(d: dict | None) -> list[Row]:
    if d is None:
        return [("campaign scaling (bench/campaign.py)", "not measured", "", "")]
    s = d["summary"]
    loads = [r["load_average_after"][0] for r in d["runs"]]
    setting = (f"{s['abs_per_run']:.0f} science ABs of {d['nights']} small 2x2 nights, IDP, "
               f"{d['pairs']} pairs, {d.get('broker', 'embedded')} broker, load avg {min(loads):.1f}–{max(loads):.1f} on {d['cores']} cores")
    rows: list[Row] = [
        ("ABs/min, 1 processor replica (" + setting + ")", f"{s['abs_per_minute_1_replica']:.2f}", "", ""),
        ("ABs/min, 2 processor replicas", f"{s['abs_per_minute_2_replicas']:.2f}", "", ""),
        ("scaling efficiency = speed-up ÷ replicas", f"{s['efficiency']:.3f}", f"≥ {s['efficiency_target']}",
         verdict(s["efficiency_met"]) + f" (speed-ups {s['speedups']}; recipe seconds of the busiest replica ÷ "
         f"mean {s['load_balance_2_replicas']}, so at most "
         f"{s.get('efficiency_bound_by_partition_split', float('nan')):.2f}; recipe time 2 ÷ 1 replicas "
         f"{s.get('recipe_slowdown_2_vs_1', 'n/a')} from CPU contention)"),
        ("reprocessing an unchanged night (job reuse) ÷ first run", f"{100 * s['reuse_fraction']:.1f} %",
         f"< {100 * s['reuse_fraction_target']:.0f} %",
         verdict(s["reuse_fraction_met"]) + f" ({s.get('reuse_seconds', float('nan')):.1f} s; "
         f"{100 * s.get('reuse_fraction_of_1_replica_run', float('nan')):.1f} % of the 1-replica run)"),
        *_cpu_share_rows(s),
        ("reprocessing unchanged: seconds per AB in each service (median)", "; ".join(
            f"{k.split(' (')[0]}: {v:.2f} s" for k, v in s.get("reuse_seconds_by_service", {}).items()), "", ""),
        ("scired per science spectrum, wall (1 replica) / CPU", f"{s['recipe_seconds_per_spectrum']:.1f} s / "
         f"{s.get('recipe_cpu_seconds_per_spectrum', float('nan')):.1f} s", "", ""),
    ]
    projections = [("scired only", s["projection"])]
    if s.get("projection_all_services"):
        rows.append(("all five services per science spectrum, CPU",
                     f"{s['projection_all_services']['cpu_seconds_per_spectrum']:.1f} s", "", ""))
        projections.append(("all services", s["projection_all_services"]))
    for hosts in s["projection"]["hours_by_hosts"]:
        rows.append((f"100,000 spectra on {hosts} × {s['projection']['cores_per_host']}-core host(s), at the measured "
                     "efficiency (ideal)", "; ".join(
                         f"{label} ({p['cpu_hours']:.0f} CPU h): {p['hours_by_hosts'][hosts]['at_measured_efficiency']:.1f} h "
                         f"({p['hours_by_hosts'][hosts]['ideal']:.1f} h)" for label, p in projections), "", ""))
    for service, mb in d["peak_rss_mb"].items():
        rows.append((f"peak RSS, {service}", f"{mb:.0f} MB", "", ""))
    return rows


def _cpu_share_rows(s: dict) -> list[Row]:
    """phoenix's own CPU (the five services' processes, recipes excluded) next to the recipes'."""
    if s.get("phoenix_cpu_share_science") is None:
        return []
    rows: list[Row] = []
    for kind in ("science", "masters"):
        share, target = s[f"phoenix_cpu_share_{kind}"], s[f"phoenix_cpu_share_{kind}_target"]
        per_ab = s.get(f"phoenix_cpu_ms_per_ab_{kind}")
        rows.append((f"phoenix_cpu_share_{kind}: services' own CPU ÷ recipes' CPU, {kind} ABs", f"{share:.3f}",
                     f"≤ {target}", verdict(share <= target) + (f" ({per_ab:.0f} ms per AB)" if per_ab else "")))
    if s.get("reprocessing_cpu_ms_per_ab") is not None:
        by_service = s.get("reprocessing_cpu_ms_per_ab_by_service") or {}
        rows.append(("reprocessing unchanged: CPU per AB, all services", f"{s['reprocessing_cpu_ms_per_ab']:.0f} ms",
                     f"≤ {s['reprocessing_cpu_ms_per_ab_target']:.0f} ms",
                     verdict(s["reprocessing_cpu_ms_per_ab"] <= s["reprocessing_cpu_ms_per_ab_target"])
                     + (" (" + "; ".join(f"{k} {v:.0f} ms" for k, v in by_service.items()) + ")" if by_service else "")))
    if s.get("reprocessing_again_cpu_ms_per_ab") is not None:
        by_service = s.get("reprocessing_again_cpu_ms_per_ab_by_service") or {}
        rows.append(("reprocessing unchanged a second time (certified history unchanged too): CPU per AB",
                     f"{s['reprocessing_again_cpu_ms_per_ab']:.0f} ms", "",
                     "(" + "; ".join(f"{k} {v:.0f} ms" for k, v in by_service.items()) + ")" if by_service else ""))
    return rows


def broker_rows(d: dict | None) -> list[Row]:
    if d is None:
        return [("one-machine broker (bench/broker.py)", "not measured", "", "")]
    m = d["median"]
    return [
        (f"first start (format + JVM until offsets load), median of {d['runs']}, load avg {_loads(d)}", f"{m['first_start_seconds']:.1f} s "
         f"({m['jvm_cpu_seconds_to_ready_first']:.1f} JVM CPU s)", "", ""),
        ("restart on the same log", f"{m['restart_seconds']:.1f} s ({m['jvm_cpu_seconds_to_ready_restart']:.1f} JVM CPU s)",
         "", ""),
        ("clean stop", f"{m['stop_seconds']:.1f} s", "", ""),
        (f"resident memory after {d['messages']:,} 1 KB messages (heap {d['heap']}) / peak",
         f"{m['rss_mb']:.0f} MB / {m['peak_rss_mb']:.0f} MB", "", ""),
    ]


def store_rows(d: dict | None) -> list[Row]:
    if d is None:
        return [("processors over S3 (bench/store.py)", "not measured", "", "")]
    s = d["summary"]
    rows: list[Row] = []
    for arm, label in (("s3", "S3 (s3proxy), a host per processor"), ("local", "a local folder")):
        a = s[arm]
        rows += [
            (f"staging overhead, {label}: store copy ÷ recipe seconds per AB ({a['science_abs']} science ABs, "
             f"load avg {_loads(d)})",
             f"{100 * a['staging_overhead']:.1f} % ({a['store_seconds_per_ab']:.2f} s of {a['recipe_seconds_per_ab']:.1f} s)",
             f"≤ {100 * s['staging_overhead_target']:.0f} %", verdict(a["staging_overhead"] <= s["staging_overhead_target"])),
            (f"ABs/min with 1 / 2 processor hosts, {label}",
             f"{a['abs_per_minute_1_host']:.2f} / {a['abs_per_minute_2_hosts']:.2f} (efficiency "
             f"{a['scaling_efficiency_2_hosts']:.2f})", "", ""),
        ]
    return rows


def _loads(d: dict) -> str:
    return f"{d['load_average_before'][0]:.1f} → {d['load_average_after'][0]:.1f}"


def parsed_rows(name: str, d: dict | None, describe) -> list[Row]:
    if d is None:
        return [(f"bench/{name}.py", "not measured", "", "")]
    return [describe(f) for f in d["figures"]]


def simulate_rows(d: dict | None) -> list[Row]:
    if d is None:
        return [("bench/simulate.py", "not measured", "", "")]
    return [(f"simulate a {d['preset']} night, {f['binning']} ({f['frames']} frames, {f['output_mb']:.0f} MB), "
             f"median of {f['runs']}", f"{f['median_seconds']:.1f} s, peak RSS {f['median_peak_rss_mb']:.0f} MB", "", "")
            for f in d["figures"]]


def cli_rows(d: dict | None) -> list[Row]:
    if d is None:
        return [("bench/cli.py", "not measured", "", "")]
    target = d["target_seconds"]
    load = (f"load average {d['load_average_before'][0]:.1f} → {d['load_average_after'][0]:.1f} on {d['cores']} cores, "
            f"{d['finished_at'][:16].replace('T', ' ')}")
    return [("when measured", load, "", "")] + [(f"`{f['command']}`, median of {d['runs']}", f"wall {f['wall_seconds_median']:.2f} s, "
             f"CPU {f['cpu_seconds_median']:.2f} s", f"≤ {target:.0f} s", verdict(f["wall_seconds_median"] <= target))
            for f in d["figures"]]


def table() -> str:
    sections = [
        ("Orchestration overhead — `bench/processor.py`", processor_rows(load("processor"))),
        ("No-op chain through the bus — `bench/bus.py`", bus_rows(load("bus"))),
        ("Campaign scaling, job reuse, memory — `bench/campaign.py`", campaign_rows(load("campaign"))),
        ("One-machine broker — `bench/broker.py`", broker_rows(load("broker"))),
        ("Processors over an object store — `bench/store.py`", store_rows(load("store"))),
        ("Fetcher — `bench/fetcher_classify.py`, `bench/fetcher.py`",
         parsed_rows("fetcher_classify", load("fetcher_classify"),
                     lambda f: (f"OCA classification, 10,000 headers, {f['label']}", f"{f['files_per_second']:,.0f} files/s",
                                "", ""))
         + parsed_rows("fetcher", load("fetcher"), _fetcher_row)),
        ("Portal — `bench/portal.py`",
         parsed_rows("portal", load("portal"), _portal_row)),
        ("Simulator — `bench/simulate.py`", simulate_rows(load("simulate"))),
        ("Command start — `bench/cli.py`", cli_rows(load("cli"))),
    ]
    run_all = load("run_all") or {}
    lines = []
    for title, rows in sections:
        scripts = [name for name in run_all if f"bench/{name}.py`" in title]
        loads = "; ".join(f"{name}.py: {run_all[name]['finished_at'][:16].replace('T', ' ')}, load average "
                          f"{run_all[name]['load_average_before'][0]:.1f} → {run_all[name]['load_average_after'][0]:.1f}"
                          for name in scripts)
        lines += [f"### {title}", ""] + ([f"Measured {loads} ({run_all.get('cores')} cores).", ""] if loads else [])
        lines += ["| figure | value | target | |", "|---|---|---|---|"]
        lines += [f"| {' | '.join(cell.replace('|', '/') for cell in row)} |" for row in rows]
        lines.append("")
    timed = {k: v for k, v in run_all.items() if isinstance(v, dict) and "seconds" in v}
    if timed:
        lines.append("Wall time of each script when it last ran (load average before → after): " + "; ".join(
            f"{name} {v['seconds']:.0f} s ({v['load_average_before'][0]:.1f} → {v['load_average_after'][0]:.1f})"
            for name, v in timed.items()) + f"; sum {sum(v['seconds'] for v in timed.values()) / 60:.1f} min.")
        lines.append("")
    return "\n".join(lines)


def _portal_row(f: dict) -> Row:
    value = f"median {f['median_ms']:.1f} ms, p95 {f['p95_ms']:.1f} ms"
    if "rows" in f:
        return (f"cone search over {f['rows']:,.0f} products, {f['label']}", value, "", "")
    database, page = f["label"].split(" ", 1)
    return (f"page {page} over 100,000 products, {database}", value, f"p95 ≤ {PORTAL_P95_MS} ms",
            verdict(f["p95_ms"] <= PORTAL_P95_MS))


def _fetcher_row(f: dict) -> Row:
    if "ms" in f:
        return (f"association, {f['label']} ({f['files']:.0f} files → {f['abs']:.0f} ABs, {f['masters']:.0f} masters)",
                f"{f['ms']:.1f} ms", "", "")
    return (f"classification, {f['label']} ({f['files']:.0f} files)", f"{f['files_per_second']:,.0f} files/s", "", "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = README.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    updated = f"{head}{BEGIN}\n{table()}\n{END}{tail}"
    if args.check:
        current = updated == text
        print("bench/README.md is current" if current else "bench/README.md is out of date: run bench/report.py")
        return 0 if current else 1
    README.write_text(updated)
    print(f"table written to {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
