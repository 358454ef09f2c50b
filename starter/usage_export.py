"""`o2c invoice usage-export INVOICE_ID [--out FILE]`: every rated event of an invoice's usage
period as CSV (streamed; a file is only created once the invoice is known)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TextIO

from models.db import Database
from models.rating_repo import EXPORT_COLUMNS, invoice_rated_events


def write_usage_csv(db: Database, invoice_id: str, out: TextIO) -> int:
    """Write the header and one line per rated event; return the number of events."""
    with db.transaction() as session:
        rows = invoice_rated_events(session, invoice_id)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        count = 0
        for fields in rows:
            writer.writerow(fields)
            count += 1
    return count


def export_usage(db: Database, invoice_id: str, out_path: Path | None) -> int:
    """Export to `out_path` (stdout when None). Raises UnknownInvoiceError before writing."""
    if out_path is None:
        return write_usage_csv(db, invoice_id, sys.stdout)
    with db.transaction() as session:  # fail on an unknown invoice before creating the file
        invoice_rated_events(session, invoice_id)
    partial = out_path.with_name(out_path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        count = write_usage_csv(db, invoice_id, handle)
    partial.replace(out_path)
    return count
