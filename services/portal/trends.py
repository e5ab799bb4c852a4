"""The QC-trend cache: each mode's parameter list and each trend PNG are made once per state of the
QC1 data and then served from memory, so a view costs a dictionary look-up.

The state is the newest QC1 row id: recording a night's QC adds rows, which makes every entry
stale. It is read at most every `recheck_seconds`, and an entry is also redrawn after
`max_age_seconds` (rescoring replaces values in place, keeping row ids). Entries are keyed only
by the mode, a parameter and a RAW_TYPE that exist in the data (anything else is a 404 before any
drawing), so no query parameter can make the portal draw: the drawings a client can cause are
bounded by the real parameters. Drawing runs in a worker thread, one at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.adapters.history import ParameterLine, newest_qc1_row, parameter_lines
from services.portal.thresholds import bands_for
from services.portal.trend import trend_png
from shared.archive import qc1

T = TypeVar("T")


@dataclass
class _Entry:
    stamp: int
    made_at: float
    value: Any


@dataclass
class TrendCache:
    max_entries: int = 512
    recheck_seconds: float = 10.0
    max_age_seconds: float = 3600.0
    _entries: OrderedDict[tuple[str, ...], _Entry] = field(default_factory=OrderedDict)
    _stamp: int = -1
    _stamp_read_at: float = float("-inf")
    _drawing: asyncio.Lock = field(default_factory=asyncio.Lock)
    drawn: int = 0
    """PNGs drawn so far (tests and metrics read it)."""

    async def parameters(self, session: AsyncSession, mode: str) -> list[ParameterLine]:
        async def make() -> list[ParameterLine]:
            return await parameter_lines(session, mode)

        return await self._cached(session, ("parameters", mode), make)

    async def png(self, session: AsyncSession, mode: str, parameter: str, raw_type: str | None) -> bytes | None:
        """The trend PNG, or None when the mode has no such parameter (of that RAW_TYPE)."""
        lines = [line for line in await self.parameters(session, mode) if line.parameter == parameter]
        if raw_type is not None:
            lines = [line for line in lines if line.raw_type == raw_type]
        if not lines:
            return None

        async def make() -> bytes:
            values = await qc1.parameter_trend(session, mode, parameter,
                                               night_from=min(line.first_night for line in lines),
                                               night_to=max(line.last_night for line in lines), raw_type=raw_type)
            title = f"{mode} · {parameter}" + (f" · {raw_type}" if raw_type else "")
            async with self._drawing:
                self.drawn += 1
                return await asyncio.to_thread(trend_png, title, values, bands_for(mode, parameter))

        return await self._cached(session, ("png", mode, parameter, raw_type or ""), make)

    async def _cached(self, session: AsyncSession, key: tuple[str, ...], make: Callable[[], Awaitable[T]]) -> T:
        stamp = await self._current_stamp(session)
        entry = self._entries.get(key)
        now = time.monotonic()
        if entry is not None and entry.stamp == stamp and now - entry.made_at < self.max_age_seconds:
            self._entries.move_to_end(key)
            return entry.value
        value = await make()
        self._entries[key] = _Entry(stamp, now, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return value

    async def _current_stamp(self, session: AsyncSession) -> int:
        now = time.monotonic()
        if now - self._stamp_read_at >= self.recheck_seconds:
            self._stamp = await newest_qc1_row(session)
            self._stamp_read_at = now
        return self._stamp
