"""SDP products from the real UVES pipeline on a simulated night: an independent format check
(written here from shared/reference/eso-formats.md, not from the converter's constants) and
the simulator's truth (S/N, radial velocity) measured on the SDP tables themselves."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from services.processor.science import SdpProduct, convert_science_products, read_line_table_qc, read_raw_headers
from services.processor.sdp import load_sdp_rules
from shared.contracts import AssociationBlock, ProcessingMode, RawFrame
from tests.integration.simulator.measure import SCIENCE_RESOLVING_POWER, Spectrum, measure_rv
from tests.unit.processor.test_sdp import COLUMNS as COLUMN_UCD_UTYPE  # the reference tables, written out once
from tests.unit.processor.test_sdp import EXTENSION_KEYWORDS as EXTENSION

pytestmark = [pytest.mark.esorex, pytest.mark.slow]

ARM_CHIPS = {"blue": ("BLUE",), "red": ("REDL", "REDU")}
MANDATORY_PRIMARY = {
    "PRODCATG": str, "ORIGIN": str, "TELESCOP": str, "INSTRUME": str, "OBJECT": str, "RA": float, "DEC": float,
    "RADESYS": str, "EXPTIME": float, "TEXPTIME": float, "MJD-OBS": float, "MJD-END": float, "OBSTECH": str,
    "FLUXCAL": str, "PROCSOFT": str, "REFERENC": str, "SPECSYS": str, "CONTNORM": bool, "TOT_FLUX": bool,
    "FLUXERR": float, "WAVELMIN": float, "WAVELMAX": float, "SPEC_BIN": float, "SPEC_RES": float, "SNR": float,
    "CHECKSUM": str, "DATASUM": str,
}
OPTIONAL_PRIMARY = {
    "EQUINOX": float, "PROG_ID": str, "OBID1": int, "NCOMBINE": int, "PROV1": str, "ASSON1": str, "ASSOC1": str,
    "ASSOM1": str, "PRODLVL": int, "DISPELEM": str, "EXT_OBJ": bool, "SPEC_ERR": float, "SPEC_SYE": float,
    "LAMNLIN": int, "LAMRMS": float,
}


def sdp_problems(path: Path) -> list[str]:
    """Everything wrong with `path` as an ESO SDP 1D spectrum (empty when it is valid)."""
    with fits.open(path) as hdul:
        if len(hdul) != 2 or hdul[0].data is not None or not isinstance(hdul[1], fits.BinTableHDU):
            return ["not an empty primary HDU + one binary table"]
        problems = [
            f"HDU {index}: CHECKSUM/DATASUM do not match"
            for index, hdu in enumerate(hdul)
            if hdu.verify_checksum() != 1 or hdu.verify_datasum() != 1
        ]
        primary, extension, table = hdul[0].header, hdul[1].header, hdul[1].data
        problems += typed_keyword_problems(primary, MANDATORY_PRIMARY, required=True)
        problems += typed_keyword_problems(primary, OPTIONAL_PRIMARY, required=False)
        problems += typed_keyword_problems(extension, EXTENSION, required=True)
        problems += value_problems(primary, extension)
        problems += table_problems(extension, table, primary)
    return problems


def typed_keyword_problems(header: fits.Header, expected: dict[str, type], required: bool) -> list[str]:
    problems = []
    for key, kind in expected.items():
        if key not in header:
            problems += [f"{key} missing"] if required else []
        elif not isinstance(header[key], kind) or (kind is not bool and isinstance(header[key], bool)):
            problems.append(f"{key} = {header[key]!r} is not {kind.__name__}")
    return problems


def value_problems(primary: fits.Header, extension: fits.Header) -> list[str]:
    expected = {
        "PRODCATG": "SCIENCE.SPECTRUM", "ORIGIN": "ESO", "OBSTECH": "ECHELLE", "PRODLVL": 2,
        "FLUXCAL": "UNCALIBRATED", "FLUXERR": -1.0, "EQUINOX": 2000.0,
    }
    problems = [f"{k} = {primary.get(k)!r}, {v!r} expected" for k, v in expected.items() if primary.get(k) != v]
    if primary.get("SPECSYS") not in ("TOPOCENT", "BARYCENT"):
        problems.append(f"SPECSYS = {primary.get('SPECSYS')!r}")
    if (extension.get("EXTNAME"), extension.get("VOCLASS"), extension.get("VOPUB")) != ("SPECTRUM", "SPECTRUM V2.0", "ESO/SAF"):
        problems.append("EXTNAME/VOCLASS/VOPUB")
    for header in (primary, extension):
        problems += [f"forbidden {key}" for key in header if key == "BUNIT" or (key.startswith("CD") and "_" in key)]
    problems += [f"zero-padded {key}" for key in primary if key[:4] in ("PROV", "ASSO") and key[5:6] == "0"]
    if any(f"ASSO{x}1" not in primary for x in "NCM") and "ASSON1" in primary:
        problems.append("ASSON1 without ASSOC1/ASSOM1")
    return problems


def table_problems(extension: fits.Header, table: fits.FITS_rec, primary: fits.Header) -> list[str]:
    if len(table) != 1:
        return [f"{len(table)} rows, one expected"]
    names = [extension[f"TTYPE{i}"] for i in range(1, extension["TFIELDS"] + 1)]
    if names[:4] != ["WAVE", "FLUX", "ERR", "QUAL"]:
        return [f"columns {names}"]
    problems = []
    nelem = extension.get("NELEM")
    for index, name in enumerate(names[:4], start=1):
        if table[name][0].shape != (nelem,):
            problems.append(f"{name} has {table[name][0].shape}, NELEM = {nelem}")
        if (extension.get(f"TUCD{index}"), extension.get(f"TUTYP{index}")) != COLUMN_UCD_UTYPE[name]:
            problems.append(f"TUCD{index}/TUTYP{index} of {name}")
        if name != "QUAL" and not extension.get(f"TUNIT{index}"):
            problems.append(f"TUNIT{index} missing")
    wave = np.asarray(table["WAVE"][0], dtype=float)
    if np.isnan(wave).any():
        problems.append("NaN in WAVE")
    if not np.all(np.diff(wave) > 0):
        problems.append("WAVE not strictly increasing")
    if table["QUAL"][0].dtype.kind not in "iu":
        problems.append("QUAL is not integer")
    if extension.get("TUNIT1") != "nm" or not 300.0 < wave[0] < wave[-1] < 1100.0:
        problems.append("WAVE not in nm within UVES's range")
    for key, value in (("WAVELMIN", wave[0]), ("WAVELMAX", wave[-1]), ("TDMIN1", wave[0]), ("TDMAX1", wave[-1])):
        header = primary if key.startswith("WAVEL") else extension
        if not np.isclose(header.get(key, np.nan), value, rtol=1e-9):
            problems.append(f"{key} = {header.get(key)} but WAVE reaches {value}")
    return problems


@pytest.fixture(scope="session")
def sdp_products(small_night_reductions, tmp_path_factory) -> dict[str, tuple[SdpProduct, dict]]:
    """arm → (SDP product, truth of its raw frame), converted as the processor's handler would."""
    rules = load_sdp_rules("UVES_ECHELLE")
    out = tmp_path_factory.mktemp("sdp-products")
    converted = {}
    for arm, arm_runs in small_night_reductions.items():
        scired = arm_runs["uves_obs_scired"]
        assert scired.returncode == 0, scired.stdout[-2000:]
        frames = [(Path(p), tag) for p, tag in (line.split() for line in (scired.workdir / "input.sof").read_text().splitlines())]
        raws = [(path, tag) for path, tag in frames if tag.startswith("SCI_POINT")]
        products = [(path, catg) for catg, paths in scired.products.items() for path in paths]
        [product] = convert_science_products(
            science_ab(raws), products, read_raw_headers((p.name, p) for p, _ in raws),
            read_line_table_qc(frames, rules), out,
        )
        truth = json.loads(raws[0][0].with_name(raws[0][0].name.removesuffix(".fits") + ".truth.json").read_text())
        converted[arm] = (product, truth)
    return converted


def science_ab(raws: list[tuple[Path, str]]) -> AssociationBlock:
    header = fits.getheader(raws[0][0])
    return AssociationBlock(
        ab_id=f"UVES_ECHELLE.2024-03-01.{raws[0][1]}.test", ab_name=f"{raws[0][0].name}.ab", instrument="UVES",
        instrument_mode="UVES_ECHELLE", night=date(2024, 3, 1), mode=ProcessingMode.IDP, dpr_catg="SCIENCE",
        raw_type=raws[0][1], recipe="uves_obs_scired", mjd_obs=header["MJD-OBS"], mjd_obs_mod=header["MJD-OBS"],
        raw_files=[RawFrame(arcfile=path.name, category=tag, mjd_obs=fits.getheader(path)["MJD-OBS"]) for path, tag in raws],
    )


def sdp_table(product: SdpProduct) -> tuple[fits.Header, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    with fits.open(product.path) as hdul:
        row = hdul[1].data[0]
        return (hdul[0].header.copy(), np.array(row["WAVE"], dtype=float), np.array(row["FLUX"], dtype=float),
                np.array(row["ERR"], dtype=float), np.array(row["QUAL"]))


@pytest.mark.parametrize("arm", ARM_CHIPS)
def test_sdp_product_passes_the_independent_check(sdp_products, arm):
    product, truth = sdp_products[arm]
    assert sdp_problems(product.path) == []
    primary, *_ = sdp_table(product)
    assert primary["PROV1"] == truth["arcfile"] and primary["OBJECT"] == truth["object"]
    assert primary["RA"] == pytest.approx(truth["ra_deg"]) and primary["DEC"] == pytest.approx(truth["dec_deg"])
    assert primary["EXPTIME"] == truth["exptime_s"]
    assert primary["ASSON1"] == product.preview_path.name and product.preview_path.is_file()
    assert 40_000 < primary["SPEC_RES"] < 95_000 and primary["LAMNLIN"] >= 300  # arcs through 0.4"/0.8"
    assert primary["PROCSOFT"].startswith("uves/")


@pytest.mark.parametrize("arm", ARM_CHIPS)
def test_sdp_snr_matches_the_truth(sdp_products, arm):
    product, truth = sdp_products[arm]
    primary, wave, flux, err, qual = sdp_table(product)
    expected = [truth["expected_snr"][chip.lower()] for chip in ARM_CHIPS[arm]]
    assert min(expected) * 0.9 <= primary["SNR"] <= max(expected) * 1.1, (primary["SNR"], expected)
    for (low, high), chip_expected in zip(chip_ranges(wave), expected, strict=True):
        part = (wave >= low) & (wave <= high) & (qual == 0)
        snr = float(np.median(flux[part] / err[part]))
        assert snr == pytest.approx(chip_expected, rel=0.10), f"{arm} {low:.0f}-{high:.0f} nm: S/N {snr:.1f} vs {chip_expected:.1f}"


@pytest.mark.parametrize("arm", ARM_CHIPS)
def test_sdp_wavelengths_give_back_the_injected_radial_velocity(sdp_products, arm):
    product, truth = sdp_products[arm]
    primary, wave, flux, err, _ = sdp_table(product)
    spectrum = Spectrum(wave_angstrom=wave * 10.0, flux=flux, error=err)  # flagged pixels have ERR = 0: fits skip them
    rv = measure_rv(spectrum, truth["lines_rest_air_angstrom"], truth["rv_kms"], SCIENCE_RESOLVING_POWER)
    assert rv.used > 50
    assert abs(rv.rv_kms - truth["rv_kms"]) < 0.1, f"{arm}: RV {rv.rv_kms:.4f} ± {rv.error_kms:.4f} vs {truth['rv_kms']}"


def chip_ranges(wave: np.ndarray) -> list[tuple[float, float]]:
    """Wavelength ranges separated by jumps of more than 100 bins (the gap between chips)."""
    steps = np.diff(wave)
    cuts = np.flatnonzero(steps > 100 * np.median(steps))
    starts = np.r_[0, cuts + 1]
    ends = np.r_[cuts, wave.size - 1]
    return [(float(wave[s]), float(wave[e])) for s, e in zip(starts, ends, strict=True)]
