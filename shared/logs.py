"""Logging: JSON lines when not on a terminal, with the event context bound by the runtime."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

event_context: contextvars.ContextVar[dict[str, object] | None] = contextvars.ContextVar("event_context", default=None)


class ContextFilter(logging.Filter):
    """Copies the bound event context (correlation id, topic, offset…) onto every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.context = event_context.get() or {}
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "context", {}),
        }
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = getattr(record, "context", {})
        if context:
            text += "  " + " ".join(f"{k}={v}" for k, v in context.items())
        return text


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if sys.stderr.isatty():
        handler.setFormatter(ConsoleFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
