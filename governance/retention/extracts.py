"""Find and remove a data subject's lines in the Parquet extracts under the extracts folder.

This module does not depend on the code that writes the extracts. It reads every `*.parquet` file
under the folder and matches three kinds of columns. `customer_id` holds customer ids, `review_id`
holds review ids, and any column whose name contains `pseudonym` holds customer pseudonyms made by
`customer_pseudonym()`. A file with none of these columns cannot name anybody and is left alone.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from governance.config import read_key
from governance.private_files import private_temp_file

log = logging.getLogger(__name__)

CUSTOMER_COLUMN = "customer_id"
REVIEW_COLUMN = "review_id"
PSEUDONYM_MARKER = "pseudonym"


def customer_pseudonym(customer_id: str, key: bytes) -> str:
    """Return the pseudonym of a customer in extracts: HMAC-SHA256 of the id, in hexadecimal.

    Extracts that replace the customer id by a pseudonym must use this function, because erasure
    and access requests recompute it to find the customer's lines.
    """
    return hmac.new(key, customer_id.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass
class SubjectMatcher:
    """The ids that name one or more data subjects in an extract line."""

    customer_ids: set[str] = field(default_factory=set)
    review_ids: set[str] = field(default_factory=set)
    _pseudonyms: set[str] | None = field(default=None, repr=False)

    def is_empty(self) -> bool:
        return not self.customer_ids and not self.review_ids

    def pseudonyms(self) -> set[str]:
        """Compute the customers' pseudonyms with `REVIEW_GOV_PSEUDONYM_KEY`, once."""
        if self._pseudonyms is None:
            key = read_key("PSEUDONYM_KEY")
            self._pseudonyms = {customer_pseudonym(customer_id, key) for customer_id in self.customer_ids}
        return self._pseudonyms

    def values_for(self, column: str) -> set[str] | None:
        """Return the values that identify a subject in `column`, or None for a column that identifies no one."""
        lowered = column.lower()
        if lowered == CUSTOMER_COLUMN:
            return self.customer_ids
        if lowered == REVIEW_COLUMN:
            return self.review_ids
        if PSEUDONYM_MARKER in lowered:
            return self.pseudonyms()
        return None


def iter_extract_files(extracts_dir: Path, patterns: list[str] | None = None) -> Iterator[Path]:
    """Yield the Parquet files under the folder, in a stable order, that match one of the patterns."""
    if not extracts_dir.is_dir():
        return
    for path in sorted(extracts_dir.rglob("*.parquet")):
        if patterns and not any(path.match(pattern) for pattern in patterns):
            continue
        yield path


def _matching_mask(table: Any, matcher: SubjectMatcher) -> Any:
    """Return a boolean array, True for each row that names a subject, or None when no column can."""
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = None
    for name in table.column_names:
        values = matcher.values_for(name)
        if values is None:
            continue
        column = pc.cast(table[name], pa.string())
        hit = pc.fill_null(pc.is_in(column, value_set=pa.array(sorted(values), type=pa.string())), False)
        mask = hit if mask is None else pc.or_(mask, hit)
    return mask


def _names_a_subject(path: Path, matcher: SubjectMatcher) -> bool:
    import pyarrow.parquet as pq

    return any(matcher.values_for(name) is not None for name in pq.read_schema(path).names)


def find_subject_lines(
    extracts_dir: Path, matcher: SubjectMatcher, patterns: list[str] | None = None
) -> dict[Path, list[dict[str, Any]]]:
    """Return, per extract file, the lines that name one of the subjects."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    found: dict[Path, list[dict[str, Any]]] = {}
    if matcher.is_empty():
        return found
    for path in iter_extract_files(extracts_dir, patterns):
        if not _names_a_subject(path, matcher):
            continue
        table = pq.read_table(path)
        mask = _matching_mask(table, matcher)
        if mask is None:
            continue
        lines = table.filter(mask).to_pylist()
        if lines:
            found[path] = lines
    if found:
        log.info("Subject lines found in %d extract files", len(found))
    return found


def remove_subject_lines(
    extracts_dir: Path, matcher: SubjectMatcher, patterns: list[str] | None = None
) -> dict[str, int]:
    """Rewrite every extract that names one of the subjects without those lines.

    Returns the number of lines removed per file, relative to the folder. Each file is written to a
    temporary file first and then renamed over the original, so a crash leaves either the old or
    the new file, never half of one.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    removed: dict[str, int] = {}
    if matcher.is_empty():
        return removed
    for path in iter_extract_files(extracts_dir, patterns):
        if not _names_a_subject(path, matcher):
            continue
        table = pq.read_table(path)
        mask = _matching_mask(table, matcher)
        hits = int(pc.sum(mask).as_py() or 0) if mask is not None else 0
        if not hits:
            continue
        # NOTE: nothing locks the extracts folder against the DAGs that write it. An extract writer
        # that replaces this file between the read and the rename loses its version.
        remaining_rows = table.filter(pc.invert(mask))
        temporary = private_temp_file(path)
        try:
            pq.write_table(remaining_rows, temporary)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        removed[str(path.relative_to(extracts_dir))] = hits
        log.info("Removed %d subject lines from extract %s", hits, path.name)
    return removed
