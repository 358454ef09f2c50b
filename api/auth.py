"""API-key authentication: `Authorization: Bearer <key>` or `X-Api-Key: <key>`, checked against
the keys of settings (`O2C_API_KEYS`) until the roles model arrives."""

from __future__ import annotations

import hmac

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
api_key_header = APIKeyHeader(name="X-Api-Key", auto_error=False, description="An API key")


def require_api_key(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    header_key: str | None = Depends(api_key_header),
) -> None:
    """401 unless the request carries one of the configured API keys."""
    presented = credentials.credentials if credentials is not None else header_key
    if not presented:
        raise _unauthorized("missing API key: send Authorization: Bearer <key> or X-Api-Key")
    keys: list[str] = request.app.state.api_keys
    if not any(hmac.compare_digest(presented.encode(), key.encode()) for key in keys):
        raise _unauthorized("invalid API key")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )
