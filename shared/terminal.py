"""What the commands print to a person (pure presentation)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

# Piped into a file or a log, lines are as long as they need: ids are never wrapped or cut.
UNWRAPPED_WIDTH = 400


def console() -> Console:
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=UNWRAPPED_WIDTH)
