"""The stand-in's TAP service: `dbo.raw` as ESO's `tap_obs` has it, built from the archive's night index.

Supported ADQL (a subset, parsed with sqlglot, then run on an in-memory SQLite table):
one `SELECT [TOP n] <columns | * | COUNT(*)> FROM dbo.raw [WHERE …] [ORDER BY …]`, with
comparisons (`= <> < <= > >=`), `BETWEEN`, `IN (…)`, `LIKE`, `IS [NOT] NULL`, `AND`/`OR`/`NOT`,
arithmetic, and the columns of `DBO_RAW` below. No joins, sub-queries, geometry functions
(`CONTAINS`, `POINT`, `CIRCLE`), uploads, or tables other than `dbo.raw`: those are refused with
a TAP error naming what is not supported.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

import sqlglot
from astropy.io.votable.tree import Info, TableElement
from sqlglot import exp
from sqlglot.errors import ParseError

from shared.rawarchive.eso import night_of_mjd
from shared.rawarchive.models import RawFileInfo
from shared.votable import Column, results_document, to_bytes

TABLE_NAME = "dbo.raw"
DEFAULT_MAXREC = 100_000


@dataclass(frozen=True)
class RawColumn:
    name: str
    sql_type: str
    votable_type: str
    description: str
    keyword: str | None = None
    """Header keyword the value comes from; None for columns derived otherwise."""
    unit: str | None = None


DBO_RAW: tuple[RawColumn, ...] = (
    RawColumn("dp_id", "TEXT", "char", "dataset identifier: the archive file name without .fits"),
    RawColumn("dp_cat", "TEXT", "char", "data product category (DPR.CATG)", "DPR.CATG"),
    RawColumn("dp_type", "TEXT", "char", "data product type (DPR.TYPE)", "DPR.TYPE"),
    RawColumn("dp_tech", "TEXT", "char", "data product technique (DPR.TECH)", "DPR.TECH"),
    RawColumn("instrument", "TEXT", "char", "instrument (INSTRUME)", "INSTRUME"),
    RawColumn("object", "TEXT", "char", "target designation (OBJECT)", "OBJECT"),
    RawColumn("ra", "REAL", "double", "right ascension, J2000 (RA)", "RA", "deg"),
    RawColumn("dec", "REAL", "double", "declination, J2000 (DEC)", "DEC", "deg"),
    RawColumn("date_obs", "TEXT", "char", "start of the exposure, UTC (DATE-OBS)", "DATE-OBS"),
    RawColumn("mjd_obs", "REAL", "double", "start of the exposure, MJD (MJD-OBS)", "MJD-OBS", "d"),
    RawColumn("exposure", "REAL", "double", "exposure time (EXPTIME)", "EXPTIME", "s"),
    RawColumn("prog_id", "TEXT", "char", "programme (OBS.PROG.ID)", "OBS.PROG.ID"),
    RawColumn("ob_id", "INTEGER", "long", "observation block (OBS.ID)", "OBS.ID"),
    RawColumn("tpl_id", "TEXT", "char", "template (TPL.ID)", "TPL.ID"),
    RawColumn("tpl_start", "TEXT", "char", "template start (TPL.START)", "TPL.START"),
    RawColumn("ins_mode", "TEXT", "char", "instrument mode (INS.MODE)", "INS.MODE"),
    RawColumn("origfile", "TEXT", "char", "original file name (ORIGFILE)", "ORIGFILE"),
    RawColumn("night", "TEXT", "char", "night: the evening's date, noon-to-noon UTC (stand-in only)"),
    RawColumn("access_estsize", "INTEGER", "long", "file size, decompressed", None, "kbyte"),
)
COLUMN_NAMES = frozenset(column.name for column in DBO_RAW)
_FUNCTIONS = (exp.Count, exp.Min, exp.Max, exp.Sum, exp.Avg, exp.Abs, exp.Floor, exp.Upper, exp.Lower)
_ALLOWED = (
    exp.Select, exp.From, exp.Where, exp.Order, exp.Ordered, exp.Limit, exp.Table, exp.TableAlias,
    exp.Column, exp.Identifier, exp.Star, exp.Literal, exp.Boolean, exp.Null, exp.Alias, exp.Paren, exp.Neg,
    exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.Between, exp.In, exp.Like,
    exp.Is, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.DPipe, exp.Distinct, *_FUNCTIONS,
)


class AdqlError(ValueError):
    """A query outside the supported ADQL subset, or not ADQL at all."""


def to_sqlite(adql: str, maxrec: int = DEFAULT_MAXREC) -> str:
    """The SQLite statement for `adql` on the table `raw`, with at most `maxrec` rows."""
    try:
        statements = [s for s in sqlglot.parse(adql, read="tsql") if s is not None]
    except ParseError as error:
        raise AdqlError(f"cannot parse the ADQL: {error.errors[0]['description'] if error.errors else error}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise AdqlError("exactly one SELECT statement is supported")
    query = statements[0]
    for node in query.walk():
        if not isinstance(node, _ALLOWED):
            raise AdqlError(f"not supported by this TAP service: {node.key.upper()} ({node.sql(dialect='tsql')[:80]})")
    _check_tables(query)
    _check_columns(query)
    for table in query.find_all(exp.Table):
        table.set("db", None)
    if query.args.get("limit") is None:
        query = query.limit(maxrec)
    else:
        limit = int(query.args["limit"].expression.name)
        query = query.limit(min(limit, maxrec))
    return query.sql(dialect="sqlite")


def _check_tables(query: exp.Select) -> None:
    tables = list(query.find_all(exp.Table))
    names = {f"{t.db}.{t.name}".lower() if t.db else t.name.lower() for t in tables}
    if len(tables) != 1 or names != {TABLE_NAME}:
        raise AdqlError(f"only the table {TABLE_NAME} is served here (asked for: {', '.join(sorted(names)) or 'none'})")


def _check_columns(query: exp.Select) -> None:
    aliases = {alias.alias.lower() for alias in query.find_all(exp.Alias)}
    unknown = sorted({c.name for c in query.find_all(exp.Column)
                      if c.name.lower() not in COLUMN_NAMES and c.name.lower() not in aliases})
    if unknown:
        raise AdqlError(f"unknown column(s) of {TABLE_NAME}: {', '.join(unknown)}")


def row_of(info: RawFileInfo) -> tuple[object, ...]:
    """The `dbo.raw` row of a raw frame of the archive."""
    values: list[object] = []
    for column in DBO_RAW:
        if column.name == "dp_id":
            values.append(info.arcfile.removesuffix(".fits"))
        elif column.name == "night":
            mjd = info.header.get("MJD-OBS")
            values.append((night_of_mjd(float(mjd)) if isinstance(mjd, (int, float)) else info.night).isoformat())
        elif column.name == "access_estsize":
            values.append(info.size_bytes // 1024)
        elif column.name == "instrument":
            values.append(info.header.get("INSTRUME") or info.instrument)
        else:
            values.append(info.header.get(column.keyword) if column.keyword else None)
    return tuple(values)


def run_query(adql: str, frames: Iterable[RawFileInfo], maxrec: int = DEFAULT_MAXREC) -> tuple[list[str], list[tuple]]:
    """Column names and rows of `adql` over `frames`."""
    sql = to_sqlite(adql, maxrec)
    with sqlite3.connect(":memory:") as database:
        columns = ", ".join(f'"{column.name}" {column.sql_type}' for column in DBO_RAW)
        database.execute(f"CREATE TABLE raw ({columns})")
        database.executemany(f"INSERT INTO raw VALUES ({', '.join('?' * len(DBO_RAW))})", map(row_of, frames))
        try:
            cursor = database.execute(sql)
        except sqlite3.Error as error:
            raise AdqlError(f"query failed: {error}") from None
        names = [description[0] for description in cursor.description]
        return names, cursor.fetchall()


def votable_result(names: list[str], rows: list[tuple], overflow: bool = False) -> bytes:
    """A TAP result document: one table, `QUERY_STATUS` OK (or OVERFLOW after the last row)."""
    document, resource = results_document("OK")
    table = TableElement(document)
    resource.tables.append(table)
    by_name = {column.name: column for column in DBO_RAW}
    for index, name in enumerate(names):
        column = by_name.get(name.lower())
        datatype = column.votable_type if column else _datatype_of(row[index] for row in rows)
        table.fields.append(Column(name, datatype, unit=column.unit if column else None).field(document, f"col{index}"))
    table.create_arrays(len(rows))
    for index, row in enumerate(rows):
        table.array[index] = tuple(_cell(value, field.datatype) for value, field in zip(row, table.fields, strict=True))
        table.array.mask[index] = tuple(value is None for value in row)
    if overflow:
        resource.infos.append(Info(name="QUERY_STATUS", value="OVERFLOW"))
    return to_bytes(document)


def votable_error(message: str) -> bytes:
    document, _ = results_document("ERROR", message)
    return to_bytes(document)


def _datatype_of(values: Iterable[object]) -> str:
    kinds = {type(value) for value in values if value is not None}
    if kinds <= {int}:
        return "long"
    if kinds <= {int, float}:
        return "double"
    return "char"


def _cell(value: object, datatype: str) -> object:
    if value is None:
        return "" if datatype == "char" else 0
    return str(value) if datatype == "char" else value


def capabilities_xml(base_url: str) -> str:
    """VOSI capabilities: TAP 1.1 with ADQL, sync and async."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1"
    xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0">
  <capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">
    <interface xsi:type="vs:ParamHTTP" role="std" version="1.1"><accessURL use="base">{escape(base_url)}</accessURL></interface>
    <language><name>ADQL</name><version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>
      <description>a subset: one SELECT on dbo.raw, no joins or geometry</description></language>
    <outputFormat><mime>application/x-votable+xml</mime><alias>votable</alias></outputFormat>
    <retentionPeriod><default>3600</default></retentionPeriod>
    <outputLimit><default unit="row">{DEFAULT_MAXREC}</default><hard unit="row">{DEFAULT_MAXREC}</hard></outputLimit>
  </capability>
  <capability standardID="ivo://ivoa.net/std/VOSI#capabilities">
    <interface xsi:type="vs:ParamHTTP"><accessURL use="full">{escape(base_url)}/capabilities</accessURL></interface>
  </capability>
  <capability standardID="ivo://ivoa.net/std/VOSI#tables">
    <interface xsi:type="vs:ParamHTTP"><accessURL use="full">{escape(base_url)}/tables</accessURL></interface>
  </capability>
</vosi:capabilities>
"""


def tables_xml() -> str:
    """VOSI tableset with `dbo.raw` and its columns."""
    columns = "\n".join(_column_xml(column) for column in DBO_RAW)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<vosi:tableset xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1">
  <schema>
    <name>dbo</name>
    <table type="table">
      <name>{TABLE_NAME}</name>
      <description>raw frames of the archive, one row per file</description>
{columns}
    </table>
  </schema>
</vosi:tableset>
"""


def _column_xml(column: RawColumn) -> str:
    unit = f"<unit>{column.unit}</unit>" if column.unit else ""
    arraysize = ' arraysize="*"' if column.votable_type == "char" else ""
    return (f"        <column><name>{column.name}</name><description>{escape(column.description)}</description>{unit}"
            f'<dataType xsi:type="vs:VOTableType"{arraysize}>{column.votable_type}</dataType></column>')
