"""Search parameter checks, product ids, and URI resolution that never leaves the archive (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.portal.adapters.files import ArchiveFileResolver
from services.portal.schemas import ProductSearch
from services.portal.search import cone_of, is_product_id, product_query
from shared.archive.catalogue import target_key
from shared.errors import DataError
from tests.support.storage import folder_store


def test_a_cone_needs_all_three_values() -> None:
    assert cone_of(None, None, None) is None
    assert cone_of(10.0, 20.0, 1.0) is not None
    with pytest.raises(DataError, match="together"):
        cone_of(10.0, None, 1.0)


def test_current_only_by_default() -> None:
    assert product_query(ProductSearch()).current_only
    assert not product_query(ProductSearch(include_obsolete=True)).current_only


def test_inverted_ranges_are_refused() -> None:
    with pytest.raises(DataError):
        product_query(ProductSearch(wavelength_min_nm=500.0, wavelength_max_nm=400.0))


def test_empty_form_fields_are_absent_filters() -> None:
    search = ProductSearch.model_validate({"target": "", "ra": " ", "night_from": "", "limit": ""})
    assert (search.target, search.ra, search.night_from, search.limit) == (None, None, None, 100)
    assert not search.given and ProductSearch(target="HD").given


@pytest.mark.parametrize(("name", "key"), [("HD 20794", "hd20794"), ("hd-20794", "hd20794"), ("  ", ""),
                                           ("Alpha Cen A", "alphacena"), ("NGC 6397 #12", "ngc639712")])
def test_target_keys_keep_letters_and_digits_in_lower_case(name: str, key: str) -> None:
    assert target_key(name) == key


@pytest.mark.parametrize(("text", "valid"), [
    ("PHX.2026-11-24T18:00:00.123.1", True), ("..", False), ("../phoenix.db", False), ("/etc/passwd", False),
    ("a/b", False), ("x" * 65, False), ("PHX..1", False),
])
def test_product_ids(text: str, valid: bool) -> None:
    assert is_product_id(text) is valid


async def test_uris_resolve_only_inside_the_archive_or_the_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    (root / "sha256" / "ab").mkdir(parents=True)
    (root / "archive").mkdir()
    (root / "archive" / "PHX.2026-11-24T18:00:00.000.1.fits").write_bytes(b"fits")
    (root / "sha256" / "ab" / "report.png").write_bytes(b"png")
    (tmp_path / "secret").write_bytes(b"secret")
    resolver = ArchiveFileResolver(folder_store(root))
    assert (await resolver.find("archive:PHX.2026-11-24T18:00:00.000.1.fits")).size_bytes == 4
    assert (await resolver.find("store:sha256/ab/report.png")).size_bytes == 3
    for uri in ("archive:../secret", "store:../secret", "store:/etc/passwd",
                f"file://{tmp_path}/secret", str(tmp_path / "secret"), "archive:", "store:sha256/ab",
                "store:sha256/ab/../../../secret", "archive:missing.fits"):
        assert await resolver.find(uri) is None, uri


def test_the_token_command_offers_exactly_the_archive_scopes() -> None:
    """`phoenix token` lists scopes without importing the database models (fast start)."""
    from services.portal.cli import SCOPES
    from shared.archive.models import Scope

    assert SCOPES == tuple(scope.value for scope in Scope)
