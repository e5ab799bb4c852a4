"""The pipeline's QC keyword dictionary (ESO-DFS-DIC.UVES_QC): names, types, units, descriptions.

Dictionary names are written with spaces and an `i` standing for an index
(`QC OUTi RON MASTER`); products carry concrete dotted names (`QC.OUT1.RON.MASTER`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shared.errors import ConfigError

_FIELD = re.compile(r"^(?P<key>[A-Z][A-Za-z ]*?):\s*(?P<value>.*)$")
_CONTINUATION = re.compile(r"^\s+\S")


@dataclass(frozen=True)
class QcKeyword:
    name: str
    """Dictionary name, dotted, with `i` for an index (`QC.OUTi.RON.MASTER`)."""
    type: str
    unit: str
    comment: str
    description: str

    @property
    def numeric(self) -> bool:
        return self.type in ("double", "float", "integer", "int")


@dataclass(frozen=True)
class QcDictionary:
    keywords: tuple[QcKeyword, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_patterns", [(_name_pattern(k.name), k) for k in self.keywords])
        object.__setattr__(self, "_found", {})

    def lookup(self, parameter: str) -> QcKeyword | None:
        """The entry describing a concrete dotted QC name, e.g. QC.ORD12.OBJ.SN → QC.ORDi.OBJ.SN.

        Remembered per name: a product carries hundreds of QC keywords, each matched against
        every dictionary pattern only the first time it is seen."""
        found: dict[str, QcKeyword | None] = self._found  # type: ignore[attr-defined]
        if parameter not in found:
            found[parameter] = next((k for pattern, k in self._patterns if pattern.fullmatch(parameter)), None)  # type: ignore[attr-defined]
        return found[parameter]


def parse_dictionary(text: str) -> QcDictionary:
    """Every `Parameter Name:` block of an ESO DFS dictionary; a repeated name keeps its first entry."""
    keywords: dict[str, QcKeyword] = {}
    for block in _parameter_blocks(text):
        name = ".".join(block.get("Parameter Name", "").split())
        if name and name not in keywords:
            keywords[name] = QcKeyword(
                name=name,
                type=block.get("Type", "").strip().lower(),
                unit=block.get("Unit", "").strip(),
                comment=block.get("Comment Field", "").strip(),
                description=" ".join(block.get("Description", "").split()),
            )
    return QcDictionary(tuple(keywords.values()))


def load_dictionary(path: Path) -> QcDictionary:
    try:
        dictionary = parse_dictionary(path.read_text(errors="replace"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the QC dictionary: {error.strerror}") from None
    if not dictionary.keywords:
        raise ConfigError(f"{path}: no `Parameter Name:` entries: not an ESO DFS dictionary")
    return dictionary


def _parameter_blocks(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    last_key = ""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        field = _FIELD.match(line)
        if field and not line[0].isspace():
            key, value = field.group("key").strip(), field.group("value")
            if key == "Parameter Name":
                current = {}
                blocks.append(current)
            if current is not None:
                current[key] = value
                last_key = key
        elif current is not None and last_key and _CONTINUATION.match(line):
            current[last_key] += " " + line.strip()
    return blocks


def _name_pattern(dotted: str) -> re.Pattern[str]:
    """QC.OUTi.RON.MASTER → ^QC\\.OUT\\d+\\.RON\\.MASTER$ (a trailing lower-case i is an index)."""
    parts = [re.escape(part[:-1]) + r"\d+" if part.endswith("i") and part[:-1].isupper() else re.escape(part)
             for part in dotted.split(".")]
    return re.compile(r"\.".join(parts))
