"""Read a night (or a range of nights) from the archive and classify every raw file.

A file the archive could not read as FITS, or that lacks a keyword the association rules
read for its category, is UNCLASSIFIED with the reason; the rest of the night goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from services.fetcher.classification import UNCLASSIFIED, Classifier
from shared.contracts import ProcessingMode
from shared.instruments.association import RuleSet, load_classification_source
from shared.pipeline_install import oca_rules_file
from shared.rawarchive.models import CalibInfo, RawFileInfo

if TYPE_CHECKING:
    from shared.rawarchive.interface import RawListing

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClassifiedFrame:
    """A raw file of the archive with the category the rules gave it (or UNCLASSIFIED and why)."""

    info: RawFileInfo
    category: str
    reason: str

    @property
    def arcfile(self) -> str:
        return self.info.arcfile

    @property
    def night(self) -> date:
        return self.info.night

    @property
    def header(self) -> Mapping[str, Any]:
        return self.info.header

    @property
    def is_classified(self) -> bool:
        return self.category != UNCLASSIFIED


@dataclass(frozen=True, slots=True)
class NightFrames:
    frames: tuple[ClassifiedFrame, ...]

    @property
    def classified(self) -> list[ClassifiedFrame]:
        return [frame for frame in self.frames if frame.is_classified]

    @property
    def unclassified(self) -> list[ClassifiedFrame]:
        return [frame for frame in self.frames if not frame.is_classified]

    def raw_infos(self) -> dict[str, RawFileInfo]:
        return {frame.arcfile: frame.info for frame in self.frames}


def load_classifier(instrument_mode: str) -> Classifier:
    """The classifier of a mode, from the OCA file its pipeline plugin installs."""
    return Classifier.from_file(oca_rules_file(load_classification_source(instrument_mode).oca_plugin))


async def read_nights(
    client: RawListing,
    instrument: str,
    first: date,
    last: date,
    classifier: Classifier,
    rule_set: RuleSet,
    mode: ProcessingMode = ProcessingMode.IDP,
) -> NightFrames:
    """List the nights `first`..`last` from the archive and classify each file. When the mode makes
    masters (MCALIB, COMPLETE), the raw calibrations the archive itself associates with the science
    frames (ESO: calSelector Raw2Raw) join them, from whichever night they were taken."""
    listing = await client.list_raw(instrument, first, last if last != first else None)
    if not listing:
        nights = first.isoformat() + (f" to {last.isoformat()}" if last != first else "")
        log.warning("the archive %s has no %s raw frames for %s: no AB", client.base_url, instrument, nights)
    if mode is not ProcessingMode.IDP:
        listing += await client.associated_raw(instrument, listing)
    return classify_listing(listing, classifier, rule_set)


async def read_catalogue(
    client: RawListing, instrument: str, frames: NightFrames, mode: ProcessingMode
) -> list[CalibInfo]:
    """The calibrations an AB may use: phoenix's store, and in IDP mode the masters the archive
    itself certifies for the night's frames (ESO: calSelector's Raw2Master associations)."""
    catalogue = await client.list_calib(instrument)
    if mode is ProcessingMode.IDP:
        catalogue += await client.certified_masters(instrument, [frame.info for frame in frames.frames])
    return catalogue


def classify_listing(listing: Iterable[RawFileInfo], classifier: Classifier, rule_set: RuleSet) -> NightFrames:
    return NightFrames(tuple(classify_file(info, classifier, rule_set) for info in listing))


def classify_file(info: RawFileInfo, classifier: Classifier, rule_set: RuleSet) -> ClassifiedFrame:
    if info.error:
        return ClassifiedFrame(info, UNCLASSIFIED, f"unreadable: {info.error}")
    result = classifier.classify(info.header)
    if not result.is_classified:
        return ClassifiedFrame(info, UNCLASSIFIED, result.reason)
    missing = [key for key in rule_set.keywords_read(result.category) if info.header.get(key) is None]
    if missing:
        reason = f"{result.category} but missing {', '.join(missing)} (read by the association rules)"
        return ClassifiedFrame(info, UNCLASSIFIED, reason)
    return ClassifiedFrame(info, result.category, result.reason)
