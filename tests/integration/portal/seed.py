"""Catalogue, ledger and QC1 rows for portal tests, written through the shared archive API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from shared.archive import ArchiveDatabase
from shared.archive.catalogue import AncillaryFile, NewProduct, Provenance, add_product
from shared.archive.files import ArchiveFiles
from shared.archive.ledger import record_ab_state, record_request
from shared.archive.models import AbState, ProvenanceKind
from shared.archive.qc1 import record_qc_scores
from shared.archive.releases import save_release
from shared.archive.reviews import enqueue_review
from shared.contracts import (
    Association,
    AssociationBlock,
    CalibrationRole,
    Completeness,
    DateRequested,
    ProcessingMode,
    ProcessStatus,
    QcScore,
    QcScored,
    RawFrame,
)
from shared.storage import FileStore

MODE = "UVES_ECHELLE"
NIGHT = date(2024, 3, 1)
RELEASE = "UVES_ECHELLE-IDP-2024.1"
INGESTED_AT = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
# A 1x1 PNG, enough for an <img> and a download.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cfc0f01f0005"
    "0001ff8d6d4e3b0000000049454e44ae426082"
)


@dataclass(frozen=True)
class Spectrum:
    product_id: str
    ra: float
    dec: float
    target: str = "HD 1234"
    night: date = NIGHT
    wavelength_nm: tuple[float, float] = (373.0, 500.0)
    snr: float = 50.0
    t_min: float = 60371.1
    arm: str = "BLUE"
    ab_id: str = "UVES_ECHELLE.2024-03-01.SCI_POINT_BLUE.0001"
    raw_name: str | None = None
    content: bytes | None = None
    log: str | None = None
    preview: bytes = PNG_BYTES
    """A processing log to catalogue with the product (as the ingestor does with the recipe's log)."""


def product_id(index: int) -> str:
    return f"PHX.2026-11-24T18:00:00.000.{index}"


async def add_spectrum(db: ArchiveDatabase, store: FileStore, spectrum: Spectrum) -> str:
    """Write the product file (and a preview) into the archive store and catalogue it; its sha256."""
    files = ArchiveFiles(store)
    content = spectrum.content or f"SIMPLE  = T / {spectrum.product_id}".ljust(2880).encode()
    with store.scratch("seed-") as folder:
        (folder / "product").write_bytes(content)
        (folder / "preview").write_bytes(spectrum.preview)
        archived = await files.put(folder / "product", f"{spectrum.product_id}.fits")
        preview = await files.put(folder / "preview", f"{spectrum.product_id}.preview.png")
        ancillary = [AncillaryFile("PREVIEW", "preview.png", preview.uri, preview.size_bytes)]
        if spectrum.log is not None:
            (folder / "log").write_text(spectrum.log)
            log = await files.put(folder / "log", f"{spectrum.product_id}.log")
            ancillary.append(AncillaryFile("LOG", "esorex.log", log.uri, log.size_bytes))
    raw = spectrum.raw_name or f"UVES.{spectrum.product_id}.raw.fits"
    new = NewProduct(
        product_id=spectrum.product_id, ab_id=spectrum.ab_id, instrument="UVES", prodcatg="SCIENCE.SPECTRUM",
        access_uri=archived.uri, sha256=archived.sha256, file_size_bytes=archived.size_bytes,
        provenance=(Provenance(ProvenanceKind.RAW, raw, "a" * 64),
                    Provenance(ProvenanceKind.MCALIB, "MASTER_BIAS_BLUE.fits", "b" * 64)),
        arm=spectrum.arm, night=spectrum.night, target_name=spectrum.target, ra=spectrum.ra, dec=spectrum.dec,
        t_min=spectrum.t_min, t_max=spectrum.t_min + 0.02, exposure_seconds=1800.0,
        wavelength_min_nm=spectrum.wavelength_nm[0], wavelength_max_nm=spectrum.wavelength_nm[1],
        resolving_power=40000.0, snr=spectrum.snr, release_name=RELEASE,
        files=tuple(ancillary),
    )
    async with db.session() as session:
        await add_product(session, new, at=INGESTED_AT)
    return archived.sha256


async def add_release(db: ArchiveDatabase) -> None:
    async with db.session() as session:
        await save_release(
            session, RELEASE, stream=MODE, release_date=date(2024, 6, 1), threshold_set="UVES_ECHELLE-2004.1",
            description="# UVES echelle IDPs, 2024.1\n\nProcessed with **uves 6.1.8**.\n\n"
            "- master calibrations of the same night\n- known limit: no flux calibration\n\n"
            "<script>alert('x')</script>",
        )


def make_ab(ab_id: str, raw_type: str, dpr_catg: str, recipe: str, night: date = NIGHT) -> AssociationBlock:
    calibrations = [
        Association(evaluation="OK", role=CalibrationRole.MCALIB, file="UVES_MBIAS_BLUE_2024-03-01_1x1.fits",
                    pro_catg="MASTER_BIAS_BLUE", delta_days=0.412, level=0,
                    considered=["UVES_MBIAS_BLUE_2024-02-27_1x1.fits: Δt 3.4 d is farther"]),
        Association(evaluation="NOK", role=CalibrationRole.MASSOC, file="UVES_MFLAT_BLUE_2024-02-20.fits",
                    pro_catg="MASTER_FLAT_BLUE", delta_days=-9.8, level=2),
    ] if dpr_catg == "SCIENCE" else []
    return AssociationBlock(
        ab_id=ab_id, ab_name=f"UVES.{night}T23:00:00.000_{raw_type.lower()}.ab", instrument="UVES",
        instrument_mode=MODE, night=night, mode=ProcessingMode.IDP if dpr_catg == "SCIENCE" else ProcessingMode.MCALIB,
        dpr_catg=dpr_catg, raw_type=raw_type, recipe=recipe, ab_event="TPL.START",
        completeness=Completeness.COMPLETE, obs_prog_id="094.D-0123(A)", mjd_obs=60371.0, mjd_obs_mod=60371.01,
        raw_match_key={"DET.WIN1.BINX": "1", "INS.GRAT1.WLEN": "390"},
        raw_files=[RawFrame(arcfile=f"UVES.{night}T23:00:00.000.fits", category=raw_type, mjd_obs=60371.0,
                            exposure_seconds=1800.0 if dpr_catg == "SCIENCE" else 0.0)],
        calibrations=calibrations,
    )


NIGHT_ABS = (
    # ab id suffix, RAW_TYPE, DPR_CATG, recipe, final state, QC scores
    ("BIAS_BLUE.0001", "BIAS_BLUE", "CALIB", "uves_cal_mbias", AbState.INGESTED, (0, 0, 0)),
    ("BIAS_RED.0001", "BIAS_RED", "CALIB", "uves_cal_mbias", AbState.INGESTED, (0, 0, None)),
    ("FLAT_BLUE.0001", "FLAT_BLUE", "CALIB", "uves_cal_mflat", AbState.REVIEW, (0, 1, 0)),
    ("ARC_BLUE.0001", "ARC_BLUE", "CALIB", "uves_cal_wavecal", AbState.FAILED, ()),
    ("SCI_POINT_BLUE.0001", "SCI_POINT_BLUE", "SCIENCE", "uves_obs_scired", AbState.INGESTED, (0, 0, 1)),
    ("SCI_POINT_RED.0001", "SCI_POINT_RED", "SCIENCE", "uves_obs_scired", AbState.INCOMPLETE, ()),
)
STATE_PATHS = {
    AbState.INGESTED: (AbState.STAGED, AbState.PROCESSED, AbState.SCORED, AbState.CERTIFIED, AbState.INGESTED),
    AbState.REVIEW: (AbState.STAGED, AbState.PROCESSED, AbState.SCORED, AbState.REVIEW),
    AbState.FAILED: (AbState.STAGED, AbState.FAILED),
    AbState.INCOMPLETE: (AbState.INCOMPLETE,),
}


async def seed_night(db: ArchiveDatabase, night: date = NIGHT, *, ron_base: float = 3.0) -> list[str]:
    """A processed night: a request, six ABs in several end states with histories, QC1 values
    and a review. Returns the AB ids."""
    request = DateRequested(correlation_id=uuid.uuid4(), instrument_mode=MODE, night=night,
                            mode=ProcessingMode.COMPLETE)
    ab_ids = []
    async with db.session() as session:
        await record_request(session, request)
        for suffix, raw_type, dpr_catg, recipe, state, scores in NIGHT_ABS:
            ab = make_ab(f"{MODE}.{night}.{suffix}", raw_type, dpr_catg, recipe, night)
            ab_ids.append(ab.ab_id)
            at = datetime(night.year, night.month, night.day, 12, tzinfo=UTC) + timedelta(days=1)
            for step, reached in enumerate(STATE_PATHS[state]):
                reason = "recipe uves_cal_wavecal failed: no lines found" if reached == AbState.FAILED else ""
                await record_ab_state(session, ab, reached, event_id=uuid.uuid4(), request_id=request.request_id,
                                      service="test", reason=reason, at=at + timedelta(minutes=step))
            qc = [QcScore(product=f"{raw_type.lower()}.fits", parameter=f"QC.PARAM{i}", value=ron_base + i,
                          unit="ADU", score=score, message=f"value within 0.5–5.0 (set {i})",
                          threshold_set="UVES_ECHELLE-2004.1") for i, score in enumerate(scores)]
            if qc:
                await record_qc_scores(session, ab, qc)
            if state == AbState.REVIEW:
                event = QcScored(correlation_id=request.request_id, ab=ab, status=ProcessStatus.SUCCESSFUL,
                                 scores=qc)
                await enqueue_review(session, event, "1 QC parameter scored red")
    return ab_ids
