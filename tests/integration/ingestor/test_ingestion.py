"""The ingestor's handler on SQLite and PostgreSQL, with a real archive server: IDPs catalogued
with their files, versions, idempotent redelivery, Phase 3 rejection, masters registered and
retiring what they replace, final states and the request's end."""

from __future__ import annotations

from pathlib import Path

from astropy.io import fits
from prometheus_client import REGISTRY

from services.ingestor.service import IngestorContext, on_certified
from shared.archive import ledger, releases
from shared.archive.calibrations import calibrations_of_ab, get_calibration
from shared.archive.catalogue import get_product, products_of_ab, versions_of
from shared.archive.models import AbState, CalibrationStatus, ProductStatus, ProvenanceKind, RequestState
from shared.contracts import Certified, DateRequested, Decision, FinalState, Ingested, ProcessingMode
from shared.storage import sha256_of
from tests.integration.ingestor.conftest import REQUEST, Products, bias_ab, certified, science_ab
from tests.support.storage import stored_path
from tests.unit.ingestor.sdp_files import PREVIEW, RAW_FILES, write_sdp
from tests.unit.rawarchive.synthetic import write_master


def same_output(one: Ingested, other: Ingested) -> bool:
    """Equal as the runtime publishes them (ids derived from the cause; the clock aside)."""
    def published(event: Ingested) -> dict:
        return event.stamped("ingestor@test", 0).model_dump(exclude={"produced_at"})

    return published(one) == published(other)


def archived_files(ctx: IngestorContext) -> list[str]:
    root = stored_path(ctx.store, "store:archive")
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def archived_path(ctx: IngestorContext, name: str) -> Path:
    return stored_path(ctx.store, f"store:{ctx.files.key_of(name)}")


async def test_a_certified_science_ab_is_catalogued_with_its_files(
    ctx: IngestorContext, products: Products, tmp_path: Path
) -> None:
    sdp = write_sdp(tmp_path / "r.UVES_SDP_BLUE.fits")
    event = certified(science_ab(), [await products.idp(sdp), await products.preview(tmp_path / "p")])

    [ingested] = await on_certified(event, ctx)

    assert (ingested.state, ingested.ab, ingested.causation_id) == (FinalState.INGESTED, event.ab, event.event_id)
    [product_id] = ingested.product_ids
    assert product_id == "PHX.2026-11-24T18:00:00.123.1"
    assert archived_files(ctx) == [f"{product_id}.fits", f"{product_id}.{PREVIEW}"]
    assert sha256_of(archived_path(ctx, product_id)) == sha256_of(sdp)
    async with ctx.db.session() as session:
        product = await get_product(session, product_id)
        record = await ledger.get_ab(session, event.ab.ab_id)
        release = await releases.get_release(session, product.release_name)
    assert (product.target_name, product.ra, product.dec) == ("HD 1234", 10.6847, -41.269)
    assert (product.t_min, product.t_max, product.exposure_seconds) == (60370.9667, 60370.98059, 1200.0)
    assert (product.wavelength_min_nm, product.wavelength_max_nm) == (326.0, 454.0)
    assert (product.resolving_power, product.snr, product.calib_level) == (40000.0, 46.1, 2)
    assert (product.instrument, product.prodcatg, product.arm, product.night) == (
        "UVES", "SCIENCE.SPECTRUM", "BLUE", event.ab.night)
    assert (product.file_size_bytes, product.sha256) == (sdp.stat().st_size, sha256_of(sdp))
    assert product.access_uri == f"archive:{product_id}.fits"
    assert (product.status, product.version, product.supersedes) == (ProductStatus.CURRENT, 1, None)
    assert [(p.kind, p.name) for p in product.provenance] == [
        (ProvenanceKind.RAW, RAW_FILES[0]), (ProvenanceKind.RAW, RAW_FILES[1]),
        (ProvenanceKind.MCALIB, "UVES.MASTER_BIAS_BLUE.2024-03-01.aaaa.fits"),
    ]
    assert all(len(p.sha256) == 64 for p in product.provenance)
    assert [(f.kind, f.name, f.uri) for f in product.files] == [("PREVIEW", PREVIEW, f"archive:{product_id}.{PREVIEW}")]
    assert archived_path(ctx, product.files[0].uri).read_bytes().startswith(b"\x89PNG")
    assert release.name == "UVES_ECHELLE_IDP_2026.1" and "uves_obs_scired" in release.description
    assert (record.state, record.reason) == (AbState.INGESTED, ingested.reason)


async def test_a_redelivered_event_changes_nothing(ctx: IngestorContext, products: Products, tmp_path: Path) -> None:
    event = certified(science_ab(), [await products.idp(write_sdp(tmp_path / "x_SDP_BLUE.fits")),
                                     await products.preview(tmp_path / "p")])

    [first] = await on_certified(event, ctx)
    files_after_first = archived_files(ctx)
    [again] = await on_certified(event, ctx)

    assert same_output(again, first)
    assert archived_files(ctx) == files_after_first and len(files_after_first) == 2
    async with ctx.db.session() as session:
        assert [p.product_id for p in await products_of_ab(session, event.ab.ab_id)] == first.product_ids
        history = await ledger.ab_history(session, event.ab.ab_id)
    assert [h.state for h in history] == [AbState.INGESTED]


async def test_the_same_file_certified_again_keeps_its_product(
    ctx: IngestorContext, products: Products, tmp_path: Path
) -> None:
    """A re-published certified event (new event, same file) finds the CURRENT product: no new id, no new file."""
    spectrum = [await products.idp(write_sdp(tmp_path / "x_SDP_BLUE.fits")), await products.preview(tmp_path)]
    [first] = await on_certified(certified(science_ab(), spectrum), ctx)
    [second] = await on_certified(certified(science_ab(), spectrum, minutes_later=30), ctx)

    assert second.product_ids == first.product_ids and first.state is FinalState.INGESTED
    assert archived_files(ctx) == [f"{first.product_ids[0]}.fits", f"{first.product_ids[0]}.{PREVIEW}"]


async def test_an_unchanged_ab_certified_again_needs_none_of_its_files(
    ctx: IngestorContext, products: Products, tmp_path: Path
) -> None:
    """Reprocessing an unchanged AB: the catalogue already holds its very files, so the ingestor
    reads no file (here they are gone from the working store) and keeps its product and master ids."""
    spectrum = [await products.idp(write_sdp(tmp_path / "x_SDP_BLUE.fits")), await products.preview(tmp_path)]
    master = [await products.master(write_master(tmp_path / "masterbias_blue.fits", "MASTER_BIAS_BLUE", seed=1),
                                    "MASTER_BIAS_BLUE")]
    [science], [bias] = await on_certified(certified(science_ab(), spectrum), ctx), await on_certified(
        certified(bias_ab(), master), ctx)
    for product in [*spectrum, *master]:
        stored_path(ctx.store, product.file.uri).unlink()

    [science_again] = await on_certified(certified(science_ab(), spectrum, minutes_later=30), ctx)
    [bias_again] = await on_certified(certified(bias_ab(), master, minutes_later=30), ctx)

    assert (science_again.state, science_again.product_ids) == (FinalState.INGESTED, science.product_ids)
    assert (bias_again.state, bias_again.product_ids) == (FinalState.INGESTED, bias.product_ids)


async def test_a_new_version_makes_the_old_one_obsolete_and_keeps_both_files(
    ctx: IngestorContext, products: Products, tmp_path: Path
) -> None:
    old, new = await two_versions(products, tmp_path, minutes_apart=60 * 24)

    [first] = await on_certified(old, ctx)
    [second] = await on_certified(new, ctx)

    [old_id], [new_id] = first.product_ids, second.product_ids
    assert new_id == "PHX.2026-11-25T18:00:00.123.1" and new_id != old_id
    async with ctx.db.session() as session:
        versions = await versions_of(session, new_id)
    assert [(v.product_id, v.status, v.version, v.supersedes) for v in versions] == [
        (old_id, ProductStatus.OBSOLETE, 1, None),
        (new_id, ProductStatus.CURRENT, 2, old_id),
    ]
    assert archived_files(ctx) == [f"{old_id}.fits", f"{old_id}.{PREVIEW}", f"{new_id}.fits", f"{new_id}.{PREVIEW}"]
    assert sha256_of(archived_path(ctx, old_id)) != sha256_of(archived_path(ctx, new_id))


async def test_a_product_without_a_mandatory_keyword_is_rejected_and_nothing_is_stored(
    ctx: IngestorContext, products: Products, tmp_path: Path
) -> None:
    def remove_snr(hdul: fits.HDUList) -> None:
        del hdul[0].header["SNR"]

    event = certified(science_ab(), [await products.idp(write_sdp(tmp_path / "x_SDP_BLUE.fits", spoil=remove_snr))])

    [ingested] = await on_certified(event, ctx)

    assert ingested.state is FinalState.REJECTED and ingested.product_ids == []
    assert "x_SDP_BLUE.fits: mandatory keyword SNR missing from the primary header" in ingested.reason
    assert archived_files(ctx) == []
    async with ctx.db.session() as session:
        assert await products_of_ab(session, event.ab.ab_id) == []
        [transition] = await ledger.ab_history(session, event.ab.ab_id)
    assert (transition.state, transition.reason) == (AbState.REJECTED, ingested.reason)


async def test_masters_are_registered_and_a_reprocessed_one_retires_the_old(
    ctx: IngestorContext, products: Products, tmp_path: Path
) -> None:
    first = certified(bias_ab(), [await products.master(write_master(tmp_path / "a" / "masterbias_blue.fits",
                                                                     "MASTER_BIAS_BLUE", seed=1), "MASTER_BIAS_BLUE")])
    reprocessed = certified(bias_ab(), [await products.master(write_master(tmp_path / "b" / "masterbias_blue.fits",
                                                                           "MASTER_BIAS_BLUE", seed=2), "MASTER_BIAS_BLUE")],
                            minutes_later=90)

    [one] = await on_certified(first, ctx)
    [redelivered] = await on_certified(first, ctx)
    [two] = await on_certified(reprocessed, ctx)

    [old_name], [new_name] = one.product_ids, two.product_ids
    assert redelivered.product_ids == [old_name]
    assert old_name.startswith("UVES.MASTER_BIAS_BLUE.2024-03-01.") and new_name != old_name
    store = {info.name: info for info in await ctx.archive.list_calib("UVES", include_retired=True)}
    assert (store[old_name].status, store[old_name].replaced_by) == ("retired", new_name)
    assert (store[new_name].status, store[new_name].replaces) == ("current", old_name)
    async with ctx.db.session() as session:
        old, new = await get_calibration(session, old_name), await get_calibration(session, new_name)
        assert len(await calibrations_of_ab(session, first.ab.ab_id)) == 2
    assert (old.status, new.status, new.replaces) == (CalibrationStatus.RETIRED, CalibrationStatus.CURRENT, old_name)
    assert (new.pro_catg, new.ab_id, new.setting["DET.WIN1.BINX"]) == ("MASTER_BIAS_BLUE", first.ab.ab_id, "1")


async def test_a_master_replacing_one_phoenix_did_not_make_records_both(
    ctx: IngestorContext, products: Products, tmp_path: Path, archive_root: Path
) -> None:
    write_master(archive_root / "calib" / "UVES" / "UVES_MBIAS_BLUE_2024-03-01.fits", "MASTER_BIAS_BLUE", seed=7)
    event = certified(bias_ab(), [await products.master(write_master(tmp_path / "m.fits", "MASTER_BIAS_BLUE", seed=1),
                                                        "MASTER_BIAS_BLUE")])

    [ingested] = await on_certified(event, ctx)

    async with ctx.db.session() as session:
        adopted = await get_calibration(session, "UVES_MBIAS_BLUE_2024-03-01")
        new = await get_calibration(session, ingested.product_ids[0])
    assert (adopted.status, adopted.ab_id) == (CalibrationStatus.RETIRED, "")
    assert new.replaces == "UVES_MBIAS_BLUE_2024-03-01"


async def test_a_master_the_store_refuses_rejects_the_ab(ctx: IngestorContext, products: Products, tmp_path: Path) -> None:
    not_fits = tmp_path / "masterbias_blue.fits"
    not_fits.write_bytes(b"no FITS here")
    event = certified(bias_ab(), [await products.master(not_fits, "MASTER_BIAS_BLUE")])

    [ingested] = await on_certified(event, ctx)

    assert ingested.state is FinalState.REJECTED
    assert ingested.reason.startswith("the calibration store refused a master:")


async def test_undecided_abs_end_as_the_certifier_left_them(ctx: IngestorContext) -> None:
    cases = [
        (Decision.REVIEW, "1 QC parameter(s) scored 1", FinalState.REVIEW),
        (Decision.REJECTED, "processing failed: uves_obs_scired exited 1", FinalState.FAILED),
        (Decision.REJECTED, "1 mandatory QC parameter(s) missing", FinalState.REJECTED),
    ]
    for number, (decision, reason, state) in enumerate(cases):
        event = certified(science_ab(f"UVES_ECHELLE.2024-03-01.SCI_POINT_BLUE.{number}"), [], decision=decision, reason=reason)
        [ingested] = await on_certified(event, ctx)
        assert (ingested.state, ingested.reason, ingested.product_ids) == (state, reason, [])
        async with ctx.db.session() as session:
            assert (await ledger.get_ab(session, event.ab.ab_id)).state is AbState(state.value)


async def test_the_request_is_done_when_every_ab_is_final(ctx: IngestorContext, products: Products, tmp_path: Path) -> None:
    science, bias = science_ab(), bias_ab()
    request = DateRequested(correlation_id=REQUEST, instrument_mode="UVES_ECHELLE",
                            night=science.night, mode=ProcessingMode.IDP)
    async with ctx.db.session() as session:
        await ledger.record_request(session, request)
        for ab in (science, bias):
            await ledger.record_ab_state(session, ab, AbState.STAGED, event_id=request.event_id,
                                         request_id=REQUEST, service="fetcher")
        await ledger.set_request_state(session, REQUEST, RequestState.FETCHED)

    spectrum = [await products.idp(write_sdp(tmp_path / "x_SDP_BLUE.fits")), await products.preview(tmp_path)]
    [ingested] = await on_certified(certified(science, spectrum), ctx)
    assert ingested.state is FinalState.INGESTED
    async with ctx.db.session() as session:
        assert (await ledger.get_request(session, REQUEST)).state is RequestState.FETCHED

    await on_certified(certified(bias, [], decision=Decision.REVIEW, reason="policy ALL"), ctx)
    async with ctx.db.session() as session:
        done = await ledger.get_request(session, REQUEST)
    assert (done.state, done.reason) == (RequestState.DONE, "1 INGESTED, 1 REVIEW")


async def test_abs_certified_in_the_same_millisecond_get_distinct_ids(
    ctx: IngestorContext, products: Products, tmp_path: Path
) -> None:
    preview = await products.preview(tmp_path)
    one = certified(science_ab("UVES_ECHELLE.2024-03-01.SCI_POINT_BLUE.1"),
                    [await products.idp(write_sdp(tmp_path / "1" / "a_SDP_BLUE.fits", seed=1)), preview])
    two = certified(science_ab("UVES_ECHELLE.2024-03-01.SCI_POINT_BLUE.2"),
                    [await products.idp(write_sdp(tmp_path / "2" / "b_SDP_BLUE.fits", seed=2)), preview])

    [first], [second] = await on_certified(one, ctx), await on_certified(two, ctx)
    [again] = await on_certified(two, ctx)

    assert first.product_ids == ["PHX.2026-11-24T18:00:00.123.1"]
    assert second.product_ids == again.product_ids == ["PHX.2026-11-24T18:00:00.123.2"]


async def test_an_old_event_redelivered_after_a_new_version_changes_nothing(
    ctx: IngestorContext, products: Products, tmp_path: Path
) -> None:
    old, new = await two_versions(products, tmp_path, minutes_apart=60)
    [first] = await on_certified(old, ctx)
    [second] = await on_certified(new, ctx)

    [replayed] = await on_certified(old, ctx)

    assert replayed.product_ids == first.product_ids
    async with ctx.db.session() as session:
        versions = await versions_of(session, second.product_ids[0])
    assert [(v.product_id, v.status) for v in versions] == [
        (first.product_ids[0], ProductStatus.OBSOLETE), (second.product_ids[0], ProductStatus.CURRENT)
    ]


async def test_final_states_are_counted_once(ctx: IngestorContext, products: Products, tmp_path: Path) -> None:
    def counted(state: str) -> float:
        return REGISTRY.get_sample_value("phoenix_abs_final_total", {"state": state}) or 0.0

    before = counted("INGESTED"), REGISTRY.get_sample_value("phoenix_ingested_bytes_total") or 0.0
    sdp = write_sdp(tmp_path / "x_SDP_BLUE.fits")
    event = certified(science_ab(), [await products.idp(sdp), await products.preview(tmp_path)])

    await on_certified(event, ctx)
    await on_certified(event, ctx)

    assert counted("INGESTED") - before[0] == 1
    assert REGISTRY.get_sample_value("phoenix_ingested_bytes_total") - before[1] == sdp.stat().st_size


async def test_the_done_request_keeps_what_the_fetcher_reported(ctx: IngestorContext) -> None:
    bias = bias_ab()
    request = DateRequested(correlation_id=REQUEST, instrument_mode="UVES_ECHELLE", night=bias.night,
                            mode=ProcessingMode.IDP)
    fetched = "1 file(s) not used: UVES.2024-03-01T18:38:07.000.fits: unreadable: empty file (0 bytes)"
    async with ctx.db.session() as session:
        await ledger.record_request(session, request)
        await ledger.record_ab_state(session, bias, AbState.STAGED, event_id=request.event_id,
                                     request_id=REQUEST, service="fetcher")
        await ledger.set_request_state(session, REQUEST, RequestState.FETCHED, fetched)
    await on_certified(certified(bias, [], decision=Decision.REVIEW, reason="policy ALL"), ctx)
    async with ctx.db.session() as session:
        done = await ledger.get_request(session, REQUEST)
    assert (done.state, done.reason) == (RequestState.DONE, f"1 REVIEW; {fetched}")


async def two_versions(products: Products, tmp_path: Path, minutes_apart: int) -> tuple[Certified, Certified]:
    """The same science AB certified twice, with another spectrum (and the same preview) the second time."""
    preview = await products.preview(tmp_path)
    old = certified(science_ab(), [await products.idp(write_sdp(tmp_path / "v1" / "x_SDP_BLUE.fits", seed=1)), preview])
    new = certified(science_ab(), [await products.idp(write_sdp(tmp_path / "v2" / "x_SDP_BLUE.fits", seed=2)), preview],
                    minutes_later=minutes_apart)
    return old, new
