"""`POST /v1/events`: a batch of up to 10,000 usage events through the one ingest path.

The body is parsed with orjson and validated event by event by the write path (no per-event
pydantic model: the pydantic models below only document the API). A bad event is reported by
index in a 200 response and the valid events of the batch are stored; only a malformed body,
too many events or a missing key fail the whole request.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.auth import require_api_key
from models.usage_ingest import MAX_BATCH_EVENTS, UsageIngestor

MAX_BODY_BYTES = 32 * 1024 * 1024

router = APIRouter(prefix="/v1", tags=["usage"], dependencies=[Depends(require_api_key)])


class EventIn(BaseModel):
    """One usage event (see docs/ingestion.md)."""

    transaction_id: str = Field(min_length=1, max_length=255, description="Idempotency key")
    subscription_id: str | None = Field(None, description="Or customer_id (one subscription)")
    customer_id: str | None = None
    metric: str = Field(description="A metric code declared in the catalog")
    timestamp: str | int | float = Field(description="ISO 8601 with offset, or epoch seconds")
    quantity: str | int | float | None = Field(
        None, description='Default 1; >= 0, at most 9 decimals; a string keeps it exact ("1.5")'
    )
    properties: dict[str, str | int | float | bool] | None = None


class EventProblemOut(BaseModel):
    index: int
    transaction_id: str | None
    reason: str


class IngestResultOut(BaseModel):
    accepted: int
    duplicate: int
    conflict: int
    rejected: int
    late: int = Field(description="Accepted events whose usage period was already invoiced")
    errors: list[EventProblemOut]
    conflicts: list[EventProblemOut]


_BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["events"],
    "additionalProperties": False,
    "properties": {
        "events": {
            "type": "array",
            "maxItems": MAX_BATCH_EVENTS,
            "items": EventIn.model_json_schema(),
        }
    },
}


def _problem(status_code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code)


@router.post(
    "/events",
    summary="Send a batch of usage events",
    responses={
        200: {"model": IngestResultOut, "description": "Per-batch counts and per-index errors"},
        401: {"description": "Missing or invalid API key"},
        413: {"description": f"More than {MAX_BATCH_EVENTS} events (or a body over 32 MiB)"},
        422: {"description": 'The body is not a JSON object {"events": [...]}'},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BATCH_SCHEMA}},
        }
    },
)
async def post_events(request: Request) -> Response:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _problem(413, "the body is larger than 32 MiB: send smaller batches")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _problem(422, f"the body is not valid JSON: {exc}")
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        return _problem(422, 'the body must be a JSON object {"events": [...]}')
    if payload.keys() != {"events"}:
        extra = ", ".join(sorted(k for k in payload if k != "events"))
        return _problem(422, f'unknown field(s) {extra}: the body is {{"events": [...]}}')
    events: list[object] = payload["events"]
    if len(events) > MAX_BATCH_EVENTS:
        return _problem(
            413,
            f"{len(events)} events in one request; at most {MAX_BATCH_EVENTS}: split the batch",
        )
    ingestor: UsageIngestor = request.app.state.ingestor
    result = await run_in_threadpool(ingestor.ingest, events)
    return Response(orjson.dumps(result), media_type="application/json")
