"""API tokens: the secret is shown once, stored only hashed, and checked for expiry, revocation and scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from shared.archive import ArchiveDatabase
from shared.archive.models import ApiToken, Scope
from shared.archive.tokens import create_token, grants, hash_secret, is_usable, list_tokens, revoke_token

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


async def new_token(db: ArchiveDatabase, *scopes: Scope, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    async with db.session() as s:
        return await create_token(s, "portal user", scopes, expires_at=expires_at)


async def verify(db: ArchiveDatabase, secret: str, scope: Scope, now: datetime = NOW) -> ApiToken | None:
    """The token of `secret` if it is usable at `now` and grants `scope` (the portal's check)."""
    async with db.session() as s:
        token = await s.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    return token if token is not None and is_usable(token, now) and grants(token, scope) else None


async def test_the_right_secret_with_a_granted_scope_verifies(db: ArchiveDatabase) -> None:
    token, secret = await new_token(db, Scope.READ, Scope.DOWNLOAD)
    verified = await verify(db, secret, Scope.DOWNLOAD)
    assert verified is not None and verified.token_id == token.token_id
    assert verified.scopes == ["download", "read"]


async def test_the_secret_is_not_stored(db: ArchiveDatabase) -> None:
    _, secret = await new_token(db, Scope.READ)
    async with db.session() as s:
        stored = (await s.scalars(select(ApiToken))).one()
    assert secret not in (stored.token_hash, stored.name)
    assert len(stored.token_hash) == 64


async def test_a_wrong_secret_fails(db: ArchiveDatabase) -> None:
    _, secret = await new_token(db, Scope.READ)
    assert await verify(db, secret + "x", Scope.READ) is None
    assert await verify(db, "", Scope.READ) is None


async def test_an_expired_token_fails(db: ArchiveDatabase) -> None:
    _, secret = await new_token(db, Scope.READ, expires_at=NOW + timedelta(hours=1))
    assert await verify(db, secret, Scope.READ, now=NOW) is not None
    assert await verify(db, secret, Scope.READ, now=NOW + timedelta(hours=1)) is None


async def test_a_revoked_token_fails(db: ArchiveDatabase) -> None:
    token, secret = await new_token(db, Scope.READ)
    async with db.session() as s:
        assert await revoke_token(s, token.token_id, at=NOW - timedelta(seconds=1))
        assert not await revoke_token(s, token.token_id)
    assert await verify(db, secret, Scope.READ) is None


async def test_a_missing_scope_fails_and_admin_grants_all(db: ArchiveDatabase) -> None:
    _, reader = await new_token(db, Scope.READ)
    _, admin = await new_token(db, Scope.ADMIN)
    assert await verify(db, reader, Scope.SUBMIT) is None
    assert await verify(db, reader, Scope.ADMIN) is None
    assert all([await verify(db, admin, scope) for scope in Scope])
    async with db.session() as s:
        assert len(await list_tokens(s)) == 2
