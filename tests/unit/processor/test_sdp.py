"""SDP 1D spectra from small synthetic merged spectra: keywords, table, quality flags, checksums."""

from __future__ import annotations

import hashlib
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from services.processor.science import SdpProduct, convert_science_products, read_line_table_qc
from services.processor.sdp import (
    BAD_VALUE,
    NO_DATA,
    SATURATED,
    SPIKE,
    ChipSpectrum,
    chip_columns,
    load_sdp_rules,
    write_sdp,
)
from shared.contracts import AssociationBlock, ProcessingMode, RawFrame
from shared.errors import DataError

ARCFILES = ("UVES.2024-03-01T23:47:02.078.fits", "UVES.2024-03-01T23:58:00.000.fits")
# (key, type) from shared/reference/eso-formats.md, "SDP 1D spectrum", written out here on purpose.
PRIMARY_KEYWORDS = {
    "PRODCATG": str, "ORIGIN": str, "TELESCOP": str, "INSTRUME": str, "OBJECT": str, "RA": float, "DEC": float,
    "EQUINOX": float, "RADESYS": str, "EXPTIME": float, "TEXPTIME": float, "MJD-OBS": float, "MJD-END": float,
    "PROG_ID": str, "OBID1": int, "NCOMBINE": int, "OBSTECH": str, "FLUXCAL": str, "PROCSOFT": str, "REFERENC": str,
    "PROV1": str, "ASSON1": str, "ASSOC1": str, "ASSOM1": str, "PRODLVL": int, "DISPELEM": str, "SPECSYS": str,
    "EXT_OBJ": bool, "CONTNORM": bool, "TOT_FLUX": bool, "FLUXERR": float, "WAVELMIN": float, "WAVELMAX": float,
    "SPEC_BIN": float, "SPEC_RES": float, "SPEC_ERR": float, "SPEC_SYE": float, "LAMNLIN": int, "LAMRMS": float,
    "SNR": float, "CHECKSUM": str, "DATASUM": str,
}
EXTENSION_KEYWORDS = {
    "EXTNAME": str, "VOCLASS": str, "VOPUB": str, "TITLE": str, "OBJECT": str, "RA": float, "DEC": float,
    "APERTURE": float, "TELAPSE": float, "TMID": float, "SPEC_VAL": float, "SPEC_BW": float, "NELEM": int,
    "TDMIN1": float, "TDMAX1": float, "CHECKSUM": str, "DATASUM": str,
}
COLUMNS = {
    "WAVE": ("em.wl;obs.atmos", "spec:Data.SpectralAxis.Value"),
    "FLUX": ("phot.flux.density;em.wl;meta.main", "spec:Data.FluxAxis.Value"),
    "ERR": ("stat.error;phot.flux.density;meta.main", "spec:Data.FluxAxis.Accuracy.StatError"),
    "QUAL": ("meta.code.qual;meta.main", "spec:Data.FluxAxis.Accuracy.QualityStatus"),
}
LINE_TABLE_QC = {
    "BLUE": {"QC.RESOLMED": 39618.4, "QC.NLINSOL": 467, "QC.LINE.RESIDRMS.WLU": 0.000493,
             "QC.LINE.WAVEERR": 2.28e-05, "QC.LINE.SYSERR": 0.00013},
    "REDL": {"QC.RESOLMED": 36482.7, "QC.NLINSOL": 560, "QC.LINE.RESIDRMS.WLU": 0.001152,
             "QC.LINE.WAVEERR": 4.87e-05, "QC.LINE.SYSERR": 0.000176},
    "REDU": {"QC.RESOLMED": 36991.7, "QC.NLINSOL": 556, "QC.LINE.RESIDRMS.WLU": 0.001383,
             "QC.LINE.WAVEERR": 5.87e-05, "QC.LINE.SYSERR": 0.000211},
}
# chip → (start Å, step Å, pixels, raw tag)
CHIP_GRID = {"BLUE": (3260.0, 0.027, 600, "SCI_POINT_BLUE"), "REDL": (4730.0, 0.029, 500, "SCI_POINT_RED"),
             "REDU": (5820.0, 0.035, 400, "SCI_POINT_RED")}


def raw_header(arcfile: str, mjd_obs: float) -> fits.Header:
    header = fits.Header()
    header["ARCFILE"] = arcfile
    header["OBJECT"] = "HD 22049"
    header["RA"] = 53.23269
    header["DEC"] = -9.45826
    header["EQUINOX"] = 2000.0
    header["RADECSYS"] = "FK5"
    header["EXPTIME"] = 600.0
    header["MJD-OBS"] = mjd_obs
    header["HIERARCH ESO OBS PROG ID"] = "112.25QX.001"
    header["HIERARCH ESO OBS ID"] = 3400001
    header["HIERARCH ESO INS GRAT1 WLEN"] = 390.0  # blue and red keys alike: the converter picks by arm
    header["HIERARCH ESO INS GRAT2 WLEN"] = 580.0
    header["HIERARCH ESO INS SLIT2 WID"] = 1.2
    header["HIERARCH ESO INS SLIT3 WID"] = 1.2
    header["HIERARCH ESO DET OUT1 GAIN"] = 0.62
    header["HIERARCH ESO DET OUT1 RON"] = 3.6
    header["HIERARCH ESO DET OUT4 GAIN"] = 0.60
    header["HIERARCH ESO DET OUT4 RON"] = 3.9
    return header


def write_merged(folder: Path, chip: str, flux: np.ndarray, error: np.ndarray) -> list[tuple[Path, str]]:
    start, step, _, _ = CHIP_GRID[chip]
    written = []
    for kind, data in (("MERGED_SCI_POINT", flux), ("ERRORBAR_SCI_POINT", error)):
        header = fits.Header()
        header["CTYPE1"] = "AWAV"
        header["CUNIT1"] = "Angstrom"
        header["CRVAL1"] = start
        header["CRPIX1"] = 1.0
        header["CDELT1"] = step
        header["BUNIT"] = "ADU"
        header["HIERARCH ESO PRO CATG"] = f"{kind}_{chip}"
        header["HIERARCH ESO PRO REC1 PIPE ID"] = "uves/6.1.8"
        path = folder / f"{kind.lower()}_{chip.lower()}.fits"
        fits.PrimaryHDU(data=data.astype(np.float32), header=header).writeto(path)
        written.append((path, f"{kind}_{chip}"))
    return written


def spectrum_of(chip: str, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Continuum of 1000 ADU with noise, 10 padding pixels (0 flux, error 1) at each end, like scired."""
    size = CHIP_GRID[chip][2]
    flux = 1000.0 + np.random.default_rng(seed).normal(0.0, 20.0, size)
    error = np.full(size, 20.0)
    flux[:10] = flux[-10:] = 0.0
    error[:10] = error[-10:] = 1.0
    return flux, error


def science_ab(arm: str, arcfiles: tuple[str, ...] = ARCFILES[:1]) -> AssociationBlock:
    tag = CHIP_GRID["BLUE" if arm == "BLUE" else "REDL"][3]
    return AssociationBlock(
        ab_id=f"UVES_ECHELLE.2024-03-01.{tag}.0000", ab_name=f"{arcfiles[0]}.ab", instrument="UVES",
        instrument_mode="UVES_ECHELLE", night=date(2024, 3, 1), mode=ProcessingMode.IDP, dpr_catg="SCIENCE",
        raw_type=tag, recipe="uves_obs_scired", mjd_obs=60370.99, mjd_obs_mod=60371.0,
        raw_files=[RawFrame(arcfile=name, category=tag, mjd_obs=60370.99, exposure_seconds=600.0) for name in arcfiles],
    )


def convert(tmp_path: Path, arm: str, spectra: dict[str, tuple[np.ndarray, np.ndarray]],
            arcfiles: tuple[str, ...] = ARCFILES[:1]) -> list[SdpProduct]:
    products = [item for chip, (flux, error) in spectra.items() for item in write_merged(tmp_path, chip, flux, error)]
    headers = {name: raw_header(name, 60370.99 + 0.01 * i) for i, name in enumerate(arcfiles)}
    return convert_science_products(science_ab(arm, arcfiles), products, headers, LINE_TABLE_QC, tmp_path)


def open_checked(path: Path) -> fits.HDUList:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # astropy warns (does not raise) on a checksum mismatch
        return fits.open(path, checksum=True)


@pytest.fixture
def blue(tmp_path: Path) -> SdpProduct:
    return convert(tmp_path, "BLUE", {"BLUE": spectrum_of("BLUE")})[0]


def test_every_mandatory_keyword_is_there_with_its_type(blue):
    with open_checked(blue.path) as hdul:
        for header, expected in ((hdul[0].header, PRIMARY_KEYWORDS), (hdul[1].header, EXTENSION_KEYWORDS)):
            for key, kind in expected.items():
                assert key in header, key
                value = header[key]
                assert isinstance(value, kind) and (kind is bool or not isinstance(value, bool)), (key, value)
        assert hdul[0].header["PRODCATG"] == "SCIENCE.SPECTRUM"
        assert hdul[0].header["ORIGIN"] == "ESO"
        assert hdul[0].header["TELESCOP"] == "ESO-VLT-U2"
        assert hdul[0].header["INSTRUME"] == "UVES"
        assert hdul[0].header["RADESYS"] == "FK5"
        assert hdul[0].header["FLUXCAL"] == "UNCALIBRATED" and hdul[0].header["FLUXERR"] == -1.0
        assert hdul[0].header["SPECSYS"] == "TOPOCENT"
        assert hdul[0].header["PROCSOFT"] == "uves/6.1.8"
        assert hdul[0].header["DISPELEM"] == "CD#2"
        assert hdul[0].header["PRODLVL"] == 2
        assert hdul[1].header["EXTNAME"] == "SPECTRUM"
        assert hdul[1].header["VOCLASS"] == "SPECTRUM V2.0" and hdul[1].header["VOPUB"] == "ESO/SAF"


def test_primary_hdu_is_empty_and_no_forbidden_keywords(blue):
    with open_checked(blue.path) as hdul:
        assert hdul[0].data is None and len(hdul) == 2
        for header in (hdul[0].header, hdul[1].header):
            assert "BUNIT" not in header
            assert not [key for key in header if key.startswith("CD") and "_" in key]


def test_checksums_are_valid(blue):
    with open_checked(blue.path) as hdul:
        for hdu in hdul:
            assert hdu.verify_checksum() == 1 and hdu.verify_datasum() == 1


def test_one_row_of_equal_length_arrays_with_units_ucds_and_utypes(blue):
    with open_checked(blue.path) as hdul:
        table, header = hdul[1].data, hdul[1].header
        assert len(table) == 1
        nelem = header["NELEM"]
        assert nelem == 600 - 20  # padding at both ends cut off
        for index, name in enumerate(COLUMNS, start=1):
            assert header[f"TTYPE{index}"] == name
            assert table[name][0].shape == (nelem,)
            assert (header[f"TUCD{index}"], header[f"TUTYP{index}"]) == COLUMNS[name]
        assert header["TUNIT1"] == "nm" and header["TUNIT2"] == header["TUNIT3"] == "adu"
        assert table["QUAL"][0].dtype.kind == "i"


def test_wavelengths_are_nm_increasing_and_finite_and_describe_the_range(blue):
    with open_checked(blue.path) as hdul:
        wave = hdul[1].data["WAVE"][0]
        primary, extension = hdul[0].header, hdul[1].header
    assert np.all(np.isfinite(wave)) and np.all(np.diff(wave) > 0)
    assert wave[0] == pytest.approx((3260.0 + 10 * 0.027) / 10.0)
    assert primary["WAVELMIN"] == extension["TDMIN1"] == pytest.approx(wave[0])
    assert primary["WAVELMAX"] == extension["TDMAX1"] == pytest.approx(wave[-1])
    assert primary["SPEC_BIN"] == pytest.approx(0.0027)
    assert extension["SPEC_VAL"] == pytest.approx((wave[0] + wave[-1]) / 2)
    assert extension["SPEC_BW"] == pytest.approx(wave[-1] - wave[0])


def test_values_derived_from_the_context(blue):
    with open_checked(blue.path) as hdul:
        primary, extension = hdul[0].header, hdul[1].header
    assert primary["SPEC_RES"] == pytest.approx(39618.4)
    assert primary["LAMNLIN"] == 467
    assert primary["LAMRMS"] == pytest.approx(0.0000493)  # Å in the line table, nm here
    assert primary["SPEC_ERR"] == pytest.approx(2.28e-06) and primary["SPEC_SYE"] == pytest.approx(1.3e-05)
    assert primary["GAIN"] == pytest.approx(1 / 0.62) and primary["DETRON"] == primary["EFFRON"] == 3.6
    assert primary["EXPTIME"] == primary["TEXPTIME"] == 600.0
    assert primary["MJD-END"] == pytest.approx(primary["MJD-OBS"] + 600.0 / 86400.0)
    assert extension["TELAPSE"] == pytest.approx(600.0)
    assert extension["TMID"] == pytest.approx((primary["MJD-OBS"] + primary["MJD-END"]) / 2)
    assert extension["APERTURE"] == pytest.approx(1.2 / 3600.0)
    assert primary["OBID1"] == 3400001 and primary["PROG_ID"] == "112.25QX.001"


def test_snr_is_the_median_flux_over_error_of_good_pixels(blue):
    with open_checked(blue.path) as hdul:
        row = hdul[1].data[0]
        snr = hdul[0].header["SNR"]
    good = row["QUAL"] == 0
    assert snr == pytest.approx(float(np.median(row["FLUX"][good] / row["ERR"][good])), rel=1e-6)
    assert snr == pytest.approx(50.0, rel=0.05)
    assert blue.snr == pytest.approx(snr)


def test_preview_is_the_associated_file(blue):
    assert blue.preview_path.is_file() and blue.preview_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open_checked(blue.path) as hdul:
        primary = hdul[0].header
    assert primary["ASSON1"] == blue.preview_path.name
    assert primary["ASSOC1"] == "ANCILLARY.PREVIEW"
    assert primary["ASSOM1"] == hashlib.md5(blue.preview_path.read_bytes()).hexdigest()
    assert "ASSON2" not in primary


def test_provenance_lists_every_raw_arcfile_unpadded(tmp_path):
    product = convert(tmp_path, "BLUE", {"BLUE": spectrum_of("BLUE")}, arcfiles=ARCFILES)[0]
    with open_checked(product.path) as hdul:
        primary = hdul[0].header
    assert [primary["PROV1"], primary["PROV2"]] == list(ARCFILES)
    assert "PROV01" not in primary and "PROV3" not in primary
    assert primary["NCOMBINE"] == 2 and primary["TEXPTIME"] == 1200.0
    assert primary["MJD-END"] == pytest.approx(60371.0 + 600.0 / 86400.0)
    assert primary["OBID1"] == 3400001 and "OBID2" not in primary  # one OB


def test_quality_flags_and_what_happens_to_flagged_values():
    size = 12
    flux = np.full(size, 100.0)
    error = np.full(size, 10.0)
    flux[0] = 0.0  # leading padding
    flux[3] = np.nan
    error[4] = 0.0
    flux[5] = 0.0  # an inner bin no order filled
    flux[-1] = 0.0  # trailing padding
    saturated = np.zeros(size, dtype=bool)
    saturated[7] = True
    chip = ChipSpectrum(chip="BLUE", wave_nm=400.0 + 0.01 * np.arange(size), flux=flux, error=error, saturated=saturated)
    columns = chip_columns(chip)
    assert columns.nelem == size - 2
    qual = dict(zip(np.round(columns.wave, 2), columns.qual, strict=True))
    assert qual[400.03] == BAD_VALUE and qual[400.04] == BAD_VALUE
    assert qual[400.05] == NO_DATA and qual[400.07] == SATURATED
    assert sum(1 for q in columns.qual if q == 0) == size - 2 - 4
    assert np.all(np.isfinite(columns.flux)) and np.all(np.isfinite(columns.err))
    flagged_zeroed = columns.qual & (BAD_VALUE | NO_DATA) > 0
    assert np.all(columns.flux[flagged_zeroed] == 0) and np.all(columns.err[flagged_zeroed] == 0)
    assert columns.flux[6] == 100.0 and columns.err[6] == 10.0  # saturated keeps the pipeline's values


def test_red_chips_make_one_product_with_the_gap_between_them(tmp_path):
    products = convert(tmp_path, "RED", {"REDU": spectrum_of("REDU", 2), "REDL": spectrum_of("REDL", 3)})
    assert [p.arm for p in products] == ["RED"] and products[0].chips == ["REDL", "REDU"]
    with open_checked(products[0].path) as hdul:
        primary, row = hdul[0].header, hdul[1].data[0]
    wave = row["WAVE"]
    assert wave.size == hdul[1].header["NELEM"] == (500 - 20) + (400 - 20)
    assert np.all(np.diff(wave) > 0)
    assert np.max(np.diff(wave)) == pytest.approx((5820.0 + 10 * 0.035 - (4730.0 + 489 * 0.029)) / 10.0)
    assert primary["DISPELEM"] == "CD#3"
    assert primary["LAMNLIN"] == 560 + 556
    assert primary["SPEC_RES"] == pytest.approx(36482.7)
    assert 0.0001152 < primary["LAMRMS"] < 0.0001383
    assert "GAIN" not in primary and "DETRON" not in primary and "EFFRON" not in primary


def test_both_arms_among_the_products_give_two_products(tmp_path):
    spectra = {"BLUE": spectrum_of("BLUE"), "REDL": spectrum_of("REDL"), "REDU": spectrum_of("REDU")}
    products = convert(tmp_path, "BLUE", spectra)
    assert sorted(p.arm for p in products) == ["BLUE", "RED"]
    assert len({p.path for p in products}) == 2


@pytest.mark.parametrize("missing", ["error", "line table", "red chip"])
def test_missing_inputs_are_data_errors(tmp_path, missing):
    spectra = {"REDL": spectrum_of("REDL"), "REDU": spectrum_of("REDU")}
    if missing == "red chip":
        del spectra["REDU"]
    products = [item for chip, (flux, error) in spectra.items() for item in write_merged(tmp_path, chip, flux, error)]
    if missing == "error":
        products = [(path, catg) for path, catg in products if catg != "ERRORBAR_SCI_POINT_REDU"]
    qc = {chip: values for chip, values in LINE_TABLE_QC.items() if missing != "line table" or chip != "REDU"}
    headers = {ARCFILES[0]: raw_header(ARCFILES[0], 60370.99)}
    with pytest.raises(DataError):
        convert_science_products(science_ab("RED"), products, headers, qc, tmp_path)


def test_overlapping_chips_are_refused(tmp_path):
    flux, error = spectrum_of("REDL")
    (tmp_path / "copy").mkdir()
    products = write_merged(tmp_path, "REDL", flux, error) + [
        (path, catg.replace("REDL", "REDU")) for path, catg in write_merged(tmp_path / "copy", "REDL", flux, error)
    ]
    headers = {ARCFILES[0]: raw_header(ARCFILES[0], 60370.99)}
    with pytest.raises(DataError, match="not increasing"):
        convert_science_products(science_ab("RED"), products, headers, LINE_TABLE_QC, tmp_path)


def test_line_table_qc_is_read_per_chip_from_the_calibrations(tmp_path):
    header = fits.Header()
    header["HIERARCH ESO QC RESOLMED"] = 39618.4
    header["HIERARCH ESO QC LINE RESIDRMS WLU"] = 0.000493
    fits.PrimaryHDU(header=header).writeto(tmp_path / "linetable_blue.fits")
    fits.PrimaryHDU().writeto(tmp_path / "masterbias_blue.fits")
    calibrations = [(tmp_path / "linetable_blue.fits", "LINE_TABLE_BLUE"), (tmp_path / "masterbias_blue.fits", "MASTER_BIAS_BLUE")]
    qc = read_line_table_qc(calibrations, load_sdp_rules("UVES_ECHELLE"))
    assert qc == {"BLUE": {"QC.RESOLMED": 39618.4, "QC.LINE.RESIDRMS.WLU": 0.000493}}


def test_cosmic_ray_residuals_are_flagged_as_spikes_and_lines_are_not():
    rng = np.random.default_rng(3)
    wave = np.linspace(500.0, 510.0, 2000)
    flux = 1000.0 + rng.normal(0.0, 10.0, wave.size)
    flux *= 1.0 - 0.6 * np.exp(-0.5 * ((wave - 503.0) / 0.02) ** 2)  # an absorption line, 4 px wide
    flux[1200:1202] += 2500.0  # a two-pixel cosmic-ray residual, 3.5x the continuum
    error = np.full(wave.size, 10.0)
    columns = chip_columns(ChipSpectrum(chip="REDL", wave_nm=wave, flux=flux, error=error))
    flagged = np.flatnonzero(columns.qual & SPIKE)
    assert set(flagged) == {1199, 1200, 1201, 1202}


def test_written_bytes_are_those_astropy_writes_itself(blue, tmp_path):
    """write_sdp lays the table out with numpy (astropy byte-swaps array columns element by element):
    the file must be the one astropy's own add_checksum + writeto give."""
    with fits.open(blue.path) as written:
        headers = [hdu.header.copy() for hdu in written]
        columns = [fits.Column(name=c.name, format=c.format, unit=c.unit, array=np.asarray(written[1].data[c.name]).astype(
            written[1].data[c.name].dtype.newbyteorder("="))) for c in written[1].columns]
    for header in headers:
        del header["CHECKSUM"], header["DATASUM"]

    def rebuilt() -> fits.HDUList:
        return fits.HDUList([fits.PrimaryHDU(header=headers[0]), fits.BinTableHDU.from_columns(columns, header=headers[1])])

    by_astropy = rebuilt()
    for hdu in by_astropy:
        hdu.add_checksum(when="phoenix SDP conversion")
    by_astropy.writeto(tmp_path / "astropy.fits", checksum=False)
    write_sdp(rebuilt(), tmp_path / "phoenix.fits")
    assert (tmp_path / "phoenix.fits").read_bytes() == (tmp_path / "astropy.fits").read_bytes()
