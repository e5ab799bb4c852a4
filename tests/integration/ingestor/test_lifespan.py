"""Start-up: settings from the environment, releases saved, a release override checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingestor.service import lifespan
from shared.archive import releases
from shared.bus.runtime import ServiceStart
from shared.errors import ConfigError
from shared.settings import RuntimeSettings


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "observatory").mkdir()
    monkeypatch.delenv("PHOENIX_DATABASE_URL", raising=False)
    monkeypatch.delenv("PHOENIX_STORE_URL", raising=False)
    monkeypatch.setenv("PHOENIX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PHOENIX_ARCHIVE_URL", str(tmp_path / "observatory"))
    return tmp_path / "data"


async def test_start_up_saves_the_releases_and_uses_the_archive_store(environment: Path) -> None:
    async with lifespan(ServiceStart("ingestor", RuntimeSettings())) as ctx:
        async with ctx.db.session() as session:
            saved = await releases.list_releases(session, stream="UVES_ECHELLE")
        assert ctx.files.store.location == (environment / "store").resolve().as_uri()
        assert ctx.release_for("UVES_ECHELLE") == "UVES_ECHELLE_IDP_2026.1"
    assert [r.name for r in saved] == ["UVES_ECHELLE_IDP_2026.1"]
    assert "## Known limits" in saved[0].description


async def test_a_release_override_must_be_a_known_release(environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOENIX_INGESTOR_RELEASE", "NO_SUCH_RELEASE")
    with pytest.raises(ConfigError, match="PHOENIX_INGESTOR_RELEASE='NO_SUCH_RELEASE'"):
        async with lifespan(ServiceStart("ingestor", RuntimeSettings())):
            pass
