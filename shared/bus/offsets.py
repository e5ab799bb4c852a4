"""Which offsets of a partition may be committed while several messages are handled at once."""

from __future__ import annotations


class PartitionOffsets:
    """Tracks in-flight offsets of one partition; offsets arrive in increasing order.

    The committable offset is the lowest still in flight, or one past the highest seen when
    nothing is in flight: every offset below it is finished.
    """

    def __init__(self) -> None:
        self._in_flight: set[int] = set()
        self._next_after_seen: int | None = None
        self.committed: int | None = None

    def started(self, offset: int) -> None:
        self._in_flight.add(offset)
        self._next_after_seen = max(self._next_after_seen or 0, offset + 1)

    def finished(self, offset: int) -> None:
        self._in_flight.discard(offset)

    def committable(self) -> int | None:
        """The offset to commit now, or None when it would not advance the last commit."""
        if self._next_after_seen is None:
            return None
        candidate = min(self._in_flight) if self._in_flight else self._next_after_seen
        if self.committed is not None and candidate <= self.committed:
            return None
        return candidate
