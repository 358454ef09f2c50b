"""docker-compose.yml and the Dockerfile stay true to the code: every O2C_* variable is a setting,
the worker points at the compose services, and the registered search attributes are o2c's."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from settings import Settings
from workflows.common import SEARCH_ATTRIBUTE_NAMES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _worker_env(compose: dict[str, Any]) -> dict[str, str]:
    return _environment(compose["services"]["worker"])


def _setting_env_names() -> set[str]:
    return {f"O2C_{name.upper()}" for name in Settings.model_fields}


def test_services_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("postgres", "temporal", "temporal-ui", "temporal-setup", "worker"):
        assert name in services, f"service {name} missing from docker-compose.yml"
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["temporal"]["image"].startswith("temporalio/auto-setup:")
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")
    assert any(str(p).endswith("8233:8080") for p in services["temporal-ui"]["ports"])
    assert services["temporal-setup"]["image"].startswith("temporalio/admin-tools:")


def test_every_o2c_variable_is_a_setting(compose: dict[str, Any]) -> None:
    known = _setting_env_names()
    for name, service in compose["services"].items():
        unknown = {k for k in _environment(service) if k.startswith("O2C_")} - known
        assert not unknown, f"{name}: not fields of settings.Settings: {sorted(unknown)}"


def test_worker_is_configured_only_through_o2c_variables(compose: dict[str, Any]) -> None:
    env = _worker_env(compose)
    assert env
    assert all(k.startswith("O2C_") for k in env), sorted(k for k in env if k[:4] != "O2C_")


def test_worker_points_at_the_compose_services(compose: dict[str, Any]) -> None:
    env = _worker_env(compose)
    url = env["O2C_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://")
    assert re.search(r"@postgres:5432/", url), url
    assert env["O2C_TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["O2C_NOTIFIER"] in ("outbox", "providers")
    depends = compose["services"]["worker"]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["temporal"]["condition"] == "service_healthy"
    assert depends["temporal-setup"]["condition"] == "service_completed_successfully"


def test_worker_uses_the_real_providers_with_substituted_secrets(compose: dict[str, Any]) -> None:
    env = _worker_env(compose)
    for base in (
        "O2C_STRIPE_API_BASE",
        "O2C_ADYEN_API_BASE",
        "O2C_SENDGRID_API_BASE",
        "O2C_TWILIO_API_BASE",
    ):
        assert env[base] == "", f"{base} must be empty (the provider's real service)"
    for secret in (
        "O2C_STRIPE_API_KEY",
        "O2C_ADYEN_API_KEY",
        "O2C_SENDGRID_API_KEY",
        "O2C_TWILIO_AUTH_TOKEN",
    ):
        assert re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*)?\}", env[secret]), f"{secret} is not ${{VAR}}"


def test_healthchecks_on_the_infrastructure(compose: dict[str, Any]) -> None:
    for name in ("postgres", "temporal"):
        assert "healthcheck" in compose["services"][name], f"{name} has no healthcheck"


def test_registered_search_attributes_are_the_workflows(compose: dict[str, Any]) -> None:
    setup = compose["services"]["temporal-setup"]
    names = _environment(setup)["SEARCH_ATTRIBUTES"].split()
    assert tuple(names) == SEARCH_ATTRIBUTE_NAMES
    script = "\n".join(setup["command"])
    assert "$$SEARCH_ATTRIBUTES" in script
    assert "--type Keyword" in script


def test_dockerfile_runs_the_worker() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert re.search(r"^RUN pip install \.", text, re.M)
    commands = re.findall(r"^CMD\s+(.+)$", text, re.M)
    assert commands, "Dockerfile has no CMD"
    last = commands[-1].strip()
    argv = yaml.safe_load(last) if last.startswith("[") else shlex.split(last)
    assert argv == ["o2c", "worker"]
    for name in re.findall(r"\b(O2C_[A-Z_]+)=", text):
        assert name in _setting_env_names(), f"Dockerfile sets unknown setting {name}"
