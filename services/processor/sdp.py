"""ESO SDP 1D spectrum (PRODCATG SCIENCE.SPECTRUM) from uves_obs_scired's merged spectra.

Pure apart from `load_sdp_rules` and `write_sdp`: arrays and values in, an HDUList out.
Format: shared/reference/eso-formats.md, "SDP 1D spectrum"; fixed values and header key
names: `shared/instruments/<mode>/sdp.toml`.

Pixels and QUAL (a bit mask, 0 = good):
- NO_DATA (1): the merged spectrum has no flux there (the pipeline writes exactly 0 with an
  error of 1 where no order covers the bin). Leading and trailing runs of such pixels are
  padding and are cut off; inner ones stay, flagged.
- BAD_VALUE (2): flux or error not finite, or error ≤ 0.
- SATURATED (4): a saturated raw pixel falls in the bin (when the caller knows where).
- SPIKE (8): a narrow excess the pipeline's cosmic-ray rejection left in: more than
  SPIKE_SIGMAS errors and SPIKE_FRACTION of the level above the running median of
  SPIKE_WINDOW pixels (stellar and telluric lines are wider than a few pixels and in
  absorption), and its neighbour on either side.
FLUX and ERR are set to 0 on NO_DATA and BAD_VALUE pixels (there is no number to keep);
SATURATED and SPIKE pixels keep the pipeline's values, so a user can still look at them.

Several chips (REDL + REDU) are joined in wavelength order; the gap between them is a jump in
WAVE, not padding. Wavelengths are air (the pipeline's CTYPE1 = AWAV) and topocentric.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
from astropy.io import fits
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import DataError
from shared.instruments import load_toml_model, mode_dir

SDP_FILE = "sdp.toml"
NO_DATA = 1
BAD_VALUE = 2
SATURATED = 4
SPIKE = 8
SPIKE_WINDOW = 11
SPIKE_SIGMAS = 5.0
SPIKE_FRACTION = 0.25
ANGSTROM_PER_NM = 10.0
SECONDS_PER_DAY = 86_400.0
ARCSEC_PER_DEG = 3_600.0

COLUMN_UCD = {
    "WAVE": "em.wl;obs.atmos",
    "FLUX": "phot.flux.density;em.wl;meta.main",
    "ERR": "stat.error;phot.flux.density;meta.main",
    "QUAL": "meta.code.qual;meta.main",
}
COLUMN_UTYPE = {
    "WAVE": "spec:Data.SpectralAxis.Value",
    "FLUX": "spec:Data.FluxAxis.Value",
    "ERR": "spec:Data.FluxAxis.Accuracy.StatError",
    "QUAL": "spec:Data.FluxAxis.Accuracy.QualityStatus",
}
# WAVE in double: float32 would round 680 nm to ~4e-5 nm, a 0.02 km/s error.
FITS_BLOCK_BYTES = 2880
COLUMN_FORMAT = {"WAVE": "D", "FLUX": "E", "ERR": "E", "QUAL": "J"}


class Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FixedKeywords(Rules):
    """Primary-header values that do not depend on the data."""

    PRODCATG: str
    ORIGIN: str
    TELESCOP: str
    INSTRUME: str
    OBSTECH: str
    PRODLVL: int
    FLUXCAL: str
    FLUXERR: float
    SPECSYS: str
    EXT_OBJ: bool
    CONTNORM: bool
    TOT_FLUX: bool
    REFERENC: str


class ExtensionKeywords(Rules):
    VOCLASS: str
    VOPUB: str


class ColumnUnits(Rules):
    WAVE: str
    FLUX: str
    ERR: str


class AncillaryRules(Rules):
    preview_category: str


class ProductPatterns(Rules):
    flux: str = Field(description="Glob on PRO.CATG of the flux spectrum; {chip} is replaced.")
    error: str = Field(description="Glob on PRO.CATG of its error spectrum; {chip} is replaced.")
    line_table: str = Field(description="PRO.CATG of the chip's line table; {chip} is replaced.")


class ArmRules(Rules):
    chips: list[str] = Field(min_length=1, description="Chips joined into one product, any order.")
    central_wavelength: str = Field(description="Raw header key of the grating's central wavelength [nm].")
    slit_width: str = Field(description="Raw header key of the slit width [arcsec].")
    dispelem: dict[str, str] = Field(description="Central wavelength [nm] → DISPELEM.")


class ChipRules(Rules):
    gain: str = Field(description="Raw header key of the output's gain [ADU/e-].")
    read_noise: str = Field(description="Raw header key of the output's read noise [e-].")


class LineTableKeys(Rules):
    resolving_power: str
    lines_in_solution: str
    rms_angstrom: str
    stat_error_angstrom: str
    sys_error_angstrom: str


class SdpRules(Rules):
    instrument_mode: str
    keywords: FixedKeywords
    extension: ExtensionKeywords
    units: ColumnUnits
    ancillary: AncillaryRules
    products: ProductPatterns
    arms: dict[str, ArmRules]
    chips: dict[str, ChipRules]
    line_table_qc: LineTableKeys



def load_sdp_rules(instrument_mode: str) -> SdpRules:
    return load_toml_model(mode_dir(instrument_mode) / SDP_FILE, SdpRules)


def load_all_sdp_rules(instrument_modes: Iterable[str]) -> dict[str, SdpRules]:
    """SDP rules of the modes that convert science to SDP spectra: those with an sdp.toml
    (a mode of master calibrations only, like GIRAFFE_MEDUSA, has none)."""
    return {mode: load_sdp_rules(mode) for mode in instrument_modes if (mode_dir(mode) / SDP_FILE).is_file()}


class WavelengthCalibration(Rules):
    """What the wavelength solution (uves_cal_wavecal's line table QC) says about a spectrum."""

    resolving_power: float = Field(gt=0)
    lines_in_solution: int = Field(ge=0)
    rms_nm: float = Field(ge=0)
    stat_error_nm: float = Field(ge=0)
    sys_error_nm: float = Field(ge=0)

    @classmethod
    def from_qc(cls, qc: Mapping[str, object], keys: LineTableKeys) -> WavelengthCalibration:
        missing = [key for key in keys.model_dump().values() if key not in qc]
        if missing:
            raise DataError(f"the line table has no {', '.join(missing)}")
        return cls(
            resolving_power=qc[keys.resolving_power],
            lines_in_solution=qc[keys.lines_in_solution],
            rms_nm=float(qc[keys.rms_angstrom]) / ANGSTROM_PER_NM,  # type: ignore[arg-type]
            stat_error_nm=float(qc[keys.stat_error_angstrom]) / ANGSTROM_PER_NM,  # type: ignore[arg-type]
            sys_error_nm=float(qc[keys.sys_error_angstrom]) / ANGSTROM_PER_NM,  # type: ignore[arg-type]
        )


def combined_calibration(parts: Sequence[WavelengthCalibration]) -> WavelengthCalibration:
    """One set of values for a product made of several chips, each with its own solution.

    Lines add up and the rms is that of all lines together; the resolving power and the
    errors are the least favourable chip's, so that no part of the spectrum is overstated.
    """
    lines = sum(p.lines_in_solution for p in parts)
    weights = [p.lines_in_solution / lines if lines else 1.0 / len(parts) for p in parts]
    return WavelengthCalibration(
        resolving_power=min(p.resolving_power for p in parts),
        lines_in_solution=lines,
        rms_nm=float(np.sqrt(sum(w * p.rms_nm**2 for w, p in zip(weights, parts, strict=True)))),
        stat_error_nm=max(p.stat_error_nm for p in parts),
        sys_error_nm=max(p.sys_error_nm for p in parts),
    )


class Detector(Rules):
    """GAIN/DETRON/EFFRON: only meaningful for a product from a single detector output."""

    gain_electrons_per_adu: float = Field(gt=0)
    read_noise_electrons: float = Field(ge=0)


class AncillaryFile(Rules):
    name: str
    category: str
    md5: str = Field(pattern=r"^[0-9a-f]{32}$")


class SdpContext(Rules):
    """Everything about a spectrum that is not in its arrays."""

    keywords: FixedKeywords
    extension: ExtensionKeywords
    units: ColumnUnits
    object_name: str
    ra_deg: float
    dec_deg: float
    equinox: float
    radesys: str
    exposure_seconds: float = Field(ge=0, description="Sum over the combined raw frames.")
    mjd_obs: float
    mjd_end: float
    prog_id: str
    obs_ids: list[int]
    provenance: list[str] = Field(min_length=1, description="ARCFILEs of the raw frames.")
    procsoft: str = Field(description="Pipeline that made the spectrum, e.g. uves/6.1.8.")
    dispelem: str
    slit_width_arcsec: float = Field(gt=0)
    title: str
    calibration: WavelengthCalibration
    detector: Detector | None = None
    ancillary: list[AncillaryFile] = Field(default_factory=list)


@dataclass(frozen=True)
class ChipSpectrum:
    """One chip's merged spectrum as the pipeline wrote it, wavelengths converted to nm."""

    chip: str
    wave_nm: np.ndarray
    flux: np.ndarray
    error: np.ndarray
    saturated: np.ndarray | None = None
    """True where a saturated raw pixel falls in the bin; None when not known."""


@dataclass(frozen=True)
class ScienceSpectrum:
    arm: str
    chips: tuple[ChipSpectrum, ...]


@dataclass(frozen=True)
class SdpColumns:
    """The table of an SDP spectrum: one value per pixel, in increasing wavelength."""

    wave: np.ndarray
    flux: np.ndarray
    err: np.ndarray
    qual: np.ndarray

    @property
    def good(self) -> np.ndarray:
        return self.qual == 0

    @property
    def nelem(self) -> int:
        return int(self.wave.size)

    @property
    def median_snr(self) -> float:
        good = self.good
        return float(np.median(self.flux[good] / self.err[good])) if good.any() else 0.0

    @property
    def median_bin_nm(self) -> float:
        return float(np.median(np.diff(self.wave)))


def sdp_columns(spectrum: ScienceSpectrum) -> SdpColumns:
    parts = sorted((chip_columns(chip) for chip in spectrum.chips), key=lambda part: float(part.wave[0]))
    columns = SdpColumns(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("wave", "flux", "err", "qual")))
    if columns.nelem < 2 or not np.all(np.diff(columns.wave) > 0):
        raise DataError(f"{spectrum.arm}: wavelengths of {', '.join(c.chip for c in spectrum.chips)} are not increasing")
    return columns


def chip_columns(chip: ChipSpectrum) -> SdpColumns:
    """Flag, clean and trim one chip's spectrum."""
    flux, error = np.asarray(chip.flux, dtype=np.float64), np.asarray(chip.error, dtype=np.float64)
    wave = np.asarray(chip.wave_nm, dtype=np.float64)
    if not (wave.shape == flux.shape == error.shape) or wave.ndim != 1:
        raise DataError(f"{chip.chip}: wavelength, flux and error arrays differ in shape")
    if not np.all(np.isfinite(wave)):
        raise DataError(f"{chip.chip}: wavelengths are not all finite")
    bad = ~np.isfinite(flux) | ~np.isfinite(error) | ~(error > 0)
    no_data = ~bad & (flux == 0.0)
    saturated = np.zeros(wave.size, dtype=bool) if chip.saturated is None else np.asarray(chip.saturated, dtype=bool)
    unusable = no_data | bad
    spike = spikes(np.where(unusable, np.nan, flux), error) & ~unusable
    qual = NO_DATA * no_data + BAD_VALUE * bad + SATURATED * saturated + SPIKE * spike
    usable = np.flatnonzero(~unusable)
    if usable.size == 0:
        raise DataError(f"{chip.chip}: the merged spectrum has no usable pixel")
    keep = slice(int(usable[0]), int(usable[-1]) + 1)
    return SdpColumns(
        wave=wave[keep],
        flux=np.where(unusable, 0.0, flux)[keep],
        err=np.where(unusable, 0.0, error)[keep],
        qual=qual.astype(np.int32)[keep],
    )


def spikes(flux: np.ndarray, error: np.ndarray) -> np.ndarray:
    """True on narrow positive outliers (cosmic-ray residuals) and their neighbours; NaN flux is ignored."""
    half = SPIKE_WINDOW // 2
    padded = np.pad(flux, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, SPIKE_WINDOW)
    with np.errstate(invalid="ignore"):
        level = window_nanmedian(windows)
        excess = flux - level
        core = (excess > SPIKE_SIGMAS * error) & (excess > SPIKE_FRACTION * np.abs(level))
    flagged = core.copy()
    flagged[1:] |= core[:-1]
    flagged[:-1] |= core[1:]
    return flagged


def window_nanmedian(windows: np.ndarray) -> np.ndarray:
    """np.nanmedian(windows, axis=1) for short rows, a few times faster: each row sorted once (NaN
    last), the middle of its finite values taken; NaN for a row without any."""
    ordered = np.sort(windows, axis=1)
    finite = np.count_nonzero(~np.isnan(windows), axis=1)
    rows = np.arange(ordered.shape[0])
    return (ordered[rows, np.maximum(finite - 1, 0) // 2] + ordered[rows, finite // 2]) / 2


def to_sdp(columns: SdpColumns, context: SdpContext) -> fits.HDUList:
    """The SDP's HDUs from the spectrum's columns (`sdp_columns`, computed once per spectrum)."""
    primary = fits.PrimaryHDU(header=primary_header(columns, context))
    table = fits.BinTableHDU.from_columns(table_columns(columns, context.units), header=extension_header(columns, context))
    add_column_metadata(table.header)
    return fits.HDUList([primary, table])


def write_sdp(hdul: fits.HDUList, path: Path) -> Path:
    """Write with CHECKSUM/DATASUM on both HDUs (computed over what is written).

    The same inputs give the same bytes: astropy would otherwise stamp the current time into the
    CHECKSUM comment, and an unchanged reprocessing would look like a new product version.
    astropy byte-swaps a table of array columns one array element at a time in Python (about a
    second per spectrum, for the checksum and again for writing), so the file's bytes are laid out
    here with numpy and astropy sums and writes them as read back, big-endian already.
    """
    with fits.open(BytesIO(b"".join(_fits_bytes(hdu) for hdu in hdul))) as laid_out:
        for hdu in laid_out:
            hdu.add_checksum(when="phoenix SDP conversion")
        laid_out.writeto(path, overwrite=True, checksum=False)
    return path


def _fits_bytes(hdu: fits.PrimaryHDU | fits.BinTableHDU) -> bytes:
    """An HDU as a FITS file holds it: the header, then the data big-endian, each padded to 2880 bytes."""
    if hdu.data is None:
        return hdu.header.tostring().encode("ascii")
    data = np.asarray(hdu.data)
    laid_out = data.astype(data.dtype.newbyteorder(">")).tobytes()
    return hdu.header.tostring().encode("ascii") + laid_out + b"\0" * (-len(laid_out) % FITS_BLOCK_BYTES)


def primary_header(columns: SdpColumns, context: SdpContext) -> fits.Header:
    fixed, calibration = context.keywords, context.calibration
    header = fits.Header()
    cards: list[tuple[str, object, str]] = [
        ("PRODCATG", fixed.PRODCATG, "Data product category"),
        ("ORIGIN", fixed.ORIGIN, "European Southern Observatory"),
        ("TELESCOP", fixed.TELESCOP, "ESO telescope designation"),
        ("INSTRUME", fixed.INSTRUME, "Instrument name"),
        ("OBJECT", context.object_name, "Target designation"),
        ("RA", context.ra_deg, "[deg] Spectroscopic target position (J2000)"),
        ("DEC", context.dec_deg, "[deg] Spectroscopic target position (J2000)"),
        ("EQUINOX", context.equinox, "Standard FK5 (years)"),
        ("RADESYS", context.radesys, "Coordinate reference frame"),
        ("EXPTIME", context.exposure_seconds, "[s] Total integration time per pixel"),
        ("TEXPTIME", context.exposure_seconds, "[s] Total integration time of all exposures"),
        ("MJD-OBS", context.mjd_obs, "[d] Start of observations (days)"),
        ("MJD-END", context.mjd_end, "[d] End of observations (days)"),
        ("PROG_ID", context.prog_id, "ESO programme identification"),
    ]
    cards += [(f"OBID{i}", obs_id, "Observation block ID") for i, obs_id in enumerate(context.obs_ids, start=1)]
    cards += [
        ("NCOMBINE", len(context.provenance), "No. of combined raw science data files"),
        ("OBSTECH", fixed.OBSTECH, "Technique of observation"),
        ("FLUXCAL", fixed.FLUXCAL, "Type of flux calibration"),
        ("PROCSOFT", context.procsoft, "ESO pipeline version"),
        ("REFERENC", fixed.REFERENC, "Bibliographic reference"),
    ]
    cards += [(f"PROV{i}", arcfile, "Originating raw science file") for i, arcfile in enumerate(context.provenance, start=1)]
    for i, file in enumerate(context.ancillary, start=1):
        cards += [
            (f"ASSON{i}", file.name, "Associated file name"),
            (f"ASSOC{i}", file.category, "Associated file category"),
            (f"ASSOM{i}", file.md5, "Associated file md5sum"),
        ]
    cards += [
        ("PRODLVL", fixed.PRODLVL, "Phase 3 product level: 2 = science grade"),
        ("DISPELEM", context.dispelem, "Dispersive element name"),
        ("SPECSYS", fixed.SPECSYS, "Reference frame for spectral coordinates"),
        ("EXT_OBJ", fixed.EXT_OBJ, "TRUE if extended"),
        ("CONTNORM", fixed.CONTNORM, "TRUE if normalised to the continuum"),
        ("TOT_FLUX", fixed.TOT_FLUX, "TRUE if all source flux is captured"),
        ("FLUXERR", fixed.FLUXERR, "Uncertainty in flux scale (%)"),
        ("WAVELMIN", float(columns.wave[0]), "[nm] Minimum wavelength"),
        ("WAVELMAX", float(columns.wave[-1]), "[nm] Maximum wavelength"),
        ("SPEC_BIN", columns.median_bin_nm, "[nm] Median wavelength bin width"),
        ("SPEC_RES", calibration.resolving_power, "Reference spectral resolving power"),
        ("SPEC_ERR", calibration.stat_error_nm, "[nm] Statistical error in wavelength"),
        ("SPEC_SYE", calibration.sys_error_nm, "[nm] Systematic error in wavelength"),
        ("LAMNLIN", calibration.lines_in_solution, "Arc lines in the wavelength solution"),
        ("LAMRMS", calibration.rms_nm, "[nm] RMS of the wavelength solution"),
        ("SNR", columns.median_snr, "Median signal to noise ratio per bin"),
    ]
    if context.detector is not None:
        read_noise = context.detector.read_noise_electrons
        cards += [
            ("GAIN", context.detector.gain_electrons_per_adu, "[e-/ADU] Conversion factor"),
            ("DETRON", read_noise, "[e-] Readout noise per output"),
            # One exposure, no stacking: the effective read noise is the detector's.
            ("EFFRON", read_noise, "[e-] Median effective readout noise"),
        ]
    for key, value, comment in cards:
        header[key] = (value, comment)
    return header


def extension_header(columns: SdpColumns, context: SdpContext) -> fits.Header:
    low, high = float(columns.wave[0]), float(columns.wave[-1])
    header = fits.Header()
    for key, value, comment in (
        ("EXTNAME", "SPECTRUM", "Extension name"),
        ("VOCLASS", context.extension.VOCLASS, "VO Data Model"),
        ("VOPUB", context.extension.VOPUB, "VO Publishing Authority"),
        ("TITLE", context.title, "Dataset title"),
        ("OBJECT", context.object_name, "Target designation"),
        ("RA", context.ra_deg, "[deg] Spectroscopic target position (J2000)"),
        ("DEC", context.dec_deg, "[deg] Spectroscopic target position (J2000)"),
        ("APERTURE", context.slit_width_arcsec / ARCSEC_PER_DEG, "[deg] Aperture diameter (slit width)"),
        ("TELAPSE", round((context.mjd_end - context.mjd_obs) * SECONDS_PER_DAY, 3), "[s] Total elapsed time"),
        ("TMID", (context.mjd_obs + context.mjd_end) / 2.0, "[d] MJD mid exposure"),
        ("SPEC_VAL", (low + high) / 2.0, "[nm] Mean wavelength"),
        ("SPEC_BW", high - low, "[nm] Bandpass width = Wmax - Wmin"),
        ("NELEM", columns.nelem, "Length of the data arrays"),
        ("TDMIN1", low, "Start in spectral coordinate"),
        ("TDMAX1", high, "Stop in spectral coordinate"),
    ):
        header[key] = (value, comment)
    return header


def table_columns(columns: SdpColumns, units: ColumnUnits) -> list[fits.Column]:
    n = columns.nelem
    unit_of = {"WAVE": units.WAVE, "FLUX": units.FLUX, "ERR": units.ERR, "QUAL": ""}
    return [
        fits.Column(
            name=name,
            format=f"{n}{COLUMN_FORMAT[name]}",
            unit=unit_of[name] or None,
            array=getattr(columns, name.lower())[np.newaxis, :],
        )
        for name in ("WAVE", "FLUX", "ERR", "QUAL")
    ]


def add_column_metadata(header: fits.Header) -> None:
    """TUCDi and TUTYPi after each column's TUNITi/TFORMi, in column order."""
    for index in range(1, header["TFIELDS"] + 1):
        name = header[f"TTYPE{index}"]
        after = f"TUNIT{index}" if f"TUNIT{index}" in header else f"TFORM{index}"
        header.insert(after, (f"TUTYP{index}", COLUMN_UTYPE[name], ""), after=True)
        header.insert(after, (f"TUCD{index}", COLUMN_UCD[name], ""), after=True)
