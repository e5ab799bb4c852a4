"""What a public page or file may say about the server (pure): no absolute paths of its folders."""

from __future__ import annotations

import re

# An absolute path's folders: "/srv/phoenix/work/ab-1/UVES.fits" keeps only "UVES.fits". A slash
# after a word character, a dot or ':' (URLs, "a/b", "1/2") starts no path.
SERVER_FOLDERS = re.compile(r"(?<![\w.:/~-])/(?:[^\s/'\"`:;,()<>\[\]{}]+/)+")
TEXT_KINDS = frozenset({"LOG"})


def without_server_paths(text: str) -> str:
    return SERVER_FOLDERS.sub("", text)
