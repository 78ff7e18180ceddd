"""The files of the purpose-bound extracts: publishing a validated one, quarantining a stale one.

A consumer reads `<extracts>/<extract>.parquet`. A new extract is published there only once it has
passed its validation, through a temporary file renamed over the old one. When a new build fails
its validation, the previous file may include customers who have withdrawn their consent since,
so it is moved to `<extracts>/quarantine/` beside a JSON file that states why. The consumer then
finds no extract rather than a stale one.

A quarantined file keeps its name prefix (`publication-<time>.parquet`) and its modification time,
so erasure, access requests, withdrawals and retention, which search `*.parquet` under the
extracts folder and its subfolders, still reach it.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from governance.private_files import private_dir, private_temp_file, write_private_text

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

QUARANTINE_DIR = "quarantine"


def extract_path(extracts_dir: Path, extract: str) -> Path:
    """Return where consumers read the current extract."""
    return extracts_dir / f"{extract}.parquet"


def write_parquet(frame: pd.DataFrame, out_dir: Path, extract: str) -> Path:
    """Write the extract owner-only and atomically, so a reader sees the old file or the new one."""
    path = extract_path(private_dir(out_dir), extract)
    temporary = private_temp_file(path)
    try:
        frame.to_parquet(temporary, index=False)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def quarantine_previous(extracts_dir: Path, extract: str, reason: dict[str, Any]) -> Path | None:
    """Move the published extract into the quarantine folder, with `reason` beside it.

    Returns the quarantined file, or None when no extract was published. `reason` must contain counts
    and names only, never a personal value.
    """
    current = extract_path(extracts_dir, extract)
    if not current.exists():
        return None
    folder = private_dir(extracts_dir / QUARANTINE_DIR)
    moved_at = datetime.now(UTC)
    target = _free_name(folder, f"{extract}-{moved_at.strftime('%Y%m%dT%H%M%S%fZ')}")

    # The reason is written first: a crash between the two steps leaves a reason without a file,
    # never a quarantined file without its reason.
    record = {
        **reason,
        "extract": extract,
        "moved_from": str(current),
        "moved_at": moved_at.isoformat(),
        "written_at": datetime.fromtimestamp(current.stat().st_mtime, tz=UTC).isoformat(),
    }
    reason_text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    write_private_text(target.with_suffix(".reason.json"), reason_text)
    os.replace(current, target)
    log.warning("Moved the previous %s extract to %s: the new build failed its validation", extract, target)
    return target


def _free_name(folder: Path, stem: str) -> Path:
    """Return `<folder>/<stem>.parquet`, or `<stem>-N.parquet` when that name is taken."""
    candidate = folder / f"{stem}.parquet"
    number = 1
    while candidate.exists() or candidate.with_suffix(".reason.json").exists():
        candidate = folder / f"{stem}-{number}.parquet"
        number += 1
    return candidate
