"""HTTP leg of the ingestion benchmark: the FastAPI app under uvicorn in a subprocess on
loopback, batches posted as JSON by two client threads (keep-alive), server-side validation and
storage included; only the posting is timed (batches are serialized beforehand)."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
from fastapi import FastAPI

from bench.ingest_data import bench_now, event_batches, seed_accounts
from models.db import Database

API_KEY = "bench-key"
DATABASE_ENV = "O2C_BENCH_DATABASE_URL"
ROOT = Path(__file__).resolve().parents[1]


def bench_app() -> FastAPI:
    """uvicorn factory: the real app on the database named by O2C_BENCH_DATABASE_URL."""
    from api.app import create_app
    from models.config_loader import load_config
    from settings import PROJECT_ROOT, Settings

    settings = Settings()
    config = load_config(PROJECT_ROOT / "config", PROJECT_ROOT / "templates")
    return create_app(settings, Database(os.environ[DATABASE_ENV]), config)


def http_events_per_s(db: Database, args: argparse.Namespace) -> float:
    now = bench_now()
    subs = seed_accounts(db, args.subscriptions, now)
    bodies = [
        orjson.dumps({"events": batch})
        for batch in event_batches(subs, args.events, args.batch_size, now, seed=11)
    ]
    port = _free_port()
    server = _start_server(db.url, port)
    try:
        url = f"http://127.0.0.1:{port}/v1/events"
        _wait_until_up(url)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=2) as pool:
            accepted = sum(pool.map(lambda body: _post(url, body), bodies))
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    if accepted != args.events:
        raise SystemExit(f"bench: HTTP accepted {accepted} of {args.events} events")
    return accepted / elapsed


_clients: dict[int, httpx.Client] = {}


def _post(url: str, body: bytes) -> int:
    import threading

    client = _clients.setdefault(threading.get_ident(), httpx.Client(timeout=120))
    response = client.post(
        url,
        content=body,
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    response.raise_for_status()
    return int(response.json()["accepted"])


def _start_server(database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, DATABASE_ENV: database_url, "O2C_API_KEYS": f'["{API_KEY}"]'}
    command = [
        sys.executable, "-m", "uvicorn", "bench.ingest_http:bench_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env)


def _wait_until_up(url: str) -> None:
    for _ in range(300):
        try:
            httpx.post(url, json={"events": []}, headers={"X-Api-Key": API_KEY}, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("bench: the API server did not start")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
