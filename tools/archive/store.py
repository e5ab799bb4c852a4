"""The archive on disk: raw frames per night with a checksum index, and the calibration registry.

Layout under the root:
    raw/<INSTRUMENT>/<YYYY-MM-DD>/<ARCFILE>          frames, written by the night simulator
    raw/<INSTRUMENT>/<YYYY-MM-DD>/.phoenix-index.json  cached checksums and headers
    calib/<INSTRUMENT>/<name>.fits                   certified masters
    calib/<INSTRUMENT>/.registry.json                their status (current / retired)
    calib/.incoming/                                 uploads being received
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from shared.errors import DataError
from shared.fileio import fsync_directory, write_atomically
from shared.rawarchive.fitsmeta import compute_checksums, read_fits_metadata
from shared.rawarchive.models import CalibInfo, Header, RawFileInfo
from tools.archive.settings import ArchiveServerSettings

log = logging.getLogger(__name__)

INSTRUMENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
_SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,254}$")
_ARCFILE_TIME = re.compile(r"\.(\d{4}-\d{2}-\d{2})T\d{2}:")
_INDEX_NAME = ".phoenix-index.json"
_REGISTRY_NAME = ".registry.json"
_MJD_UNIX_EPOCH = 40587.0


class NotFound(DataError):
    """No such file in the archive (or a name that may not address one)."""


class Conflict(DataError):
    """The name is taken by different content."""


class InvalidUpload(DataError):
    """An upload that is not a registrable master calibration."""


class InvalidRange(DataError):
    """A listing's night range that runs backwards or is longer than the archive serves."""


def is_safe_file_name(name: str) -> bool:
    """A bare file name: no separators, no `..`, nothing hidden."""
    return bool(_SAFE_FILE_NAME.fullmatch(name)) and ".." not in name


def resolve_inside(root: Path, *parts: str) -> Path | None:
    """`root/parts…` resolved through symlinks, or None when it would leave the root."""
    resolved_root = root.resolve()
    candidate = resolved_root.joinpath(*parts).resolve()
    return candidate if candidate.is_relative_to(resolved_root) else None


def is_inside(root: Path, path: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def _same_exposure(mjd_a: float | None, mjd_b: float | None) -> bool:
    if mjd_a is None or mjd_b is None:
        return mjd_a is mjd_b
    return abs(mjd_a - mjd_b) < 1e-6  # 0.09 s: the same first raw frame


def night_of_mjd(mjd: float, night_start_hour_utc: float) -> date:
    moment = datetime.fromtimestamp((mjd - _MJD_UNIX_EPOCH) * 86400.0, UTC)
    return (moment - timedelta(hours=night_start_hour_utc)).date()


def nights_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def night_range(night: date, night_to: date | None, max_nights: int) -> tuple[date, date]:
    """The first and last night of a listing (`night_to` None: the one night), or `InvalidRange`."""
    last = night_to or night
    if last < night:
        raise InvalidRange(f"night_to {last} is before night {night}")
    if (last - night).days >= max_nights:
        raise InvalidRange(f"{night} to {last} is {(last - night).days + 1} nights: at most {max_nights} per listing")
    return night, last


# ---------------------------------------------------------------- raw frames


class _IndexEntry(BaseModel):
    size_bytes: int
    mtime_ns: int
    info: RawFileInfo


class NightIndex(BaseModel):
    """Per-night cache of file descriptions, valid while a file's size and mtime are unchanged."""

    version: Literal[1] = 1
    entries: dict[str, _IndexEntry] = {}


class RawStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def list_nights(self, instrument: str, first: date, last: date) -> list[RawFileInfo]:
        return [info for night in nights_between(first, last) for info in self.list_night(instrument, night)]

    def list_night(self, instrument: str, night: date) -> list[RawFileInfo]:
        night_dir = resolve_inside(self.root, "raw", instrument, night.isoformat())
        if night_dir is None or not night_dir.is_dir():
            return []
        index = load_night_index(night_dir)
        entries = {
            path.name: self._fresh_entry(index, path, instrument, night)
            for path in self._frames_in(night_dir)
        }
        if entries != index.entries:
            save_night_index(night_dir, NightIndex(entries=entries))
        return [entry.info for entry in entries.values()]

    def list_all(self) -> list[RawFileInfo]:
        """Every raw frame of every instrument and night."""
        raw_root = self.root / "raw"
        if not raw_root.is_dir():
            return []
        return [
            info
            for instrument_dir in sorted(raw_root.iterdir()) if instrument_dir.is_dir()
            for night_dir in sorted(instrument_dir.iterdir()) if _is_night_name(night_dir.name)
            for info in self.list_night(instrument_dir.name, date.fromisoformat(night_dir.name))
        ]

    def find(self, arcfile: str) -> tuple[Path, RawFileInfo]:
        """The file and its (cached) description, wherever the simulator put it."""
        if not is_safe_file_name(arcfile) or not arcfile.endswith(".fits"):
            raise NotFound(f"no raw file {arcfile!r}")
        for night_dir in self._night_dirs_for(arcfile):
            path = resolve_inside(self.root, "raw", night_dir.parent.name, night_dir.name, arcfile)
            if path is not None and path.is_file():
                return path, self._describe_cached(night_dir, night_dir / arcfile)
        raise NotFound(f"no raw file {arcfile!r}")

    def _frames_in(self, night_dir: Path) -> list[Path]:
        frames = []
        for path in sorted(night_dir.iterdir()):
            if not (path.name.endswith(".fits") and is_safe_file_name(path.name)):
                continue
            if not is_inside(self.root, path):
                log.warning("skipping %s: symlink leaves the archive root", path)
                continue
            if path.is_file():
                frames.append(path)
        return frames

    def _fresh_entry(self, index: NightIndex, path: Path, instrument: str, night: date) -> _IndexEntry:
        stat = path.stat()  # before hashing, so a file changing meanwhile is re-read next time
        cached = index.entries.get(path.name)
        if cached and cached.size_bytes == stat.st_size and cached.mtime_ns == stat.st_mtime_ns:
            return cached
        return _IndexEntry(
            size_bytes=stat.st_size, mtime_ns=stat.st_mtime_ns, info=describe_raw(path, instrument, night)
        )

    def _describe_cached(self, night_dir: Path, path: Path) -> RawFileInfo:
        index = load_night_index(night_dir)
        night = date.fromisoformat(night_dir.name)
        entry = self._fresh_entry(index, path, night_dir.parent.name, night)
        if index.entries.get(path.name) != entry:
            save_night_index(night_dir, NightIndex(entries={**index.entries, path.name: entry}))
        return entry.info

    def _night_dirs_for(self, arcfile: str) -> Iterator[Path]:
        """Likely nights first (the date in the name, and the evening before), then every night."""
        raw_root = self.root.resolve() / "raw"
        if not raw_root.is_dir():
            return
        instruments = [d for d in sorted(raw_root.iterdir()) if d.is_dir()]
        stamped = _ARCFILE_TIME.search(arcfile)
        if stamped:
            day = date.fromisoformat(stamped.group(1))
            for night in (day, day - timedelta(days=1)):
                for instrument_dir in instruments:
                    yield instrument_dir / night.isoformat()
        for instrument_dir in instruments:
            yield from (d for d in sorted(instrument_dir.iterdir()) if _is_night_name(d.name))


def _is_night_name(name: str) -> bool:
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return len(name) == 10


def describe_raw(path: Path, instrument: str, night: date) -> RawFileInfo:
    checksums = compute_checksums(path)
    metadata = read_fits_metadata(path)
    if metadata.error:
        log.warning("raw file %s is not usable FITS: %s", path, metadata.error)
    return RawFileInfo(
        arcfile=path.name,
        instrument=instrument,
        night=night,
        size_bytes=checksums.size_bytes,
        md5=checksums.md5,
        sha256=checksums.sha256,
        header=metadata.header,
        extensions=metadata.extensions,
        error=metadata.error,
    )


def load_night_index(night_dir: Path) -> NightIndex:
    index_path = night_dir / _INDEX_NAME
    try:
        return NightIndex.model_validate_json(index_path.read_bytes())
    except FileNotFoundError:
        return NightIndex()
    except (OSError, ValueError) as error:  # a stale format or a torn file: rebuild it
        log.warning("ignoring unreadable index %s: %s", index_path, error)
        return NightIndex()


def save_night_index(night_dir: Path, index: NightIndex) -> None:
    try:
        write_atomically(night_dir / _INDEX_NAME, index.model_dump_json())
    except OSError as error:  # a read-only archive still lists, only slower
        log.warning("cannot write index in %s: %s", night_dir, error)


# ---------------------------------------------------------------- calibrations


class CalibRegistry(BaseModel):
    version: Literal[1] = 1
    entries: dict[str, CalibInfo] = {}


def calib_name(name_or_filename: str) -> str:
    return name_or_filename.removesuffix(".fits")


class CalibStore:
    def __init__(self, root: Path, setting_keys: tuple[str, ...], night_start_hour_utc: float) -> None:
        self.root = root
        self.setting_keys = setting_keys
        self.night_start_hour_utc = night_start_hour_utc

    def new_staging_path(self) -> Path:
        """Where an upload is received: on the store's file system, so registering it is a rename."""
        incoming = self.root / "calib" / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        return incoming / f"{uuid.uuid4().hex}.part"

    def list(self, instrument: str, pro_catg: str | None = None, include_retired: bool = False) -> list[CalibInfo]:
        if self._instrument_dir(instrument, create=False) is None:
            return []
        with self._locked(instrument):
            registry = self._load_synced(instrument)
        return sorted(
            (
                info
                for info in registry.entries.values()
                if (pro_catg is None or info.pro_catg == pro_catg) and (include_retired or info.status == "current")
            ),
            key=lambda info: (info.pro_catg, info.mjd_obs or 0.0, info.name),
        )

    def find(self, name: str, instrument: str | None = None) -> tuple[Path, CalibInfo]:
        name = calib_name(name)
        if not is_safe_file_name(f"{name}.fits"):
            raise NotFound(f"no calibration {name!r}")
        for candidate in [instrument] if instrument else self._instruments():
            info = self.list(candidate, include_retired=True)
            match = next((entry for entry in info if entry.name == name), None)
            path = resolve_inside(self.root, "calib", candidate, f"{name}.fits")
            if match and path is not None and path.is_file():
                return path, match
        raise NotFound(f"no calibration {name!r}")

    def register(self, name: str, staged: Path, instrument: str | None = None) -> tuple[CalibInfo, bool]:
        """Registers the staged upload, retiring the current master it supersedes.

        Returns the entry and whether it is new; the same name with the same content is a no-op.
        """
        name = calib_name(name)
        try:
            if not is_safe_file_name(f"{name}.fits"):
                raise InvalidUpload(f"invalid calibration name {name!r}")
            info = self._describe_calib(name, staged, instrument)
            self._check_name_free_elsewhere(info)
            with self._locked(info.instrument):
                registry = self._load_synced(info.instrument)
                existing = registry.entries.get(name)
                if existing is not None:
                    if existing.sha256 != info.sha256:
                        raise Conflict(f"calibration {name!r} already exists with other content")
                    return existing, False
                info = self._retire_superseded(registry, info)
                target_dir = self._instrument_dir(info.instrument, create=True)
                os.replace(staged, target_dir / info.filename)
                fsync_directory(target_dir)
                self._save(info.instrument, registry.model_copy(update={"entries": {**registry.entries, name: info}}))
        finally:
            staged.unlink(missing_ok=True)
        log.info("registered calibration %s (%s), replaces %s", name, info.pro_catg, info.replaces)
        return info, True

    def retire(self, name: str, instrument: str | None = None) -> CalibInfo:
        _, found = self.find(name, instrument)
        with self._locked(found.instrument):
            registry = self._load_synced(found.instrument)
            info = registry.entries[found.name]
            if info.status == "retired":
                return info
            info = info.model_copy(update={"status": "retired", "retired_at": _now()})
            self._save(found.instrument, registry.model_copy(update={"entries": {**registry.entries, info.name: info}}))
        log.info("retired calibration %s", info.name)
        return info

    def _describe_calib(self, name: str, path: Path, instrument: str | None) -> CalibInfo:
        metadata = read_fits_metadata(path)
        if metadata.error:
            raise InvalidUpload(f"not a FITS file: {metadata.error}")
        header = metadata.header
        pro_catg = header.get("PRO.CATG")
        if not pro_catg:
            raise InvalidUpload("no HIERARCH ESO PRO CATG in the primary header")
        header_instrument = header.get("INSTRUME")
        if instrument and header_instrument and str(header_instrument) != instrument:
            raise InvalidUpload(f"INSTRUME is {header_instrument!r}, not {instrument!r}")
        instrument = instrument or (str(header_instrument) if header_instrument else None)
        if not instrument or not re.fullmatch(INSTRUMENT_PATTERN, instrument):
            raise InvalidUpload(f"cannot tell the instrument (INSTRUME={header_instrument!r})")
        mjd = header.get("MJD-OBS")
        mjd_obs = float(mjd) if isinstance(mjd, (int, float)) and not isinstance(mjd, bool) else None
        checksums = compute_checksums(path)
        return CalibInfo(
            name=name,
            filename=f"{name}.fits",
            instrument=instrument,
            pro_catg=str(pro_catg),
            mjd_obs=mjd_obs,
            night=night_of_mjd(mjd_obs, self.night_start_hour_utc) if mjd_obs is not None else None,
            setting=self._setting_of(header),
            size_bytes=checksums.size_bytes,
            md5=checksums.md5,
            sha256=checksums.sha256,
            status="current",
            registered_at=_now(),
        )

    def _setting_of(self, header: Header) -> Header:
        return {key: header[key] for key in self.setting_keys if key in header}

    def _check_name_free_elsewhere(self, info: CalibInfo) -> None:
        for other in self._instruments():
            if other != info.instrument and any(e.name == info.name for e in self.list(other, include_retired=True)):
                raise Conflict(f"calibration {info.name!r} already exists for {other}")

    @staticmethod
    def _retire_superseded(registry: CalibRegistry, info: CalibInfo) -> CalibInfo:
        """Retires (in `registry`) every current master `info` supersedes; returns `info` naming the latest.

        A master supersedes another version of itself: same PRO.CATG and setting, made from the
        same raw frames (same MJD-OBS). Two masters of one night from different raw frames (the
        afternoon's and the morning's biases) are both kept current.
        """
        superseded = sorted(
            (
                entry
                for entry in registry.entries.values()
                if entry.status == "current"
                and entry.pro_catg == info.pro_catg
                and _same_exposure(entry.mjd_obs, info.mjd_obs)
                and entry.setting == info.setting
            ),
            key=lambda entry: entry.registered_at,
        )
        for entry in superseded:
            registry.entries[entry.name] = entry.model_copy(
                update={"status": "retired", "retired_at": info.registered_at, "replaced_by": info.name}
            )
        return info.model_copy(update={"replaces": superseded[-1].name}) if superseded else info

    def _load_synced(self, instrument: str) -> CalibRegistry:
        """The registry, adopting masters copied in by hand and forgetting files deleted by hand."""
        directory = self._instrument_dir(instrument, create=False)
        if directory is None:
            return CalibRegistry()
        registry = _load_registry(directory / _REGISTRY_NAME)
        entries = {name: info for name, info in registry.entries.items() if (directory / info.filename).is_file()}
        orphans = sorted(
            (path for path in directory.glob("*.fits") if is_safe_file_name(path.name) and calib_name(path.name) not in entries),
            key=lambda path: path.stat().st_mtime_ns,
        )
        synced = CalibRegistry(entries=entries)
        for path in orphans:
            self._adopt(synced, path, instrument)
        if synced != registry:
            self._save(instrument, synced)
        return synced

    def _adopt(self, registry: CalibRegistry, path: Path, instrument: str) -> None:
        try:
            info = self._describe_calib(calib_name(path.name), path, instrument)
        except InvalidUpload as error:
            log.warning("ignoring %s in the calibration store: %s", path, error)
            return
        info = self._retire_superseded(registry, info)
        registry.entries[info.name] = info
        log.info("adopted calibration %s found on disk", info.name)

    def _save(self, instrument: str, registry: CalibRegistry) -> None:
        directory = self._instrument_dir(instrument, create=True)
        write_atomically(directory / _REGISTRY_NAME, registry.model_dump_json(indent=1))

    def _instruments(self) -> list[str]:
        calib_root = self.root / "calib"
        if not calib_root.is_dir():
            return []
        return [d.name for d in sorted(calib_root.iterdir()) if d.is_dir() and re.fullmatch(INSTRUMENT_PATTERN, d.name)]

    def _instrument_dir(self, instrument: str, create: bool) -> Path | None:
        if not re.fullmatch(INSTRUMENT_PATTERN, instrument):
            return None
        directory = resolve_inside(self.root, "calib", instrument)
        if directory is not None and create:
            directory.mkdir(parents=True, exist_ok=True)
        return directory if directory is not None and directory.is_dir() else None

    @contextlib.contextmanager
    def _locked(self, instrument: str) -> Iterator[None]:
        """Serialises registry changes across threads and processes sharing this root."""
        lock_path = self.root / "calib" / f".{instrument}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)


def stores(settings: ArchiveServerSettings) -> tuple[RawStore, CalibStore]:
    """The raw-frame and calibration stores of the archive folder `settings.root`."""
    raw = RawStore(settings.root)
    calib = CalibStore(settings.root, settings.calib_setting_keys, settings.night_start_hour_utc)
    return raw, calib


def _load_registry(path: Path) -> CalibRegistry:
    try:
        return CalibRegistry.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return CalibRegistry()


def _now() -> datetime:
    return datetime.now(UTC)
