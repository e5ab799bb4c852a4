"""What to do with a certified AB (pure): which products are archived, how they are named, what
they come from, and the AB's final state when nothing is ingested."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import PurePath

from shared.archive.catalogue import Provenance
from shared.archive.models import ProvenanceKind
from shared.contracts import AssociationBlock, CalibrationRole, Certified, Decision, FinalState, Product, ProductKind

PROCESSING_FAILED = "processing failed"
"""Reason prefix of the certifier's REJECTED for an AB whose recipe failed (policies.decide)."""

AB_LEVEL_ANCILLARY = {"QC_REPORT": "QC_REPORT", "PROCESSING_LOG": "LOG"}
"""ANCILLARY products (by PRO.CATG) that describe the whole AB: archived beside each of its
IDPs. Other ancillary files are archived only when an IDP names them in ASSONi."""

_ARM = re.compile(r"[A-Z][A-Z0-9]{0,15}")


@dataclass(frozen=True)
class Products:
    idps: list[Product]
    masters: list[Product]
    ancillary: list[Product]
    others: list[Product]
    """Pipeline products that stay in the working store only."""


def split_products(products: Iterable[Product]) -> Products:
    by_kind: dict[ProductKind, list[Product]] = {kind: [] for kind in ProductKind}
    for product in products:
        by_kind[product.kind].append(product)
    return Products(
        idps=by_kind[ProductKind.IDP],
        masters=by_kind[ProductKind.MCALIB],
        ancillary=by_kind[ProductKind.ANCILLARY],
        others=by_kind[ProductKind.PIPELINE],
    )


def state_without_ingestion(event: Certified) -> FinalState:
    """The final state of an AB the certifier did not certify."""
    if event.decision is Decision.REVIEW:
        return FinalState.REVIEW
    if event.reason.startswith(PROCESSING_FAILED):
        return FinalState.FAILED
    return FinalState.REJECTED


def arm_of(product: Product) -> str:
    """The arm (or chip) a product covers, from the last `_` part of its file name
    (`…_SDP_BLUE.fits` → BLUE); '' when the name says none. Versions of a product share it."""
    last = PurePath(product.name).stem.rsplit("_", 1)[-1]
    return last if _ARM.fullmatch(last) else ""


def indistinct_idps(idps: Sequence[Product]) -> list[str]:
    """IDPs of one AB that the catalogue could not tell apart (same arm), as reasons."""
    seen: dict[str, str] = {}
    problems = []
    for product in idps:
        arm = arm_of(product)
        if arm in seen:
            problems.append(f"{product.name} and {seen[arm]} are both arm {arm or '(none)'}; one would supersede the other")
        seen[arm] = product.name
    return problems


def calibration_name(instrument: str, pro_catg: str, night: date, sha256: str) -> str:
    """The master's name in the calibration store: `UVES.MASTER_BIAS_BLUE.2024-03-01.<sha256[:12]>`.

    The content hash, not the AB, ends the name: the store refuses a name reused for other
    content (409), and a reprocessed AB makes a new master that must get a new name (the store
    then retires the old one). A redelivery uploads the same content under the same name (200).
    """
    return f"{instrument}.{pro_catg}.{night.isoformat()}.{sha256[:12]}"


def raw_provenance(ab: AssociationBlock, names: Iterable[str]) -> list[Provenance]:
    """Raw inputs (PROVi) with the checksums the fetcher staged them with."""
    staged = {frame.arcfile: frame.staged.sha256 if frame.staged else "" for frame in ab.raw_files}
    return [Provenance(ProvenanceKind.RAW, name, staged.get(name, "")) for name in dict.fromkeys(names)]


def calibration_provenance(ab: AssociationBlock) -> list[Provenance]:
    """Master calibrations the recipe used (MASSOC ones were for QC only)."""
    return [
        Provenance(ProvenanceKind.MCALIB, association.file, association.staged.sha256 if association.staged else "")
        for association in ab.calibrations
        if association.role is CalibrationRole.MCALIB
    ]


def rejection_reason(problems: Sequence[str], shown: int = 8) -> str:
    head = f"Phase 3 validation failed ({len(problems)} problem(s)): "
    more = f"; and {len(problems) - shown} more" if len(problems) > shown else ""
    return head + "; ".join(problems[:shown]) + more
