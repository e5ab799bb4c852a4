"""Fetcher figures: OCA classification throughput and association-block creation time.

    .venv/bin/python bench/fetcher.py [--nights 30] [--repeat 5]

Listings are simulated headers of `demo` nights (four settings, both arms; no pixels are
rendered), classified with ESO's installed uves.oca. Classification is timed with the
classifier's cache (its normal use) and without it (every rule evaluated for every file).
AB creation is timed per mode for one night and for the pool of all nights; IDP and COMPLETE
run against a calibration store holding one certified master per product of every MCALIB AB
of the pool, so the association has a month of candidates to grade. Medians are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.fetcher.association import associate  # noqa: E402
from services.fetcher.classification import Classifier  # noqa: E402
from services.fetcher.night import ClassifiedFrame, classify_listing, load_classifier  # noqa: E402
from shared.contracts import AssociationBlock, ProcessingMode  # noqa: E402
from shared.instruments.association import load_association_rules  # noqa: E402
from shared.pipeline_install import oca_rules_file  # noqa: E402
from shared.rawarchive.models import CalibInfo, RawFileInfo  # noqa: E402
from tests.unit.fetcher.simulated import line_refer_table, master, night_listing  # noqa: E402

FIRST_NIGHT = date(2024, 3, 1)


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def listings(nights: int) -> list[RawFileInfo]:
    return [info for n in range(nights) for info in night_listing(FIRST_NIGHT + timedelta(days=n), preset="demo")]


def certified_store(blocks: list[AssociationBlock], listing: dict[str, RawFileInfo]) -> list[CalibInfo]:
    """One certified master per product of each calibration AB, as if the pool had been processed."""
    rule_set = load_association_rules("UVES_ECHELLE").rule_set_for(FIRST_NIGHT)
    store = [line_refer_table()]
    for block in blocks:
        like = listing[block.raw_files[0].arcfile]
        rule = rule_set.rule_for(block.raw_type)
        assert rule is not None
        store += [master(product, block.mjd_obs, like, name=f"{block.ab_id}.{product}") for product in rule.products]
    return store


def bench_classification(label: str, listing: list[RawFileInfo], repeat: int) -> None:
    rule_set = load_association_rules("UVES_ECHELLE").rule_set_for(FIRST_NIGHT)
    cached = load_classifier("UVES_ECHELLE")
    uncached = Classifier.from_file(oca_rules_file(), cache_size=0)
    for name, classifier in (("cached", cached), ("uncached", uncached)):
        seconds = median_seconds(lambda c=classifier: classify_listing(listing, c, rule_set), repeat)
        print(f"classification {label:<10} {name:<9} {len(listing):6d} files  {len(listing) / seconds:12,.0f} files/s")


def bench_association(label: str, frames: list[ClassifiedFrame], store: list[CalibInfo], repeat: int) -> None:
    rules = load_association_rules("UVES_ECHELLE")
    for mode in ProcessingMode:
        catalogue = [line_refer_table()] if mode is ProcessingMode.MCALIB else store
        result = associate(frames, catalogue, mode, rules)
        seconds = median_seconds(lambda m=mode, c=catalogue: associate(frames, c, m, rules), repeat)
        print(f"association    {label:<10} {mode.value:<9} {len(frames):6d} files  {len(result.blocks):5d} ABs "
              f"{len(catalogue):5d} masters  {seconds * 1000:9.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=30, help="nights in the pool (default 30)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (default 5)")
    args = parser.parse_args()

    rules = load_association_rules("UVES_ECHELLE")
    rule_set = rules.rule_set_for(FIRST_NIGHT)
    month = listings(args.nights)
    night = [info for info in month if info.night == FIRST_NIGHT]
    by_arcfile = {info.arcfile: info for info in month}
    classifier = load_classifier("UVES_ECHELLE")
    pool_frames = list(classify_listing(month, classifier, rule_set).frames)
    night_frames = [frame for frame in pool_frames if frame.night == FIRST_NIGHT]
    store = certified_store(associate(pool_frames, [line_refer_table()], ProcessingMode.MCALIB, rules).blocks,
                            by_arcfile)

    bench_classification("1 night", night, args.repeat)
    bench_classification(f"{args.nights} nights", month, args.repeat)
    bench_association("1 night", night_frames, store, args.repeat)
    bench_association(f"{args.nights} nights", pool_frames, store, args.repeat)


if __name__ == "__main__":
    main()
