"""SDP 1D spectra written by hand, following ../shared/reference/eso-formats.md, with ways to break them.

The processor's SDP converter will write the real ones; until then the ingestor's tests build
their own, one valid file plus one spoilt per Phase 3 rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from astropy.io import fits

RAW_FILES = ("UVES.2024-03-01T23:12:01.123.fits", "UVES.2024-03-01T23:40:00.000.fits")
PREVIEW = "sdp_blue.preview.png"


def primary_header(raw_files: Sequence[str] = RAW_FILES, object_name: str = "HD 1234") -> fits.Header:
    header = fits.Header()
    cards: list[tuple[str, object, str]] = [
        ("PRODCATG", "SCIENCE.SPECTRUM", "Data product category"),
        ("ORIGIN", "ESO", "European Southern Observatory"),
        ("TELESCOP", "ESO-VLT-U2", "ESO telescope designation"),
        ("INSTRUME", "UVES", "Instrument name"),
        ("OBJECT", object_name, "Target designation"),
        ("RA", 10.6847, "[deg] Target position (J2000)"),
        ("DEC", -41.2690, "[deg] Target position (J2000)"),
        ("EQUINOX", 2000.0, "Standard FK5"),
        ("RADESYS", "FK5", "Coordinate system"),
        ("EXPTIME", 1200.0, "[s] Exposure time per pixel"),
        ("TEXPTIME", 1200.0, "[s] Total integration time"),
        ("MJD-OBS", 60370.9667, "[d] Start of observations"),
        ("MJD-END", 60370.98059, "[d] End of observations"),
        ("PROG_ID", "094.D-0123(A)", "ESO programme identification"),
        ("OBID1", 1234567, "Observation block ID"),
        ("NCOMBINE", 1, "No. of combined raw science data files"),
        ("OBSTECH", "ECHELLE", "Technique of observation"),
        ("FLUXCAL", "UNCALIBRATED", "Type of flux calibration"),
        ("PROCSOFT", "uves/6.1.8", "ESO pipeline version"),
        ("REFERENC", "", "Bibliographic reference"),
        ("PRODLVL", 2, "Phase 3 product level"),
        ("SPECSYS", "TOPOCENT", "Spectral reference frame"),
        ("EXT_OBJ", False, "True if extended"),
        ("CONTNORM", False, "True if normalised to the continuum"),
        ("TOT_FLUX", False, "True if total source flux"),
        ("FLUXERR", -1.0, "Uncertainty in flux scale (%)"),
        ("WAVELMIN", 326.0, "[nm] Minimum wavelength"),
        ("WAVELMAX", 454.0, "[nm] Maximum wavelength"),
        ("SPEC_BIN", 0.0128, "[nm] Wavelength bin size"),
        ("SPEC_RES", 40000.0, "Spectral resolving power"),
        ("SNR", 46.1, "Median signal-to-noise ratio"),
    ]
    for key, value, comment in cards:
        header[key] = (value, comment)
    for index, raw in enumerate(raw_files, start=1):
        header[f"PROV{index}"] = (raw, "Raw file")
    header["ASSON1"] = (PREVIEW, "Associated file")
    header["ASSOC1"] = ("ANCILLARY.PREVIEW", "Category of associated file")
    return header


def spectrum_table(nelem: int = 500, start_nm: float = 326.0, seed: int = 1) -> fits.BinTableHDU:
    wave = start_nm + np.arange(nelem) * 0.0128
    flux = 1000.0 + np.random.default_rng(seed).normal(0.0, 10.0, nelem)
    columns = [
        fits.Column(name="WAVE", format=f"{nelem}D", unit="nm", array=wave[None, :]),
        fits.Column(name="FLUX", format=f"{nelem}E", unit="adu", array=flux[None, :]),
        fits.Column(name="ERR", format=f"{nelem}E", unit="adu", array=np.full((1, nelem), 10.0)),
        fits.Column(name="QUAL", format=f"{nelem}J", array=np.zeros((1, nelem), dtype=np.int32)),
    ]
    table = fits.BinTableHDU.from_columns(columns, name="SPECTRUM")
    ucds = ("em.wl;obs.atmos", "phot.flux.density;em.wl;meta.main", "stat.error;phot.flux.density;meta.main",
            "meta.code.qual;meta.main")
    utypes = ("spec:Data.SpectralAxis.Value", "spec:Data.FluxAxis.Value", "spec:Data.FluxAxis.Accuracy.StatError",
              "spec:Data.FluxAxis.Accuracy.QualityStatus")
    for index, (ucd, utype) in enumerate(zip(ucds, utypes, strict=True), start=1):
        table.header[f"TUTYP{index}"] = utype
        table.header[f"TUCD{index}"] = ucd
    for key, value in (("VOCLASS", "SPECTRUM V2.0"), ("VOPUB", "ESO/SAF"), ("TITLE", "HD 1234 UVES blue"),
                       ("APERTURE", 0.000278), ("TELAPSE", 1200.0), ("TMID", 60370.9736),
                       ("SPEC_VAL", 390.0), ("SPEC_BW", 128.0), ("NELEM", nelem),
                       ("TDMIN1", float(wave[0])), ("TDMAX1", float(wave[-1]))):
        table.header[key] = value
    return table


def write_sdp(path: Path, *, spoil: Callable[[fits.HDUList], None] | None = None, checksum: bool = True,
              raw_files: Sequence[str] = RAW_FILES, seed: int = 1, object_name: str = "HD 1234") -> Path:
    """A valid SDP spectrum at `path`; `spoil` edits the HDUs before the checksums are written."""
    hdul = fits.HDUList([fits.PrimaryHDU(header=primary_header(raw_files, object_name)), spectrum_table(seed=seed)])
    if spoil is not None:
        spoil(hdul)
    path.parent.mkdir(parents=True, exist_ok=True)
    hdul.writeto(path, checksum=checksum, overwrite=True)
    return path
