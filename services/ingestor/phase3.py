"""Phase 3 validation of an ESO SDP 1D spectrum (PRODCATG = SCIENCE.SPECTRUM), before archiving.

The rules are those of ../shared/reference/eso-formats.md: an empty primary HDU with the
mandatory product keywords, of the right types; exactly one BINTABLE extension with one row
whose array cells (WAVE, FLUX, ERR, QUAL) have NELEM elements, with the units, UCDs and utypes
the SDP standard gives; WAVE increasing without NaN; valid CHECKSUM/DATASUM; no BUNIT or CDi_j;
PROVi naming raw files of the AB and ASSONi naming files among its products.

`violations(...)` returns every broken rule as a sentence; an empty list means the file passes.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

PRODCATG = "SCIENCE.SPECTRUM"
COLUMNS = ("WAVE", "FLUX", "ERR", "QUAL")


@dataclass(frozen=True)
class Kind:
    """A FITS value type, as Python reads it (bool is an int in Python, never in FITS)."""

    name: str
    types: tuple[type, ...]

    def accepts(self, value: object) -> bool:
        return isinstance(value, self.types) and (self.name == "boolean" or not isinstance(value, bool))


STRING = Kind("string", (str,))
FLOAT = Kind("float", (float, int))
INTEGER = Kind("integer", (int,))
BOOLEAN = Kind("boolean", (bool,))

MANDATORY_PRIMARY: Mapping[str, Kind] = {
    "PRODCATG": STRING,
    "ORIGIN": STRING,
    "TELESCOP": STRING,
    "INSTRUME": STRING,
    "OBJECT": STRING,
    "RA": FLOAT,
    "DEC": FLOAT,
    "RADESYS": STRING,
    "EXPTIME": FLOAT,
    "TEXPTIME": FLOAT,
    "MJD-OBS": FLOAT,
    "MJD-END": FLOAT,
    "OBSTECH": STRING,
    "FLUXCAL": STRING,
    "PROCSOFT": STRING,
    "REFERENC": STRING,
    "SPECSYS": STRING,
    "CONTNORM": BOOLEAN,
    "TOT_FLUX": BOOLEAN,
    "FLUXERR": FLOAT,
    "WAVELMIN": FLOAT,
    "WAVELMAX": FLOAT,
    "SPEC_BIN": FLOAT,
    "SPEC_RES": FLOAT,
    "SNR": FLOAT,
    "CHECKSUM": STRING,
    "DATASUM": STRING,
}
OPTIONAL_PRIMARY: Mapping[str, Kind] = {
    "EQUINOX": FLOAT,
    "PROG_ID": STRING,
    "NCOMBINE": INTEGER,
    "PRODLVL": INTEGER,
    "DISPELEM": STRING,
    "EXT_OBJ": BOOLEAN,
    "SPEC_ERR": FLOAT,
    "SPEC_SYE": FLOAT,
    "LAMNLIN": INTEGER,
    "LAMRMS": FLOAT,
    "GAIN": FLOAT,
    "DETRON": FLOAT,
    "EFFRON": FLOAT,
}
ALLOWED_VALUES: Mapping[str, tuple[str, ...]] = {
    "PRODCATG": (PRODCATG,),
    "ORIGIN": ("ESO",),
    "OBSTECH": ("ECHELLE",),
    "FLUXCAL": ("ABSOLUTE", "UNCALIBRATED"),
    "SPECSYS": ("TOPOCENT", "BARYCENT"),
}
MANDATORY_EXTENSION: Mapping[str, Kind] = {"NELEM": INTEGER, "CHECKSUM": STRING, "DATASUM": STRING}


@dataclass(frozen=True)
class ColumnRule:
    ucds: tuple[str, ...]
    utype: str
    unit: str | None
    """Required TUNIT, or None when the standard leaves it to the product (flux units)."""


COLUMN_RULES: Mapping[str, ColumnRule] = {
    "WAVE": ColumnRule(("em.wl;obs.atmos", "em.wl"), "spec:Data.SpectralAxis.Value", "nm"),
    "FLUX": ColumnRule(("phot.flux.density;em.wl;meta.main",), "spec:Data.FluxAxis.Value", None),
    "ERR": ColumnRule(("stat.error;phot.flux.density;meta.main",), "spec:Data.FluxAxis.Accuracy.StatError", None),
    "QUAL": ColumnRule(("meta.code.qual;meta.main",), "spec:Data.FluxAxis.Accuracy.QualityStatus", None),
}
_INDEXED = re.compile(r"(PROV|ASSON)(\d+)")
_FORBIDDEN = re.compile(r"BUNIT|CD\d+_\d+")


def validate_file(path: Path, raw_files: Collection[str], product_files: Collection[str]) -> list[str]:
    """Every Phase 3 rule the file at `path` breaks (empty: it passes)."""
    try:
        with fits.open(path, memmap=False) as hdul:
            hdul.verify("exception")
            return violations(hdul, raw_files, product_files)
    except (OSError, ValueError, fits.VerifyError) as error:
        return [f"not a readable FITS file: {error}"]


def violations(hdul: fits.HDUList, raw_files: Collection[str], product_files: Collection[str]) -> list[str]:
    primary = hdul[0]
    problems = primary_problems(primary.header, primary.data is not None)
    problems += provenance_problems(primary.header, raw_files, product_files)
    problems += extension_problems(hdul[1:])
    problems += checksum_problems(hdul)
    return problems


def primary_problems(header: fits.Header, has_data: bool) -> list[str]:
    problems = ["the primary HDU must be empty (no data array)"] if has_data else []
    problems += keyword_problems(header, MANDATORY_PRIMARY, mandatory=True, where="primary")
    problems += keyword_problems(header, OPTIONAL_PRIMARY, mandatory=False, where="primary")
    for key, allowed in ALLOWED_VALUES.items():
        value = header.get(key)
        if isinstance(value, str) and value not in allowed:
            problems.append(f"{key} is {value!r}, must be {' or '.join(repr(a) for a in allowed)}")
    return problems + forbidden_keyword_problems(header, "primary")


def keyword_problems(header: fits.Header, kinds: Mapping[str, Kind], *, mandatory: bool, where: str) -> list[str]:
    problems = []
    for key, kind in kinds.items():
        if key not in header:
            if mandatory:
                problems.append(f"mandatory keyword {key} missing from the {where} header")
            continue
        value = header[key]
        if not kind.accepts(value):
            problems.append(f"{key} must be a {kind.name}, not {type(value).__name__} {value!r} ({where} header)")
    return problems


def forbidden_keyword_problems(header: fits.Header, where: str) -> list[str]:
    return [f"{key} is not allowed in an SDP spectrum ({where} header)" for key in header if _FORBIDDEN.fullmatch(key)]


def provenance_problems(header: fits.Header, raw_files: Collection[str], product_files: Collection[str]) -> list[str]:
    indexed = _indexed_keywords(header)
    provs = indexed.get("PROV", {})
    problems = [] if provs else ["no PROV1: the raw files the spectrum comes from are not named"]
    problems += _index_problems("PROV", provs) + _index_problems("ASSON", indexed.get("ASSON", {}))
    for key, value in provs.items():
        if value not in raw_files:
            problems.append(f"{key} {value!r} is not a raw file of the AB")
    for key, value in indexed.get("ASSON", {}).items():
        if value not in product_files:
            problems.append(f"{key} {value!r} is not among the AB's products")
    return problems


def _indexed_keywords(header: fits.Header) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for key in header:
        match = _INDEXED.fullmatch(key)
        if match:
            found.setdefault(match.group(1), {})[key] = header[key]
    return found


def _index_problems(prefix: str, keys: Mapping[str, object]) -> list[str]:
    problems = [f"{key} is zero-padded; write {prefix}{int(key[len(prefix):])}" for key in keys
                if key[len(prefix)] == "0"]
    numbers = sorted(int(key[len(prefix):]) for key in keys)
    if numbers and numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"{prefix} indices {numbers} are not 1..{len(numbers)}")
    problems += [f"{key} must be a non-empty string" for key, value in keys.items() if not isinstance(value, str) or not value]
    return problems


def extension_problems(extensions: list[fits.hdu.base.ExtensionHDU]) -> list[str]:
    tables = [hdu for hdu in extensions if isinstance(hdu, fits.BinTableHDU)]
    if len(extensions) != 1 or len(tables) != 1:
        kinds = ", ".join(type(hdu).__name__ for hdu in extensions) or "none"
        return [f"exactly one BINTABLE extension expected, found {len(extensions)} extension(s): {kinds}"]
    table = tables[0]
    problems = keyword_problems(table.header, MANDATORY_EXTENSION, mandatory=True, where="extension")
    problems += forbidden_keyword_problems(table.header, "extension")
    problems += column_metadata_problems(table)
    if problems:
        return problems
    return table_content_problems(table)


def column_metadata_problems(table: fits.BinTableHDU) -> list[str]:
    names = [column.name for column in table.columns]
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        return [f"column(s) {', '.join(missing)} missing from the table (has {', '.join(names) or 'none'})"]
    problems = []
    for name, rule in COLUMN_RULES.items():
        index = names.index(name) + 1
        ucd = str(table.header.get(f"TUCD{index}", ""))
        utype = str(table.header.get(f"TUTYP{index}", ""))
        if ucd.lower() not in (allowed.lower() for allowed in rule.ucds):
            problems.append(f"column {name}: TUCD{index} is {ucd!r}, must be {' or '.join(repr(u) for u in rule.ucds)}")
        if utype.lower() != rule.utype.lower():
            problems.append(f"column {name}: TUTYP{index} is {utype!r}, must be {rule.utype!r}")
        if rule.unit is not None and table.header.get(f"TUNIT{index}") != rule.unit:
            problems.append(f"column {name}: TUNIT{index} is {table.header.get(f'TUNIT{index}')!r}, must be {rule.unit!r}")
    return problems


def table_content_problems(table: fits.BinTableHDU) -> list[str]:
    rows = len(table.data) if table.data is not None else 0
    if rows != 1:
        return [f"the SPECTRUM table must have exactly one row, has {rows}"]
    row = table.data[0]
    cells = {name: np.atleast_1d(np.asarray(row[name])) for name in COLUMNS}
    nelem = table.header["NELEM"]
    lengths = {name: cell.size for name, cell in cells.items()}
    problems = [f"column {name} has {size} elements, NELEM is {nelem}" for name, size in lengths.items() if size != nelem]
    if problems:
        return problems
    wave = cells["WAVE"].astype(float)
    if np.isnan(wave).any():
        problems.append(f"WAVE has {int(np.isnan(wave).sum())} NaN value(s)")
    elif np.any(np.diff(wave) <= 0):
        problems.append(f"WAVE is not strictly increasing (first at element {int(np.argmax(np.diff(wave) <= 0)) + 1})")
    if not np.issubdtype(cells["QUAL"].dtype, np.integer):
        problems.append(f"column QUAL must hold integers, holds {cells['QUAL'].dtype}")
    return problems


def checksum_problems(hdul: fits.HDUList) -> list[str]:
    """CHECKSUM/DATASUM of every HDU as astropy computes them (1 = valid, 2 = absent)."""
    problems = []
    for index, hdu in enumerate(hdul):
        where = "primary" if index == 0 else f"extension {index}"
        if "CHECKSUM" in hdu.header and hdu.verify_checksum() != 1:
            problems.append(f"CHECKSUM of the {where} HDU does not match its content")
        if "DATASUM" in hdu.header and hdu.verify_datasum() != 1:
            problems.append(f"DATASUM of the {where} HDU does not match its data")
    return problems
