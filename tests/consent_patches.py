"""Patches of the consent extract selection, for tests that check what the validation catches."""

from __future__ import annotations

import pytest

from governance.consent import extracts as extracts_module


def select_ignoring_consent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the selection let every survey review through, whatever its consent."""
    real_select = extracts_module.select_rows

    def select_every_survey_review(extract, frame, snapshot, catalog):  # type: ignore[no-untyped-def]
        _, counts = real_select(extract, frame, snapshot, catalog)
        survey = frame[frame["source"] == "survey"].copy()
        survey["internal"] = True
        return survey, counts

    monkeypatch.setattr(extracts_module, "select_rows", select_every_survey_review)
