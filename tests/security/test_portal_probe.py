"""The security probe of issue 17, repeated: the same kinds of hostile requests (traversal,
injection, oversized input, wrong tokens) plus the findings it reported then (Host header reflected
into links, missing security headers, HEAD refused, server paths in public logs, a query parameter
that bypasses the QC-trend cache), over real HTTP with a hostile Host header on every request.
Every answer is checked for each kind of finding; the test passes with 0 findings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import FastAPI

from tests.security.conftest import RawResponse, ServedPortal, Tokens, raw_request
from tests.security.test_portal_injection import INJECTIONS
from tests.security.test_portal_traversal import PAYLOADS

EVIL_HOST = "evil.example.org:8443"
REQUIRED_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")
MODE = "UVES_ECHELLE"


@dataclass(frozen=True)
class Probe:
    target: str
    method: str = "GET"
    token: str | None = None
    body: bytes = b""


def probes(portal: ServedPortal) -> Iterator[Probe]:
    product, ab = portal.product, portal.ab_ids[0]
    secret = quote(str(portal.data_dir / "secret.fits"), safe="")
    for payload in PAYLOADS:  # traversal
        filled = payload.format(secret=secret)
        for template in ("/api/products/{p}/file", "/api/products/{p}", f"/api/products/{product}/files/{{p}}",
                         "/products/{p}", "/history/ab/{p}", "/static/{p}", f"/history/qc/{MODE}/{{p}}"):
            yield Probe(template.format(p=filled), token=portal.tokens.admin)
    for injection in INJECTIONS:  # injection, in the pages people use and in the API
        value = quote(injection, safe="")
        for target in (f"/api/products?target={value}", f"/search?target={value}", f"/search?ra={value}",
                       f"/ssa?REQUEST=queryData&TARGETNAME={value}", f"/history/{value}",
                       f"/history/qc/{MODE}?raw_type={value}", f"/history/qc/{MODE}/QC.PARAM0?raw_type={value}"):
            yield Probe(target)
    yield Probe("/api/products?" + "target=x&" * 3000)  # limits
    yield Probe("/api/requests", method="POST", body=b"{" * 2_000_000)
    for token in ("nope", portal.tokens.expired, portal.tokens.revoked, portal.tokens.read):  # auth
        yield Probe(f"/api/products/{product}/file", token=token)
        yield Probe("/api/requests", method="POST", token=token, body=b"{}")
    for target in ("/", "/search?target=hd", f"/products/{product}", f"/api/products/{product}",
                   "/api/products?target=HD&limit=1", f"/history/{MODE}/2024-03-01", f"/history/ab/{ab}",
                   f"/history/qc/{MODE}", "/docs", "/history/", "/no/such/page"):  # pages, in both methods
        yield Probe(target)
        yield Probe(target, method="HEAD")


async def findings_of(portal: ServedPortal, probe: Probe) -> tuple[RawResponse, list[str]]:
    headers = Tokens.header(probe.token) if probe.token else {}
    if probe.body:
        headers["Content-Type"] = "application/json"
    response = await raw_request(portal, probe.target, method=probe.method, headers=headers, body=probe.body,
                                 host=EVIL_HOST)
    found = [f"server error {response.status_code}"] if response.status_code >= 500 else []
    found += portal.leaks(response.body, response.headers)
    found += [f"no {name} header" for name in REQUIRED_HEADERS if name not in response.headers]
    if b"evil.example" in response.body or any("evil.example" in v for v in response.headers.values()):
        found.append("the Host header was reflected")
    if response.status_code == 405:
        found.append(f"{probe.method} refused (405)")
    if probe.method == "HEAD" and response.body:
        found.append("HEAD answered with a body")
    return response, [f"{probe.method} {probe.target[:120]}: {finding}" for finding in found]


async def test_the_probe_finds_nothing(portal: ServedPortal, app: FastAPI) -> None:
    findings: list[str] = []
    statuses: dict[tuple[str, str], int] = {}
    sent = 0
    for probe in probes(portal):
        response, found = await findings_of(portal, probe)
        findings += found
        statuses[(probe.method, probe.target)] = response.status_code
        sent += 1
    for (method, target), status in statuses.items():
        if method == "HEAD" and statuses.get(("GET", target)) != status:
            findings.append(f"HEAD {target}: {status}, GET gave {statuses.get(('GET', target))}")
    findings += await public_log_findings(portal)
    findings += await cache_bypass_findings(portal, app)
    assert findings == [], f"{len(findings)} findings in {sent} requests:\n" + "\n".join(findings[:40])
    assert sent > 400


async def public_log_findings(portal: ServedPortal) -> list[str]:
    log = await raw_request(portal, f"/api/products/{portal.product}/files/esorex.log", host=EVIL_HOST)
    if log.status_code != 200 or b"UVES.2024-03-01T23:00:00.000.fits" not in log.body:
        return [f"the public processing log is not served ({log.status_code})"]
    return [f"public log: {leak}" for leak in portal.leaks(log.body)]


async def cache_bypass_findings(portal: ServedPortal, app: FastAPI) -> list[str]:
    """However the query varies, one QC parameter is drawn once (the data does not change here)."""
    trends = app.state.portal.trends
    before = trends.drawn
    variants = ["", "?night_from=2024-01-01", "?night_to=2031-01-01", "?nocache=1", "?_=12345", "?raw_type=",
                "?night_from=1990-01-01&night_to=2030-12-31", "?dpi=600", "?width=100000"]
    for variant in variants * 3:
        response = await raw_request(portal, f"/history/qc/{MODE}/QC.PARAM0{variant}", host=EVIL_HOST)
        if response.status_code != 200:
            return [f"trend{variant}: {response.status_code}"]
    drawn = trends.drawn - before
    return [] if drawn <= 1 else [f"the QC-trend cache was bypassed: {drawn} drawings for one plot"]
