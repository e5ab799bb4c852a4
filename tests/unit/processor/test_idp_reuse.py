from datetime import date
from types import SimpleNamespace

from services.processor import idp
from services.processor.jobs import JobStore
from services.processor.science import SdpProduct
from services.processor.sdp import load_sdp_rules
from shared.contracts import AssociationBlock, RawFrame
from tests.support.storage import folder_store

AB = AssociationBlock(
    ab_id="UVES_ECHELLE.2024-03-01.SCI_POINT_BLUE.x", ab_name="x", instrument="UVES", instrument_mode="UVES_ECHELLE",
    night=date(2024, 3, 1), mode="IDP", dpr_catg="SCIENCE", raw_type="SCI_POINT_BLUE", recipe="uves_obs_scired",
    mjd_obs=60371.0, mjd_obs_mod=60371.0, raw_files=[RawFrame(arcfile="UVES.x.fits", category="SCI_POINT_BLUE", mjd_obs=1)],
)


async def test_the_sdp_conversion_of_a_job_is_reused(tmp_path, monkeypatch) -> None:
    conversions = []

    def convert(ab, raws, calibrations, products, rules, out_dir):
        conversions.append(ab.ab_id)
        spectrum, preview = out_dir / "x_SDP_BLUE.fits", out_dir / "x_SDP_BLUE.png"
        spectrum.write_bytes(b"spectrum")
        preview.write_bytes(b"preview")
        return [SdpProduct(path=spectrum, arm="BLUE", chips=["BLUE"], preview_path=preview, snr=40.0)]

    monkeypatch.setattr(idp, "_convert", convert)
    store, rules = folder_store(tmp_path / "store"), load_sdp_rules("UVES_ECHELLE")
    jobs = JobStore(store)
    (tmp_path / "UVES.x.fits").write_bytes(b"raw")
    staged = AB.raw_files[0].model_copy(update={"staged": await store.put(tmp_path / "UVES.x.fits")})
    ab = AB.model_copy(update={"raw_files": [staged]})
    outcome = SimpleNamespace(record=SimpleNamespace(job_key="k" * 64, products=[]))
    first = await idp.idp_products(ab, outcome, store, rules, jobs)
    again = await idp.idp_products(ab, outcome, store, rules, jobs)
    assert conversions == [AB.ab_id] and again == first
    assert [p.pro_catg for p in first] == ["SCIENCE.SPECTRUM", "ANCILLARY.PREVIEW"]
