"""API tokens: a random secret handed out once; the database keeps only its SHA-256."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.archive.models import ApiToken, Scope
from shared.archive.types import utc_now

SECRET_PREFIX = "phx_"
SECRET_BYTES = 32


def hash_secret(secret: str) -> str:
    # A plain hash is enough: the secret is 256 random bits, not a password to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_token(
    session: AsyncSession, name: str, scopes: Iterable[Scope], *, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token and its secret. The secret is returned here and never again."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    token = ApiToken(
        token_id=uuid.uuid4(),
        name=name,
        token_hash=hash_secret(secret),
        scopes=sorted({Scope(scope).value for scope in scopes}),
        created_at=utc_now(),
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    return token, secret


def is_usable(token: ApiToken, now: datetime) -> bool:
    if token.revoked_at is not None:
        return False
    return token.expires_at is None or now < token.expires_at


def grants(token: ApiToken, scope: Scope) -> bool:
    return Scope.ADMIN.value in token.scopes or Scope(scope).value in token.scopes


async def revoke_token(session: AsyncSession, token_id: uuid.UUID, *, at: datetime | None = None) -> bool:
    """False if there is no such token or it was already revoked."""
    statement = (
        update(ApiToken)
        .where(ApiToken.token_id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=at or utc_now())
    )
    return (await session.execute(statement)).rowcount == 1


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return list((await session.scalars(select(ApiToken).order_by(ApiToken.created_at))).all())
