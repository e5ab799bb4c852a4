"""From a science AB's scired products to SDP products: gather what the SDP header needs (raw
headers, line-table QC, the products' own headers), convert each arm, draw its preview.

File I/O happens only on the paths passed in; `convert_science_products` is the entry point.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np
from astropy.io import fits
from pydantic import BaseModel, ConfigDict

from services.processor.preview import write_preview
from services.processor.sdp import (
    ANGSTROM_PER_NM,
    SECONDS_PER_DAY,
    AncillaryFile,
    ChipSpectrum,
    Detector,
    ScienceSpectrum,
    SdpContext,
    SdpRules,
    WavelengthCalibration,
    combined_calibration,
    load_sdp_rules,
    sdp_columns,
    to_sdp,
    write_sdp,
)
from shared.contracts import AssociationBlock
from shared.errors import DataError
from shared.fitsheader import primary_cards

PIPELINE_ID_KEY = "HIERARCH ESO PRO REC1 PIPE ID"
WAVELENGTH_UNITS_PER_NM = {"angstrom": ANGSTROM_PER_NM, "nm": 1.0}


class SdpProduct(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: Path
    arm: str
    chips: list[str]
    preview_path: Path
    snr: float


def convert_science_products(
    ab: AssociationBlock,
    products: Sequence[tuple[Path, str]],
    raw_headers: Mapping[str, fits.Header],
    line_table_qc: Mapping[str, Mapping[str, object]],
    out_dir: Path,
    rules: SdpRules | None = None,
) -> list[SdpProduct]:
    """One SDP product (+ its preview PNG) per arm found among `products` (path, PRO.CATG).

    `raw_headers`: primary header per raw ARCFILE of the AB; `line_table_qc`: dotted QC keys per
    chip (see `read_line_table_qc`). Raises DataError when something the SDP needs is missing.
    """
    rules = rules or load_sdp_rules(ab.instrument_mode)
    arms = arms_in(products, rules)
    if not arms:
        raise DataError(f"no {rules.products.flux.format(chip='<chip>')} among the products of {ab.ab_id}")
    return [convert_arm(ab, arm, products, raw_headers, line_table_qc, out_dir, rules) for arm in arms]


def convert_arm(
    ab: AssociationBlock,
    arm: str,
    products: Sequence[tuple[Path, str]],
    raw_headers: Mapping[str, fits.Header],
    line_table_qc: Mapping[str, Mapping[str, object]],
    out_dir: Path,
    rules: SdpRules,
) -> SdpProduct:
    chips, headers = zip(
        *(read_chip_spectrum(*chip_files(products, chip, rules), chip) for chip in rules.arms[arm].chips), strict=True
    )
    spectrum = ScienceSpectrum(arm=arm, chips=tuple(chips))
    columns = sdp_columns(spectrum)
    stem = f"{Path(ab.raw_files[0].arcfile).stem}_SDP_{arm}"
    context = sdp_context(ab, spectrum, raw_headers, line_table_qc, procsoft_of(headers), rules)
    preview = write_preview(
        columns, f"{context.title}   median S/N {columns.median_snr:.1f}", rules.units.FLUX, out_dir / f"{stem}.png"
    )
    context = context.model_copy(
        update={"ancillary": [AncillaryFile(name=preview.name, category=rules.ancillary.preview_category, md5=md5_of(preview))]}
    )
    path = write_sdp(to_sdp(columns, context), out_dir / f"{stem}.fits")
    return SdpProduct(path=path, arm=arm, chips=[c.chip for c in chips], preview_path=preview, snr=columns.median_snr)


def arms_in(products: Sequence[tuple[Path, str]], rules: SdpRules) -> list[str]:
    """Arms with a flux spectrum of any of their chips (a missing chip is an error later, not a skip)."""
    return [
        arm
        for arm, arm_rules in rules.arms.items()
        if any(fnmatchcase(catg, rules.products.flux.format(chip=chip)) for chip in arm_rules.chips for _, catg in products)
    ]


def chip_files(products: Sequence[tuple[Path, str]], chip: str, rules: SdpRules) -> tuple[Path, Path]:
    return (
        single_product(products, rules.products.flux.format(chip=chip)),
        single_product(products, rules.products.error.format(chip=chip)),
    )


def single_product(products: Sequence[tuple[Path, str]], pattern: str) -> Path:
    found = [path for path, catg in products if fnmatchcase(catg, pattern)]
    if len(found) != 1:
        raise DataError(f"{len(found)} products match {pattern}, exactly one expected")
    return found[0]


def read_chip_spectrum(flux_path: Path, error_path: Path, chip: str) -> tuple[ChipSpectrum, fits.Header]:
    """A merged 1D spectrum and its error bars; wavelengths from the linear WCS, in nm."""
    with fits.open(flux_path) as hdul:
        header = hdul[0].header.copy()
        flux = np.asarray(hdul[0].data, dtype=np.float64)
    error = np.asarray(fits.getdata(error_path), dtype=np.float64)
    if flux.ndim != 1 or flux.shape != error.shape:
        raise DataError(f"{chip}: {flux_path.name} and {error_path.name} are not 1D spectra of the same length")
    return ChipSpectrum(chip=chip, wave_nm=wavelengths_nm(header, flux.size), flux=flux, error=error), header


def wavelengths_nm(header: fits.Header, size: int) -> np.ndarray:
    # The SDP's WAVE is declared as air wavelengths (UCD em.wl;obs.atmos).
    if header.get("CTYPE1", "").strip() != "AWAV":
        raise DataError(f"spectral axis is {header.get('CTYPE1')!r}, air wavelengths (AWAV) expected")
    unit = header.get("CUNIT1", "").strip().lower()
    if unit not in WAVELENGTH_UNITS_PER_NM:
        raise DataError(f"unknown wavelength unit CUNIT1 = {unit!r}")
    pixels = np.arange(size, dtype=np.float64) + 1.0
    return (header["CRVAL1"] + (pixels - header["CRPIX1"]) * header["CDELT1"]) / WAVELENGTH_UNITS_PER_NM[unit]


def procsoft_of(headers: Iterable[fits.Header]) -> str:
    """The pipeline that made the spectra, as the products themselves say (right for reused jobs too)."""
    versions = {header.get(PIPELINE_ID_KEY) for header in headers}
    if len(versions) != 1 or None in versions:
        raise DataError(f"products name no single pipeline ({PIPELINE_ID_KEY}: {sorted(map(str, versions))})")
    return str(versions.pop())


def sdp_context(
    ab: AssociationBlock,
    spectrum: ScienceSpectrum,
    raw_headers: Mapping[str, fits.Header],
    line_table_qc: Mapping[str, Mapping[str, object]],
    procsoft: str,
    rules: SdpRules,
) -> SdpContext:
    raws = [raw_header(raw_headers, raw.arcfile) for raw in ab.raw_files]
    first, arm = raws[0], rules.arms[spectrum.arm]
    central_nm = float(required(first, arm.central_wavelength))
    object_name = str(required(first, "OBJECT"))
    exposure_seconds = sum(float(required(h, "EXPTIME")) for h in raws)
    return SdpContext(
        keywords=rules.keywords,
        extension=rules.extension,
        units=rules.units,
        object_name=object_name,
        ra_deg=required(first, "RA"),
        dec_deg=required(first, "DEC"),
        equinox=first.get("EQUINOX", 2000.0),
        radesys=first.get("RADESYS") or required(first, "RADECSYS"),
        exposure_seconds=exposure_seconds,
        mjd_obs=min(float(required(h, "MJD-OBS")) for h in raws),
        mjd_end=max(float(h["MJD-OBS"]) + float(h["EXPTIME"]) / SECONDS_PER_DAY for h in raws),
        prog_id=str(required(first, "HIERARCH ESO OBS PROG ID")),
        obs_ids=list(dict.fromkeys(int(required(h, "HIERARCH ESO OBS ID")) for h in raws)),
        provenance=[raw.arcfile for raw in ab.raw_files],
        procsoft=procsoft,
        dispelem=dispelem_of(arm.dispelem, central_nm, spectrum.arm),
        slit_width_arcsec=required(first, arm.slit_width),
        title=f"{object_name} {rules.keywords.INSTRUME} {spectrum.arm} {central_nm:g} nm",
        calibration=calibration_of(spectrum, line_table_qc, rules),
        detector=detector_of(spectrum, first, rules),
    )


def raw_header(raw_headers: Mapping[str, fits.Header], arcfile: str) -> fits.Header:
    if arcfile not in raw_headers:
        raise DataError(f"no header for raw file {arcfile}")
    return raw_headers[arcfile]


def required(header: fits.Header, key: str) -> object:
    if key not in header:
        raise DataError(f"raw header of {header.get('ARCFILE', '?')} has no {key.removeprefix('HIERARCH ')}")
    return header[key]


def dispelem_of(by_central_wavelength: Mapping[str, str], central_nm: float, arm: str) -> str:
    key = f"{central_nm:g}"
    if key not in by_central_wavelength:
        raise DataError(f"no DISPELEM for {arm} {key} nm in sdp.toml")
    return by_central_wavelength[key]


def calibration_of(
    spectrum: ScienceSpectrum, line_table_qc: Mapping[str, Mapping[str, object]], rules: SdpRules
) -> WavelengthCalibration:
    parts = []
    for chip in spectrum.chips:
        if chip.chip not in line_table_qc:
            raise DataError(f"no line table QC for {chip.chip}")
        parts.append(WavelengthCalibration.from_qc(line_table_qc[chip.chip], rules.line_table_qc))
    return parts[0] if len(parts) == 1 else combined_calibration(parts)


def detector_of(spectrum: ScienceSpectrum, first: fits.Header, rules: SdpRules) -> Detector | None:
    """GAIN/DETRON/EFFRON are single numbers: known only for a single-chip product."""
    if len(spectrum.chips) != 1:
        return None
    chip = rules.chips[spectrum.chips[0].chip]
    return Detector(
        gain_electrons_per_adu=1.0 / float(required(first, chip.gain)),
        read_noise_electrons=required(first, chip.read_noise),
    )


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def read_raw_headers(raws: Iterable[tuple[str, Path]]) -> dict[str, fits.Header]:
    """Primary header per ARCFILE, from (arcfile, local path) pairs."""
    return {arcfile: fits.getheader(path, 0) for arcfile, path in raws}


def read_line_table_qc(calibrations: Iterable[tuple[Path, str]], rules: SdpRules) -> dict[str, dict[str, object]]:
    """Dotted QC keys of each chip's line table, from the AB's calibrations (path, PRO.CATG)."""
    by_catg = {catg: path for path, catg in calibrations}
    qc: dict[str, dict[str, object]] = {}
    for chip in rules.chips:
        path = by_catg.get(rules.products.line_table.format(chip=chip))
        if path is not None:
            qc[chip] = dotted_qc(primary_cards(path, ("ESO QC ",)))
    return qc


def dotted_qc(cards: Mapping[str, object]) -> dict[str, object]:
    """`ESO QC LINE RESIDRMS WLU` → `QC.LINE.RESIDRMS.WLU` (the processor's Product.qc naming)."""
    return {".".join(key.removeprefix("ESO ").split()): value for key, value in cards.items()}
