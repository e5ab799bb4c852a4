"""IVOA VOTable answers, as the DAL protocols (SSA, TAP) give them: a `results` resource whose
QUERY_STATUS says OK, OVERFLOW or ERROR, tables of declared columns, and the document as bytes."""

from __future__ import annotations

import io
from dataclasses import dataclass

from astropy.io.votable.tree import Field, Info, Resource, VOTableFile


@dataclass(frozen=True)
class Column:
    """One FIELD of a result table; a `char` column is variable length unless `arraysize` says otherwise."""

    name: str
    datatype: str
    utype: str | None = None
    ucd: str | None = None
    unit: str | None = None
    arraysize: str | None = None

    def field(self, document: VOTableFile, field_id: str) -> Field:
        arraysize = self.arraysize or ("*" if self.datatype == "char" else None)
        return Field(
            document, name=self.name, ID=field_id, datatype=self.datatype, arraysize=arraysize,
            utype=self.utype or None, ucd=self.ucd or None, unit=self.unit,
        )


def results_document(status: str, message: str | None = None) -> tuple[VOTableFile, Resource]:
    """A document with one `results` resource and its QUERY_STATUS (the message as its text)."""
    document = VOTableFile()
    resource = Resource(type="results")
    document.resources.append(resource)
    query_status = Info(name="QUERY_STATUS", value=status)
    query_status.content = message or None
    resource.infos.append(query_status)
    return document, resource


def to_bytes(document: VOTableFile) -> bytes:
    buffer = io.BytesIO()
    document.to_xml(buffer)
    return buffer.getvalue()
