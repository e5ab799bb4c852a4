"""Path traversal in download ids, ancillary names, history and static paths: always 404, and
not a byte of any file outside what the catalogue names.

Requests go out as raw bytes so nothing normalises `..` or decodes `%2F` on the client side.
"""

from __future__ import annotations

import pytest

from tests.security.conftest import FITS_CARD, ServedPortal, Tokens, raw_request

# What an attacker puts where an id or a file name goes. `{secret}` becomes the absolute path of
# a FITS file beside the archive folder.
PAYLOADS = [
    "..%2F..%2Fphoenix.db",
    "..%2Fsecret.fits",
    "..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fphoenix.db",
    "%2E%2E%2Fsecret.fits",
    "..%252F..%252Fphoenix.db",  # double-encoded
    "%252e%252e%252fsecret.fits",
    "%25252e%25252e%25252fsecret.fits",  # triple-encoded
    "%2Fetc%2Fpasswd",  # absolute
    "{secret}",
    "file:{secret}",
    "archive:..%2Fsecret.fits",
    "store:..%2Fsecret.fits",
    "..%5C..%5Cphoenix.db",  # backslashes
    "..%5Csecret.fits",
    "%5C%5C127.0.0.1%5Cshare%5Csecret.fits",
    "..\\secret.fits",
    "PHX.2026-11-24T18:00:00.000.1%00",  # NUL bytes
    "PHX.2026-11-24T18:00:00.000.1%00..%2Fsecret.fits",
    "preview.png%00",
    "%00..%2Fsecret.fits",
    "%E2%80%A4%E2%80%A4%2Fsecret.fits",  # unicode one-dot leaders
    "%EF%BC%8E%EF%BC%8E%2Fsecret.fits",  # fullwidth full stops
    "%EF%BC%8E%EF%BC%8E%EF%BC%8Fsecret.fits",  # fullwidth dots and solidus
    "%C0%AE%C0%AE%2Fsecret.fits",  # overlong UTF-8 dot
    "%C0%AE%C0%AE%C0%AFsecret.fits",
    "%uff0e%uff0e%u2215secret.fits",  # IIS-style
    "....%2F%2F....%2F%2Fsecret.fits",
    "..;%2Fsecret.fits",
    ".",
    "..",
    "%2e",
    "%2e%2e",
    "PHX.2026-11-24T18:00:00.000.1.fits",  # the archive file name is not an id
    "PHX.2026-11-24T18:00:00.000.1.preview.png",
    "PHX.2026-11-24T18:00:00.000.1%2F..%2F..%2Fsecret.fits",
    "preview.png%2F..%2F..%2F..%2Fsecret.fits",
]
# Where the payload goes; {p} is a payload, {product} a real product, {ab} a real AB.
PLACES = [
    "/api/products/{p}/file",
    "/api/products/{p}",
    "/api/products/{product}/files/{p}",
    "/api/products/{p}/files/preview.png",
    "/history/ab/{p}/qc-report",
    "/history/ab/{p}",
    "/history/releases/{p}",
    "/history/UVES_ECHELLE/{p}",
    "/static/{p}",
]
# Literal (not encoded) dot segments and separators in the request target itself.
LITERAL_TARGETS = [
    "/api/products/../../phoenix.db",
    "/api/products/{product}/../../../secret.fits",
    "/api/products/{product}/files/../../../secret.fits",
    "/api/products/{product}/files/..\\..\\secret.fits",
    "/static/../../../secret.fits",
    "/static/../service.py",
    "/static/..%2Fservice.py",
    "/static/%2e%2e/service.py",
    "/static//etc/passwd",
    "/static/portal.css/../../service.py",
    "//etc/passwd",
    "/..%2F..%2Fsecret.fits",
    "/api/products/{product}/files/preview.png/..%2F..%2F..%2Fsecret.fits",
]


def _fill(template: str, portal: ServedPortal, payload: str = "") -> str:
    secret = str(portal.data_dir / "secret.fits").replace("/", "%2F")
    return template.format(p=payload.format(secret=secret), product=portal.product, ab=portal.ab_ids[0])


async def _assert_refused(portal: ServedPortal, *targets: str) -> None:
    """Every target 404 without file content; all failures reported together."""
    wrong = []
    for target in targets:
        response = await raw_request(portal, target, headers=Tokens.header(portal.tokens.admin))
        if response.status_code != 404 or "content-disposition" in response.headers:
            wrong.append((target, response.status_code, response.body[:120]))
        portal.assert_nothing_leaked(response.body, response.headers, target)
    assert not wrong, "\n".join(map(str, wrong))


@pytest.mark.parametrize("place", PLACES)
async def test_traversal_payloads_are_404_and_leak_nothing(portal: ServedPortal, place: str) -> None:
    await _assert_refused(portal, *(_fill(place, portal, payload) for payload in PAYLOADS))


async def test_literal_dot_segments_are_404_and_leak_nothing(portal: ServedPortal) -> None:
    await _assert_refused(portal, *(_fill(target, portal) for target in LITERAL_TARGETS))


async def test_the_controls_are_served(portal: ServedPortal) -> None:
    """The same requests with honest ids and names succeed, so the 404s above are refusals."""
    admin = Tokens.header(portal.tokens.admin)
    product = await raw_request(portal, f"/api/products/{portal.product}/file", headers=admin)
    assert product.status_code == 200 and product.body.startswith(FITS_CARD)
    preview = await raw_request(portal, f"/api/products/{portal.product}/files/preview.png")
    assert preview.status_code == 200 and preview.body.startswith(b"\x89PNG")
    css = await raw_request(portal, "/static/portal.css")
    assert css.status_code == 200


async def test_a_catalogued_name_cannot_open_another_products_files(portal: ServedPortal) -> None:
    """Ancillary names are looked up in the product's own catalogue rows, never joined onto a path."""
    other = portal.product_ids[1]
    names = (f"{other}.fits", f"{other}.preview.png", f"{portal.product}.fits", "phoenix.db", "secret.fits")
    await _assert_refused(portal, *(f"/api/products/{portal.product}/files/{name}" for name in names))


async def test_a_qc_parameter_is_a_name_in_a_query_not_a_path(portal: ServedPortal) -> None:
    """`/history/qc/{mode}/{parameter}` reads no file: a parameter the regex lets through (`.`, `..`)
    is looked up among the mode's recorded parameters, and like any unknown parameter draws nothing (404)."""
    unknown = await raw_request(portal, "/history/qc/UVES_ECHELLE/QC.NO_SUCH_PARAMETER")
    assert unknown.status_code == 404
    for payload in PAYLOADS:
        target = _fill("/history/qc/UVES_ECHELLE/{p}", portal, payload)
        response = await raw_request(portal, target)
        assert response.status_code == 404, (target, response.status_code)
        portal.assert_nothing_leaked(response.body, response.headers, target)
