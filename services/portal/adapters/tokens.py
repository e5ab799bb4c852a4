"""Who a bearer token belongs to, and whether it grants a scope."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.archive.models import ApiToken, Scope
from shared.archive.tokens import grants, hash_secret, is_usable
from shared.archive.types import utc_now


class TokenCheck(StrEnum):
    GRANTED = "granted"
    INVALID = "invalid"
    """Unknown, expired or revoked: the same answer for each, so nothing leaks which."""
    INSUFFICIENT = "insufficient"


async def check_token(session: AsyncSession, secret: str, scope: Scope) -> TokenCheck:
    token = await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if token is None or not is_usable(token, utc_now()):
        return TokenCheck.INVALID
    return TokenCheck.GRANTED if grants(token, scope) else TokenCheck.INSUFFICIENT
