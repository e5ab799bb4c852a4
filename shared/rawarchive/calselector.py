"""ESO's calSelector answers: association trees, one XML document or a multipart of several.

calSelector (`calselector/v1/associations`, POST `dp_id`=… repeated, `mode`=Raw2Raw|Raw2Master)
answers one `application/xml` association tree for one dataset and a `multipart/form-data`
message of trees for several. A tree names its main files and, nested, the associations of
the calibrations they need; in Raw2Master mode those are ESO's certified master calibrations
(dp_ids starting `M.`), in Raw2Raw mode the raw calibration frames.
"""

from __future__ import annotations

import email.parser
import email.policy
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

from shared.errors import DataError

RAW2RAW = "Raw2Raw"
RAW2MASTER = "Raw2Master"


@dataclass(frozen=True, slots=True)
class AssociatedFile:
    dp_id: str
    category: str


@dataclass(frozen=True, slots=True)
class Association:
    """One node of a tree: its category, its main files, and the associations it needs."""

    category: str
    mode: str | None
    certified: bool
    complete: bool
    main_files: tuple[AssociatedFile, ...]
    associated: tuple[Association, ...]
    messages: tuple[str, ...]

    def files(self) -> list[AssociatedFile]:
        """Every file of the tree once, main files first, depth first."""
        seen: dict[str, AssociatedFile] = {}
        for node in self._nodes():
            for file in node.main_files:
                seen.setdefault(file.dp_id, file)
        return list(seen.values())

    def calibration_files(self) -> list[AssociatedFile]:
        """The files the main files need: every file of the tree except the root's own."""
        own = {file.dp_id for file in self.main_files}
        return [file for file in self.files() if file.dp_id not in own]

    def _nodes(self) -> list[Association]:
        nodes = [self]
        for child in self.associated:
            nodes.extend(child._nodes())
        return nodes


def parse_associations(content: bytes, content_type: str) -> list[Association]:
    """The trees of a calSelector answer, whatever its content type says it is."""
    if "multipart/" in content_type:
        return [parse_association_tree(part) for part in _multipart_bodies(content, content_type)]
    if "xml" in content_type:
        return [parse_association_tree(content)]
    raise DataError(f"calSelector answered {content_type!r}; expected application/xml or multipart/form-data")


def parse_association_tree(xml: bytes) -> Association:
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as error:
        raise DataError(f"calSelector answer is not XML: {error}") from None
    if root.tag != "association":
        raise DataError(f"calSelector answer has root <{root.tag}>, expected <association>")
    return _association(root)


def _association(element: ElementTree.Element) -> Association:
    main = element.find("mainFiles")
    nested = element.find("associatedFiles")
    messages = element.find("messages")
    return Association(
        category=element.get("category", ""),
        mode=element.get("mode"),
        certified=element.get("certified") == "true",
        complete=element.get("complete") == "true",
        main_files=tuple(
            AssociatedFile(dp_id=file.get("name", ""), category=file.get("category", ""))
            for file in (main.findall("file") if main is not None else [])
        ),
        associated=tuple(_association(child) for child in (nested.findall("association") if nested is not None else [])),
        messages=tuple(
            (message.get("text") or message.text or "").strip()
            for message in (messages.findall("message") if messages is not None else [])
        ),
    )


def _multipart_bodies(content: bytes, content_type: str) -> list[bytes]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + content
    )
    if not message.is_multipart():
        raise DataError("calSelector multipart answer has no parts (boundary missing or wrong)")
    return [part.get_payload(decode=True) for part in message.iter_parts()]
