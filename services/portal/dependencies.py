"""FastAPI dependencies: the portal context, database sessions and scope checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.adapters.tokens import TokenCheck, check_token
from services.portal.context import Portal
from shared.archive.models import Scope

BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def get_portal(request: Request) -> Portal:
    return request.app.state.portal


PortalDep = Annotated[Portal, Depends(get_portal)]


async def get_session(portal: PortalDep) -> AsyncIterator[AsyncSession]:
    async with portal.db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def requires(scope: Scope) -> Callable[[Request, Portal], Awaitable[None]]:
    """A dependency refusing the request unless its bearer token grants `scope` (read is public
    unless the portal is configured otherwise). 401: no, malformed, unknown or expired token;
    403: a valid token without the scope."""

    async def check(request: Request, portal: PortalDep) -> None:
        header = request.headers.get("authorization")
        if header is None:
            if scope is Scope.READ and portal.settings.public_read:
                return
            raise HTTPException(401, f"this needs an API token with scope {scope}: send 'Authorization: Bearer TOKEN'",
                                headers=BEARER_CHALLENGE)
        secret = bearer_secret(header)
        async with portal.db.session() as session:
            verdict = await check_token(session, secret, scope)
        if verdict is TokenCheck.INVALID:
            raise HTTPException(401, "invalid, expired or revoked API token", headers=BEARER_CHALLENGE)
        if verdict is TokenCheck.INSUFFICIENT:
            raise HTTPException(403, f"this API token lacks scope {scope}")

    return check


def bearer_secret(header: str) -> str:
    kind, _, secret = header.strip().partition(" ")
    if kind.lower() != "bearer" or not secret.strip():
        raise HTTPException(401, "malformed Authorization header: expected 'Bearer TOKEN'", headers=BEARER_CHALLENGE)
    return secret.strip()
