"""Selected cards of a FITS file's primary header, without parsing the rest.

A pipeline product's header holds hundreds of cards; astropy parses every one of them
(about 10 ms per header) when a service needs only its PRO.CATG and QC keywords. Here the
80-character card images are scanned as text and only the wanted ones are parsed, by astropy,
so values come out exactly as `fits.getheader(path)[keyword]` would give them.
"""

from __future__ import annotations

import re
from pathlib import Path

from astropy.io import fits

BLOCK_BYTES = 2880
CARD_BYTES = 80
HIERARCH = "HIERARCH "
CONTINUE = "CONTINUE"
INTEGER = re.compile(r"[+-]?\d+")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?")


def primary_cards(path: Path, prefixes: tuple[str, ...]) -> dict[str, object]:
    """Keyword → value of the primary header's cards whose keyword, as astropy names it
    (`ESO QC OUT1 RON MASTER` for a HIERARCH card), starts with one of `prefixes`.

    Raises OSError for a file that is not FITS or ends inside its primary header.
    """
    images = _card_images(path)
    found: dict[str, object] = {}
    for index, image in enumerate(images):
        keyword = _keyword(image)
        if keyword.startswith(prefixes):
            simple = _simple_value(image)
            if simple is None:  # a string, a long string, or anything unusual: astropy's parser
                card = fits.Card.fromstring("".join([image] + _continued(images, index + 1)))
                found[card.keyword] = card.value
            else:
                found[keyword] = simple[0]
    return found


def _card_images(path: Path) -> list[str]:
    images: list[str] = []
    with open(path, "rb") as stream:
        while True:
            block = stream.read(BLOCK_BYTES)
            if len(block) < BLOCK_BYTES:
                raise OSError(f"{path.name}: the primary header ends before its END card")
            text = block.decode("ascii", errors="replace")
            if not images and not text.startswith("SIMPLE"):
                raise OSError(f"{path.name}: not a FITS file (no SIMPLE card)")
            for start in range(0, BLOCK_BYTES, CARD_BYTES):
                image = text[start:start + CARD_BYTES]
                if image.rstrip() == "END":
                    return images
                images.append(image)


def _keyword(image: str) -> str:
    """`HIERARCH ESO QC A B = 1` → `ESO QC A B`; a standard card's first eight characters."""
    if image.startswith(HIERARCH):
        return " ".join(image[len(HIERARCH):].split("=", 1)[0].split())
    return image[:8].rstrip()


def _simple_value(image: str) -> tuple[bool | int | float] | None:
    """(value,) of a card holding a logical, an integer or a real, else None (left to astropy)."""
    text = image.split("=", 1)[1] if "=" in image else ""
    text = text.split("/", 1)[0].strip()
    if text in ("T", "F"):
        return (text == "T",)
    if NUMBER.fullmatch(text):
        return (int(text),) if INTEGER.fullmatch(text) else (float(text.replace("D", "E").replace("d", "e")),)
    return None


def _continued(images: list[str], start: int) -> list[str]:
    """The CONTINUE cards of a long string value that follow its first card."""
    following = []
    for image in images[start:]:
        if not image.startswith(CONTINUE):
            break
        following.append(image)
    return following
