"""Reading what QC measures from stored files: FITS headers, SDP spectra, raw images, simulator truth."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from services.qc.dictionary import QcDictionary
from services.qc.extraction import (
    HEADER_PREFIXES,
    TRUTH_PRO_CATG,
    Measurement,
    Spectrum,
    Truth,
    header_qc,
    saturated_fraction,
    spectrum_measurements,
)
from services.qc.thresholds import ThresholdFile
from shared.contracts import Product, ProductKind, ProductsReady, StagedFile
from shared.errors import DataError
from shared.fitsheader import primary_cards

SATURATED_FRACTION = "RAW.SATURATED.FRACTION"

SPECTRUM_EXTENSION = "SPECTRUM"
SDP_PRIMARY_KEYS = ("SPEC_RES", "ESO INS GRAT1 WLEN", "ESO INS GRAT2 WLEN")
"""What QC reads of an SDP's primary header: its resolving power and the setting's central wavelength."""


def read_header_qc(path: Path) -> dict[str, object]:
    """The primary header's QC keywords (and PRO.DATAMED), ESO keywords without the HIERARCH
    prefix; the other cards are not parsed."""
    try:
        return primary_cards(path, HEADER_PREFIXES)
    except OSError as error:
        raise DataError(f"{path.name}: not a readable FITS file: {error}") from None


def read_sdp_spectrum(path: Path) -> tuple[Spectrum, dict[str, object]] | None:
    """The one-row WAVE/FLUX/ERR/QUAL table of an ESO SDP 1D spectrum and the primary header's
    `SDP_PRIMARY_KEYS`, in one opening of the file; None when it has no SPECTRUM table."""
    try:
        hdul = fits.open(path, memmap=False)
    except OSError:
        return None
    with hdul:
        if SPECTRUM_EXTENSION not in hdul or not isinstance(hdul[SPECTRUM_EXTENSION], fits.BinTableHDU):
            return None
        try:
            row = hdul[SPECTRUM_EXTENSION].data[0]
            columns = {name.upper(): np.asarray(row[name], dtype=float).ravel() for name in row.array.names}
            header = {key: hdul[0].header.get(key) for key in SDP_PRIMARY_KEYS}
            wave_unit = (hdul[SPECTRUM_EXTENSION].columns["WAVE"].unit or "nm").strip().lower()
        except (OSError, KeyError, IndexError) as error:
            raise DataError(f"{path.name}: not an SDP 1D spectrum: {error}") from None
    wave = columns["WAVE"] / 10.0 if wave_unit in ("angstrom", "a") else columns["WAVE"]
    quality = columns.get("QUAL", np.zeros(wave.size))
    return Spectrum(wave, columns["FLUX"], columns["ERR"], quality.astype(int)), header


def read_raw_images(path: Path) -> list[np.ndarray]:
    """Every image of a raw frame, in ADU (BZERO applied)."""
    try:
        with fits.open(path, memmap=False) as hdul:
            return [np.asarray(hdu.data, dtype=np.float32) for hdu in hdul if hdu.is_image and hdu.data is not None]
    except OSError as error:
        raise DataError(f"{path.name}: not a readable raw frame: {error}") from None


def read_truth(path: Path) -> Truth:
    try:
        return Truth.from_document(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"{path.name}: unreadable simulation truth: {error}") from None


def files_to_read(event: ProductsReady, raw_parameters: set[str], present: set[str]) -> list[StagedFile]:
    """The stored files `ProductReader.measure` reads; raw frames only those `present` in the store."""
    products = [p.file for p in event.products
                if p.kind is not ProductKind.ANCILLARY or p.pro_catg == TRUTH_PRO_CATG]
    raws = [raw.staged for raw in event.ab.raw_files if raw.staged is not None and raw.staged.uri in present] \
        if SATURATED_FRACTION in raw_parameters else []
    return products + raws


@dataclass(frozen=True)
class ProductReader:
    """Turns an AB's products (and raw frames), copied from the store, into measurements."""

    dictionary: QcDictionary
    rules: ThresholdFile
    default_resolving_power: float

    def measure(self, event: ProductsReady, raw_parameters: set[str], local: Mapping[str, Path]) -> list[Measurement]:
        """Every measurement of the AB; `local` holds the copies of `files_to_read` by URI."""
        truth = self._truth(event.products, local)
        measurements: list[Measurement] = []
        for product in event.products:
            if product.kind is ProductKind.ANCILLARY:
                continue
            path = local[product.file.uri]
            header = read_header_qc(path)
            qc = {**header_qc(header), **product.qc}
            measurements += [Measurement(product.name, product.pro_catg, name, value, self._unit(name))
                             for name, value in qc.items() if not self._textual(name)]
            sdp = read_sdp_spectrum(path) if product.kind is ProductKind.IDP else None
            if sdp is not None:
                spectrum, primary = sdp
                nominal = self._nominal_range(product.pro_catg, primary, event.ab.raw_match_key)
                resolving_power = float(primary.get("SPEC_RES") or self.default_resolving_power)
                measurements += spectrum_measurements(product.name, product.pro_catg, spectrum, nominal, truth,
                                                      resolving_power)
        if SATURATED_FRACTION in raw_parameters:
            measurements += self._raw_saturation(event, local)
        return measurements

    def _textual(self, parameter: str) -> bool:
        """Identifiers the dictionary declares as strings (QC.DID, QC.TEST1.ID): not parameters to score."""
        keyword = self.dictionary.lookup(parameter)
        return keyword is not None and keyword.type == "string"

    def _unit(self, parameter: str) -> str:
        keyword = self.dictionary.lookup(parameter)
        return keyword.unit if keyword else ""

    def _truth(self, products: list[Product], local: Mapping[str, Path]) -> Truth | None:
        carrier = next((p for p in products if p.kind is ProductKind.ANCILLARY and p.pro_catg == TRUTH_PRO_CATG), None)
        return read_truth(local[carrier.file.uri]) if carrier else None

    def _nominal_range(self, pro_catg: str, header: dict[str, object], match_key: dict[str, str]
                       ) -> tuple[float, float] | None:
        wlen = next((value for value in (header.get("ESO INS GRAT1 WLEN"), header.get("ESO INS GRAT2 WLEN"),
                                         match_key.get("INS.GRAT1.WLEN"), match_key.get("INS.GRAT2.WLEN"))
                     if value not in (None, "")), None)
        if wlen is None:
            return None
        setting = f"{float(wlen):.0f}"  # type: ignore[arg-type]
        chip = pro_catg.rsplit("_", 1)[-1]
        nominal = (self.rules.nominal_range(f"{setting}_{chip}") if chip in ("REDL", "REDU") else None) \
            or self.rules.nominal_range(setting)
        return (nominal.min_nm, nominal.max_nm) if nominal else None

    def _raw_saturation(self, event: ProductsReady, local: Mapping[str, Path]) -> list[Measurement]:
        found = []
        for raw in event.ab.raw_files:
            if raw.staged is None or raw.staged.uri not in local:
                value: object = None
            else:
                value = saturated_fraction(read_raw_images(local[raw.staged.uri]), self.rules.saturation_adu)
            found.append(Measurement(raw.arcfile, raw.category, SATURATED_FRACTION, value, ""))
        return found
