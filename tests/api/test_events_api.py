"""POST /v1/events: API keys, the 10,000-event limit, malformed bodies, per-index errors with
the valid events of the batch stored, duplicates and conflicts across requests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from activities.deps import Deps
from activities.subscriptions import SubscriptionActivities
from api.app import create_app
from models.config import ConfigSnapshot
from models.tables import UsageEventRow
from models.usage_settle import settle_usage
from settings import Settings
from tests.factories import make_customer, make_subscription

pytestmark = pytest.mark.db

KEY = "test-key-1"


@pytest.fixture
def sub(deps: Deps) -> str:
    uid = uuid.uuid4().hex[:8]
    make_customer(deps.db, f"{uid}-c")
    make_subscription(SubscriptionActivities(deps), f"{uid}-s", f"{uid}-c")
    return f"{uid}-s"


@pytest.fixture
def client(deps: Deps, config: ConfigSnapshot) -> Iterator[TestClient]:
    settings = Settings(api_keys=[SecretStr(KEY), SecretStr("other-key")])
    with TestClient(create_app(settings, deps.db, config)) as test_client:
        yield test_client


def event(sub: str, tx: str, **fields: object) -> dict[str, object]:
    at = datetime.now(UTC) - timedelta(minutes=5)
    return {
        "transaction_id": tx,
        "subscription_id": sub,
        "metric": "api_calls",
        "timestamp": at.isoformat(),
        "quantity": "2.5",
        **fields,
    }


def stored_count(deps: Deps) -> int:
    settle_usage(deps.db)
    with deps.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(UsageEventRow)) or 0


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing API key: send Authorization: Bearer <key> or X-Api-Key"),
        ({"Authorization": "Bearer nope"}, "invalid API key"),
        ({"X-Api-Key": "nope"}, "invalid API key"),
        ({"Authorization": "Basic dGVzdDp0ZXN0"}, "missing API key"),
    ],
)
def test_a_request_without_a_valid_key_is_401(
    client: TestClient, deps: Deps, sub: str, headers: dict[str, str], detail: str
) -> None:
    response = client.post("/v1/events", json={"events": [event(sub, "t")]}, headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"].startswith(detail)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert stored_count(deps) == 0


@pytest.mark.parametrize(
    "headers", [{"Authorization": f"Bearer {KEY}"}, {"X-Api-Key": "other-key"}]
)
def test_bearer_and_x_api_key_are_accepted(
    client: TestClient, sub: str, headers: dict[str, str]
) -> None:
    response = client.post("/v1/events", json={"events": [event(sub, "t")]}, headers=headers)
    assert response.status_code == 200
    assert response.json()["accepted"] == 1


def test_bad_events_are_reported_by_index_and_the_valid_ones_stored(
    client: TestClient, deps: Deps, sub: str
) -> None:
    batch = [
        event(sub, "ok-0"),
        event(sub, "bad-1", metric="nope"),
        event(sub, "ok-2", quantity=7),
        event("ghost", "bad-3"),
        event(sub, "bad-4", timestamp="2020-01-01T00:00:00Z"),
    ]
    response = client.post(
        "/v1/events", json={"events": batch}, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("accepted", "duplicate", "conflict", "rejected", "late")} == {
        "accepted": 2, "duplicate": 0, "conflict": 0, "rejected": 3, "late": 0,
    }  # fmt: skip
    assert [(e["index"], e["transaction_id"]) for e in body["errors"]] == [
        (1, "bad-1"), (3, "bad-3"), (4, "bad-4"),
    ]  # fmt: skip
    assert body["errors"][1]["reason"] == "unknown subscription 'ghost'"
    assert "outside the accepted window" in body["errors"][2]["reason"]
    assert stored_count(deps) == 2


def test_replays_are_duplicates_and_changed_content_a_conflict(
    client: TestClient, deps: Deps, sub: str
) -> None:
    headers = {"X-Api-Key": KEY}
    first = event(sub, "t-1")
    assert (
        client.post("/v1/events", json={"events": [first]}, headers=headers).json()["accepted"] == 1
    )
    body = client.post(
        "/v1/events", json={"events": [first, {**first, "quantity": "3"}]}, headers=headers
    ).json()
    assert (body["duplicate"], body["conflict"]) == (1, 1)
    assert body["conflicts"][0]["index"] == 1
    assert stored_count(deps) == 1


def test_more_than_10000_events_is_413_and_stores_nothing(
    client: TestClient, deps: Deps, sub: str
) -> None:
    batch = [event(sub, f"t-{n}") for n in range(10_001)]
    response = client.post(
        "/v1/events", json={"events": batch}, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert response.status_code == 413
    assert response.json() == {
        "detail": "10001 events in one request; at most 10000: split the batch"
    }
    assert stored_count(deps) == 0


def test_exactly_10000_events_are_accepted(client: TestClient, deps: Deps, sub: str) -> None:
    batch = [event(sub, f"t-{n}") for n in range(10_000)]
    response = client.post(
        "/v1/events", json={"events": batch}, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert response.status_code == 200
    assert response.json()["accepted"] == 10_000
    assert stored_count(deps) == 10_000


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"{nope", "the body is not valid JSON"),
        (b"[]", 'the body must be a JSON object {"events": [...]}'),
        (b'{"events": {}}', 'the body must be a JSON object {"events": [...]}'),
        (b'{"events": [], "extra": 1}', "unknown field(s) extra"),
    ],
)
def test_a_malformed_body_is_422(client: TestClient, content: bytes, detail: str) -> None:
    response = client.post(
        "/v1/events",
        content=content,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith(detail)


def test_openapi_documents_the_batch_and_the_result(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/events"]["post"]
    batch = operation["requestBody"]["content"]["application/json"]["schema"]
    assert batch["properties"]["events"]["maxItems"] == 10_000
    assert "IngestResultOut" in spec["components"]["schemas"]
