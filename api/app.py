"""The o2c REST API: a FastAPI app built from settings, a Database and the validated config.

Routers live in their own modules (`api/events.py`, ...) and are included here; later issues
add theirs (portal, invoices, ...). Serve it with `o2c api` (uvicorn).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import events
from models.config import ConfigSnapshot
from models.db import Database
from models.usage_ingest import IngestPolicy, UsageIngestor
from settings import Settings


def create_app(settings: Settings, db: Database, config: ConfigSnapshot) -> FastAPI:
    ingestor = UsageIngestor(
        db,
        IngestPolicy.from_config(
            config, settings.usage_late_window_days, settings.usage_future_tolerance_s
        ),
        background_checkpoints=True,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        ingestor.close()  # stops the SQLite WAL checkpoint thread

    app = FastAPI(
        title="o2c API",
        version="1",
        description="Order-to-cash: usage events (more endpoints arrive with later issues).",
        lifespan=lifespan,
    )
    app.state.api_keys = [key.get_secret_value() for key in settings.api_keys]
    app.state.ingestor = ingestor
    app.include_router(events.router)
    return app


def serve(settings: Settings, host: str, port: int) -> None:
    """Migrate, load and validate config/, and serve the API with uvicorn until Ctrl-C."""
    import uvicorn

    from models.config_loader import load_config
    from models.db import migrate
    from settings import PROJECT_ROOT

    url = settings.effective_database_url
    migrate(url)
    config = load_config(settings.config_dir, PROJECT_ROOT / "templates")
    uvicorn.run(create_app(settings, Database(url), config), host=host, port=port)
