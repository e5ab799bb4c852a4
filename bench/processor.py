"""The processor's overhead over running esorex by hand, for the same ABs in one run.

    .venv/bin/python bench/processor.py [--runs 3] [--arms blue,red]

A small night is simulated and its MCALIB chain plus one science AB per arm are built, each
recipe fed with the products of the ones before (as association would). Then, per AB and
run: esorex by hand (the same SOF lines and parameters, `subprocess.run` in a fresh folder),
and the processor handler (`on_data_staged`: plan, work folder, esorex, product and QC
collection, file store, result.json) with its job store emptied so the recipe really runs;
and once served from job reuse. Medians over the runs are printed and written to
bench/results/processor.json. Campaign throughput with 1 and 2 replicas over Kafka is
bench/campaign.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import save  # noqa: E402
from services.processor.recipes import parameter_set_for  # noqa: E402
from services.processor.service import lifespan, on_data_staged  # noqa: E402
from shared.bus.runtime import ServiceStart  # noqa: E402
from shared.contracts import DataStaged, ProcessingMode, ProcessStatus  # noqa: E402
from shared.pipeline_install import esorex_executable  # noqa: E402
from tests.integration.processor.test_simulated_night import CHAIN, SCIENCE  # noqa: E402
from tests.integration.simulator.chain import classify  # noqa: E402
from tests.support.bus import fast_runtime  # noqa: E402
from tests.support.storage import stored_path  # noqa: E402
from tests.unit.processor.support import staged_event  # noqa: E402
from tools.simulator.plan import night_plan  # noqa: E402
from tools.simulator.thar import write_line_refer_table  # noqa: E402
from tools.simulator.uves import simulate_night  # noqa: E402

STEPS = (*CHAIN, SCIENCE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--arms", default="blue,red")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-processor-") as folder:
        results = asyncio.run(bench(Path(folder), args.arms.split(","), args.runs))
    print_table(results)
    save("processor", results)


async def bench(folder: Path, arms: list[str], runs: int) -> dict[str, object]:
    night = folder / "night"
    simulate_night(night_plan(date(2024, 3, 1), "small", seed=11), night)
    os.environ["PHOENIX_DATA_DIR"] = str(folder / "data")
    rows = []
    async with lifespan(ServiceStart("processor", fast_runtime())) as ctx:
        for arm in arms:
            products = {"LINE_REFER_TABLE": write_line_refer_table(folder / "line_refer_table.fits")}
            for step in STEPS:
                event = await _event(ctx, night, arm, step, products)
                rows.append(await _measure(ctx, event, folder / "by-hand", runs))
                rows[-1]["ab"] = f"{step[0]} {arm}"
                [ready] = await on_data_staged(event, ctx)
                for product in ready.products:
                    products[product.pro_catg] = stored_path(ctx.store, product.file)
    return {
        "runs": runs,
        "cores": os.cpu_count(),
        "omp_threads": ctx.settings.omp_threads,
        "abs": rows,
        "total_by_hand_seconds": sum(r["by_hand_seconds"] for r in rows),
        "total_processor_seconds": sum(r["processor_seconds"] for r in rows),
        "campaign_throughput": "see bench/results/campaign.json",
    }


async def _event(ctx, night: Path, arm: str, step, products: dict[str, Path]) -> DataStaged:
    recipe, raw_tag, needs = step
    science = raw_tag == "SCI_POINT"
    raws = classify(night, arm)[raw_tag][: 1 if science else None]
    calibrations = [
        (path, category) for category, path in products.items()
        if (category if category == "LINE_REFER_TABLE" else category.rsplit("_", 1)[0]) in needs
    ]
    return await staged_event(
        ctx.store, recipe, [(p, f"{raw_tag}_{arm.upper()}") for p in raws], calibrations,
        mode=ProcessingMode.IDP if science else ProcessingMode.MCALIB, dpr_catg="SCIENCE" if science else "CALIB",
    )


async def _measure(ctx, event: DataStaged, scratch: Path, runs: int) -> dict[str, object]:
    recipe = ctx.recipes[event.ab.instrument_mode].recipe(event.ab.recipe)
    parameters = recipe.esorex_parameters(parameter_set_for(event.ab))
    sof = "".join(
        f"{stored_path(ctx.store, f.staged)} {f.category}\n" for f in event.ab.raw_files
    ) + "".join(f"{stored_path(ctx.store, c.staged)} {c.pro_catg}\n" for c in event.ab.calibrations)
    by_hand, through, status = [], [], ""
    for _ in range(runs):
        by_hand.append(_by_hand(event.ab.recipe, parameters, sof, scratch))
        shutil.rmtree(ctx.runner.jobs.root, ignore_errors=True)
        ctx.runner.jobs.root.mkdir()
        started = time.perf_counter()
        [ready] = await on_data_staged(event, ctx)
        through.append(time.perf_counter() - started)
        status = ready.status
        assert status is ProcessStatus.SUCCESSFUL and not ready.reused, ready.reason
    started = time.perf_counter()
    [reused] = await on_data_staged(event, ctx)
    reuse_seconds = time.perf_counter() - started
    assert reused.reused
    hand, proc = statistics.median(by_hand), statistics.median(through)
    return {
        "by_hand_seconds": round(hand, 3),
        "processor_seconds": round(proc, 3),
        "ratio": round(proc / hand, 3),
        "overhead_seconds": round(proc - hand, 3),
        "reused_seconds": round(reuse_seconds, 4),
        "inputs": len(event.ab.raw_files) + len(event.ab.calibrations),
    }


def _by_hand(recipe: str, parameters: dict[str, str], sof: str, scratch: Path) -> float:
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "out").mkdir(parents=True)
    (scratch / "job.sof").write_text(sof)
    command = [esorex_executable(), "--output-dir=out", recipe, *(f"--{k}={v}" for k, v in parameters.items()), "job.sof"]
    started = time.perf_counter()
    subprocess.run(command, cwd=scratch, capture_output=True, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return time.perf_counter() - started


def print_table(results: dict[str, object]) -> None:
    print(f"processor vs esorex by hand, medians of {results['runs']} runs, {results['cores']} cores, "
          f"OMP_NUM_THREADS={results['omp_threads']}")
    print(f"{'AB':28} {'inputs':>6} {'by hand s':>10} {'processor s':>12} {'ratio':>7} {'overhead s':>11} {'reused s':>9}")
    for row in results["abs"]:
        print(f"{row['ab']:28} {row['inputs']:>6} {row['by_hand_seconds']:>10.3f} {row['processor_seconds']:>12.3f} "
              f"{row['ratio']:>7.3f} {row['overhead_seconds']:>11.3f} {row['reused_seconds']:>9.4f}")
    hand, proc = results["total_by_hand_seconds"], results["total_processor_seconds"]
    print(f"{'all ABs':28} {'':>6} {hand:>10.3f} {proc:>12.3f} {proc / hand:>7.3f} {proc - hand:>11.3f}")
    print(f"campaign throughput with 1 and 2 replicas: {results['campaign_throughput']}")


if __name__ == "__main__":
    main()
