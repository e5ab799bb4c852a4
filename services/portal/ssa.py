"""IVOA Simple Spectral Access 1.1 (pure): queryData parameters in, VOTables out.

Parameter names are case-insensitive (DAL). POS=ra,dec[;ICRS] with SIZE the *diameter* in
degrees (SSA 1.1 §8.4.1.2); BAND=lo/hi in metres (either end open, or one value that must be
covered); TIME=start/end as ISO 8601 or MJD; FORMAT=all|compliant|native|fits|metadata;
MAXREC ≤ MAX_MAXREC. Errors are VOTables with QUERY_STATUS=ERROR.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from astropy.io.votable.tree import Info, Param, Resource, TableElement, VOTableFile
from astropy.time import Time

from shared.archive.geometry import Cone
from shared.archive.models import Product
from shared.votable import Column, results_document, to_bytes

DEFAULT_SIZE_DEG = 0.1
DEFAULT_MAXREC = 1000
MAX_MAXREC = 10_000
METRES_PER_NM = 1e-9
FITS_MIME = "application/fits"
FORMATS_WITH_PRODUCTS = {"all", "compliant", "native", "fits", FITS_MIME}
PUBLISHER = "phoenix"
PUBLISHER_DID_BASE = "ivo://phoenix.archive/products"
MAX_TEXT_PARAMETER = 255


class SsaError(ValueError):
    """A bad queryData request; the message goes to the client as the QUERY_STATUS text."""


@dataclass(frozen=True)
class SsaQuery:
    cone: Cone | None = None
    wavelength_min_nm: float | None = None
    wavelength_max_nm: float | None = None
    time_min_mjd: float | None = None
    time_max_mjd: float | None = None
    target: str | None = None
    maxrec: int = DEFAULT_MAXREC
    metadata_only: bool = False
    formats_match: bool = True
    echoed: dict[str, str] = field(default_factory=dict)


def parse_query(parameters: Mapping[str, str]) -> SsaQuery:
    """SsaQuery from raw query parameters, or SsaError naming what is wrong."""
    upper = {name.upper(): value for name, value in parameters.items()}
    request = upper.get("REQUEST")
    if request is None or request.lower() != "querydata":
        raise SsaError(f"REQUEST must be queryData, got {request!r}")
    text_too_long = [name for name, value in upper.items() if len(value) > MAX_TEXT_PARAMETER]
    if text_too_long:
        raise SsaError(f"{text_too_long[0]} is longer than {MAX_TEXT_PARAMETER} characters")
    format_ = upper.get("FORMAT", "all").strip().lower()
    band = parse_band(upper["BAND"]) if upper.get("BAND") else (None, None)
    times = parse_time(upper["TIME"]) if upper.get("TIME") else (None, None)
    return SsaQuery(
        cone=parse_cone(upper.get("POS"), upper.get("SIZE")),
        wavelength_min_nm=band[0],
        wavelength_max_nm=band[1],
        time_min_mjd=times[0],
        time_max_mjd=times[1],
        target=upper.get("TARGETNAME") or None,
        maxrec=parse_maxrec(upper.get("MAXREC")),
        metadata_only=format_ == "metadata",
        formats_match=format_ in FORMATS_WITH_PRODUCTS,
        echoed={name: upper[name] for name in ("POS", "SIZE", "BAND", "TIME", "FORMAT", "MAXREC") if name in upper},
    )


def parse_cone(pos: str | None, size: str | None) -> Cone | None:
    if pos is None:
        if size is not None:
            raise SsaError("SIZE needs POS")
        return None
    coordinates, _, frame = pos.partition(";")
    if frame and frame.strip().upper() not in ("ICRS", "ICRS-TOPO", ""):
        raise SsaError(f"POS frame {frame!r} not supported: use ICRS")
    parts = coordinates.split(",")
    if len(parts) != 2:
        raise SsaError(f"POS must be ra,dec in degrees, got {pos!r}")
    ra, dec = (_number(part, "POS") for part in parts)
    diameter = _number(size, "SIZE") if size is not None else DEFAULT_SIZE_DEG
    if not 0.0 <= ra <= 360.0:
        raise SsaError(f"POS right ascension {ra} outside [0, 360]")
    if not -90.0 <= dec <= 90.0:
        raise SsaError(f"POS declination {dec} outside [-90, 90]")
    if not 0.0 < diameter <= 360.0:
        raise SsaError(f"SIZE {diameter} outside (0, 360] degrees")
    return Cone(ra, dec, diameter / 2.0)


def parse_band(band: str) -> tuple[float | None, float | None]:
    """BAND in metres → (min, max) in nm; a single value asks for spectra that cover it."""
    if "/" not in band:
        value = _positive_metres(band)
        return value, value
    low_text, _, high_text = band.partition("/")
    low = _positive_metres(low_text) if low_text.strip() else None
    high = _positive_metres(high_text) if high_text.strip() else None
    if low is not None and high is not None and low > high:
        raise SsaError(f"BAND lower end {low_text} is above its upper end {high_text}")
    return low, high


def parse_time(time: str) -> tuple[float | None, float | None]:
    """TIME as start/end (ISO 8601 or MJD; either end open) or one instant → MJD bounds."""
    start_text, slash, end_text = time.partition("/")
    start = _mjd(start_text) if start_text.strip() else None
    end = (_mjd(end_text) if end_text.strip() else None) if slash else start
    if start is not None and end is not None and start > end:
        raise SsaError(f"TIME start {start_text} is after its end {end_text}")
    return start, end


def parse_maxrec(maxrec: str | None) -> int:
    if maxrec is None or not maxrec.strip():
        return DEFAULT_MAXREC
    if not maxrec.strip().isdigit():
        raise SsaError(f"MAXREC must be a non-negative integer, got {maxrec!r}")
    value = int(maxrec)
    if value > MAX_MAXREC:
        raise SsaError(f"MAXREC {value} is above this service's limit of {MAX_MAXREC}")
    return value


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SsaError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise SsaError(f"{name}: {text!r} is not a finite number")
    return value


def _positive_metres(text: str) -> float:
    metres = _number(text, "BAND")
    if not 0.0 < metres < 1.0:
        raise SsaError(f"BAND {text} is not a wavelength in metres (0 < λ < 1)")
    return metres / METRES_PER_NM


def _mjd(text: str) -> float:
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(value) or not 0.0 <= value <= 200_000.0:
            raise SsaError(f"TIME {text} is not a plausible MJD")
        return value
    try:
        return float(Time(text, format="isot", scale="utc").mjd)
    except ValueError:
        try:
            return float(Time(text, format="iso", scale="utc").mjd)
        except ValueError:
            raise SsaError(f"TIME {text!r} is neither ISO 8601 nor an MJD") from None


COLUMNS: tuple[Column, ...] = (
    Column("ssa_pubdid", "char", "ssa:Curation.PublisherDID", "meta.ref.ivoid", arraysize="*"),
    Column("ssa_title", "char", "ssa:DataID.Title", "meta.title;meta.dataset", arraysize="*"),
    Column("ssa_targname", "char", "ssa:Target.Name", "meta.id;src", arraysize="*"),
    Column("ssa_targetpos", "double", "ssa:Target.Pos", "pos.eq;src", "deg", "2"),
    Column("ssa_location", "double", "ssa:Char.SpatialAxis.Coverage.Location.Value", "pos.eq", "deg", "2"),
    Column("ssa_specstart", "double", "ssa:Char.SpectralAxis.Coverage.Bounds.Start", "em.wl;stat.min", "m"),
    Column("ssa_specend", "double", "ssa:Char.SpectralAxis.Coverage.Bounds.Stop", "em.wl;stat.max", "m"),
    Column("ssa_specmid", "double", "ssa:Char.SpectralAxis.Coverage.Location.Value", "em.wl;instr.bandpass", "m"),
    Column("ssa_specext", "double", "ssa:Char.SpectralAxis.Coverage.Bounds.Extent", "em.wl;instr.bandwidth", "m"),
    Column("ssa_respower", "double", "ssa:Char.SpectralAxis.ResPower", "spect.resolution"),
    Column("ssa_tstart", "double", "ssa:Char.TimeAxis.Coverage.Bounds.Start", "time.start;obs.exposure", "d"),
    Column("ssa_tstop", "double", "ssa:Char.TimeAxis.Coverage.Bounds.Stop", "time.end;obs.exposure", "d"),
    Column("ssa_tmid", "double", "ssa:Char.TimeAxis.Coverage.Location.Value", "time.epoch", "d"),
    Column("ssa_timeext", "double", "ssa:Char.TimeAxis.Coverage.Support.Extent", "time.duration;obs.exposure", "s"),
    Column("ssa_dateobs", "char", "ssa:DataID.Date", "time.epoch;obs", arraysize="*"),
    Column("ssa_instrument", "char", "ssa:DataID.Instrument", "meta.id;instr", arraysize="*"),
    Column("ssa_collection", "char", "ssa:DataID.Collection", "meta.id", arraysize="*"),
    Column("ssa_snr", "double", "ssa:Derived.SNR", "stat.snr"),
    Column("ssa_dstype", "char", "ssa:Dataset.Type", "meta.code.class", arraysize="*"),
    Column("ssa_calib", "short", "ssa:Dataset.CalibLevel", "meta.code;obs.calib"),
    Column("ssa_publisher", "char", "ssa:Curation.Publisher", "meta.curation", arraysize="*"),
    Column("ssa_format", "char", "ssa:Access.Format", "meta.code.mime", arraysize="*"),
    Column("ssa_reference", "char", "ssa:Access.Reference", "meta.ref.url", arraysize="*"),
    Column("ssa_size", "long", "ssa:Access.Size", "phys.size;meta.file", "kbyte"),
    Column("phx_version", "int", "", "meta.version"),
    Column("phx_status", "char", "", "meta.code.status", arraysize="*"),
)


def row_of(product: Product, base_url: str) -> tuple[object, ...]:
    ra = product.ra if product.ra is not None else math.nan
    dec = product.dec if product.dec is not None else math.nan
    low_m = _metres(product.wavelength_min_nm)
    high_m = _metres(product.wavelength_max_nm)
    t_start = _or_nan(product.t_min)
    t_stop = _or_nan(product.t_max)
    t_mid = (t_start + t_stop) / 2.0
    date_obs = Time(t_mid, format="mjd").iso if math.isfinite(t_mid) else ""
    return (
        f"{PUBLISHER_DID_BASE}?{product.product_id}",
        f"{product.instrument} {product.arm} spectrum of {product.target_name or 'unknown target'}".replace("  ", " "),
        product.target_name,
        np.array([ra, dec]),
        np.array([ra, dec]),
        low_m,
        high_m,
        (low_m + high_m) / 2.0,
        high_m - low_m,
        _or_nan(product.resolving_power),
        t_start,
        t_stop,
        t_mid,
        _or_nan(product.exposure_seconds),
        date_obs,
        product.instrument,
        product.release_name or "",
        _or_nan(product.snr),
        "Spectrum",
        product.calib_level,
        PUBLISHER,
        FITS_MIME,
        f"{base_url}api/products/{product.product_id}/file",
        max(1, math.ceil(product.file_size_bytes / 1024)),
        product.version,
        product.status,
    )


def result_votable(query: SsaQuery, products: Sequence[Product], base_url: str, overflow: bool) -> bytes:
    """The queryData answer: QUERY_STATUS OK (or OVERFLOW when MAXREC cut the result)."""
    votable, resource = _results_resource("OVERFLOW" if overflow else "OK", "")
    _echo_parameters(votable, resource, query)
    table = TableElement(votable, ID="results", name="results")
    resource.tables.append(table)
    table.fields.extend(column.field(votable, column.name) for column in COLUMNS)
    rows = [] if query.metadata_only else [row_of(p, base_url) for p in products]
    table.create_arrays(len(rows))
    for index, row in enumerate(rows):
        table.array[index] = row
    return to_bytes(votable)


def error_votable(message: str) -> bytes:
    votable, _ = _results_resource("ERROR", message)
    return to_bytes(votable)


def _results_resource(status: str, message: str) -> tuple[VOTableFile, Resource]:
    votable, resource = results_document(status, message)
    protocol = Info(name="SERVICE_PROTOCOL", value="1.1")
    protocol.content = "SSAP"
    resource.infos.append(protocol)
    return votable, resource


def _echo_parameters(votable: VOTableFile, resource: Resource, query: SsaQuery) -> None:
    """INPUT:* params: what a client may send (FORMAT=metadata lists them), with the values used."""
    descriptions = {
        "POS": ("char", "pos.eq", "deg", "Search centre ra,dec (ICRS)"),
        "SIZE": ("double", "instr.fov", "deg", "Diameter of the search cone"),
        "BAND": ("char", "em.wl", "m", "Spectral range lo/hi covered by the spectrum"),
        "TIME": ("char", "time.interval", "", "Observing time range (ISO 8601 or MJD) start/end"),
        "FORMAT": ("char", "meta.code.mime", "", "all, compliant, native, fits, application/fits or metadata"),
        "MAXREC": ("int", "", "", f"Maximum rows returned (≤ {MAX_MAXREC})"),
        "TARGETNAME": ("char", "meta.id;src", "", "Target name"),
    }
    defaults = {"SIZE": str(DEFAULT_SIZE_DEG), "MAXREC": str(DEFAULT_MAXREC)}
    for name, (datatype, ucd, unit, description) in descriptions.items():
        param = Param(
            votable, ID=f"INPUT_{name}", name=f"INPUT:{name}", datatype=datatype, arraysize="*" if datatype == "char" else None,
            ucd=ucd or None, unit=unit or None, value=query.echoed.get(name, defaults.get(name, "")),
        )
        param.description = description
        resource.params.append(param)


def _metres(nm: float | None) -> float:
    return nm * METRES_PER_NM if nm is not None else math.nan


def _or_nan(value: float | None) -> float:
    return float(value) if value is not None else math.nan
