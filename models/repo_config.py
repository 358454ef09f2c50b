"""Write the validated YAML config into the database: legal entities and catalog versions.

Catalog versions are immutable: loading a version that already exists with different content is
refused (publish a new version with a later effective date instead).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.config import CatalogConfig, ConfigSnapshot, LegalEntityConfig
from models.tables import CatalogVersionRow, LegalEntityRow, PlanPriceRow, PlanRow


class CatalogVersionChangedError(ValueError):
    pass


def sync_config(session: Session, snapshot: ConfigSnapshot, now: datetime) -> None:
    for entity in snapshot.entities:
        _upsert_entity(session, entity)
    for catalog in snapshot.catalogs:
        _insert_catalog(session, catalog, now)


def _upsert_entity(session: Session, entity: LegalEntityConfig) -> None:
    row = session.get(LegalEntityRow, entity.code)
    if row is None:
        row = LegalEntityRow(code=entity.code, next_invoice_number=1)
        session.add(row)
    row.name = entity.name
    row.country = entity.country
    row.currency = entity.currency
    row.timezone = entity.timezone
    row.invoice_prefix = entity.invoice_prefix
    row.payment_terms_days = entity.payment_terms_days
    row.dunning_ladder = entity.dunning_ladder
    row.address = list(entity.address)


def _insert_catalog(session: Session, catalog: CatalogConfig, now: datetime) -> None:
    snapshot = catalog.model_dump(mode="json")
    existing = session.get(CatalogVersionRow, catalog.version)
    if existing is not None:
        # compare as validated models: fields added to the schema later get their defaults
        if CatalogConfig.model_validate(existing.snapshot) != catalog:
            raise CatalogVersionChangedError(
                f"catalog version {catalog.version} is already loaded with different content; "
                "catalog versions are immutable: publish version "
                f"{catalog.version + 1} with a later effective_on instead"
            )
        return
    session.add(
        CatalogVersionRow(
            version=catalog.version,
            effective_on=catalog.effective_on,
            snapshot=snapshot,
            loaded_at=now,
        )
    )
    session.flush()
    for plan in catalog.plans:
        session.add(
            PlanRow(
                code=plan.code,
                catalog_version=catalog.version,
                name=plan.name,
                product_code=plan.product,
                interval=plan.interval,
                trial_days=plan.trial_days,
            )
        )
        for index, charge in enumerate(plan.charges):
            for currency, amount in charge.prices.items():
                session.add(
                    PlanPriceRow(
                        plan_code=plan.code,
                        catalog_version=catalog.version,
                        charge_index=index,
                        currency=currency,
                        charge_type=charge.type,
                        metric_code=getattr(charge, "metric", None),
                        description=charge.description,
                        unit_amount=str(amount),
                    )
                )


def catalog_version_on(session: Session, day: date) -> int | None:
    stmt = (
        select(CatalogVersionRow.version)
        .where(CatalogVersionRow.effective_on <= day)
        .order_by(CatalogVersionRow.effective_on.desc(), CatalogVersionRow.version.desc())
        .limit(1)
    )
    return session.scalar(stmt)
