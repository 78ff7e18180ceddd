"""Labels of the exports that a DPO or analyst reads, in French (the default) and English.

The labels are in `labels.yaml` beside this module, one group per kind of key or code. Codes stay
in English in the store and the journal, and the exports show them through `value_label`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from governance.retention.policies import RetentionPeriod

LANGUAGES = ("fr", "en")
CATALOG_PATH = Path(__file__).with_name("labels.yaml")

Catalog = dict[str, dict[str, dict[str, str]]]


def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    """Read a label file, or raise ValueError naming an entry that lacks a text in a language."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path} must map group names to groups of labels.")
    for group, entries in raw.items():
        if not isinstance(entries, dict):
            raise ValueError(f"{path}: group {group!r} must map keys to labels.")
        for key, entry in entries.items():
            # YAML 1.1 reads a bare yes, no, on or off as a boolean: quote such keys.
            if not isinstance(key, str):
                raise ValueError(f"{path}: key {key!r} of group {group!r} is not a string: quote it.")
            texts = entry if isinstance(entry, dict) else {}
            if sorted(texts) != sorted(LANGUAGES) or not all(isinstance(text, str) and text for text in texts.values()):
                raise ValueError(
                    f"{path}: {group}.{key} must give a non-empty text for exactly {', '.join(LANGUAGES)}."
                )
    return raw


CATALOG = load_catalog()

LABELS = CATALOG["labels"]
LAWFUL_BASES = CATALOG["lawful_bases"]
DATA_CATEGORIES = CATALOG["data_categories"]
RETENTION_EVENTS = CATALOG["retention_events"]
RETENTION_ACTIONS = CATALOG["retention_actions"]
# Activities that the record does not declare because they process no personal data.
INTERNAL_ACTIVITIES = CATALOG["internal_activities"]


def label(key: str, language: str) -> str:
    """Return the label of `key` in `language`, or the key itself when it has no label."""
    entry = LABELS.get(key)
    return entry.get(language, entry["fr"]) if entry else key


def value_label(group: str, code: str, language: str) -> str:
    """Return the label of the enumerated value `code` of `group` in `language`.

    NOTE: a code missing from the group (a purpose or entity type added by configuration, say) is
    returned as it is, so the export shows the English code rather than failing.
    """
    entry = CATALOG[group].get(code)
    return entry[language] if entry else code


def value_labels(group: str, codes: Iterable[str], language: str) -> dict[str, str]:
    """Map each code to its label, for JSON exports that keep the codes next to the labels."""
    return {code: value_label(group, code, language) for code in codes}


def reason_label(reason: str, language: str) -> str:
    """Return the label of a quarantine reason: the longest `quarantine_reasons` key it starts with.

    NOTE: reasons from pydantic validation (a missing or malformed field, say) match no key, so
    they get the generic `other` label. The export keeps the stored English reason as its code.
    """
    reasons = CATALOG["quarantine_reasons"]
    matches = [key for key in reasons if key != "other" and reason.startswith(key)]
    key = max(matches, key=len) if matches else "other"
    return reasons[key][language]


def check_language(language: str) -> str:
    """Return `language` when supported; raise ValueError naming the supported ones otherwise."""
    if language not in LANGUAGES:
        raise ValueError(f"Unsupported language {language!r}: use one of {', '.join(LANGUAGES)}.")
    return language


# French typography puts a space before a colon and before a semicolon, and English puts none.
SEPARATORS = {"fr": {"colon": " : ", "semicolon": " ; "}, "en": {"colon": ": ", "semicolon": "; "}}


def colon(language: str) -> str:
    """Return the colon of `language`, with its spaces: `Clients : 3` in French, `Customers: 3` in English."""
    return SEPARATORS.get(language, SEPARATORS["fr"])["colon"]


def semicolon(language: str) -> str:
    """Return the semicolon of `language`, with its spaces, which separates the items of a list."""
    return SEPARATORS.get(language, SEPARATORS["fr"])["semicolon"]


# Singular and plural of each unit of a calendar duration.
DURATION_UNITS = {
    "fr": {"years": ("an", "ans"), "months": ("mois", "mois"), "days": ("jour", "jours")},
    "en": {"years": ("year", "years"), "months": ("month", "months"), "days": ("day", "days")},
}


def format_duration(years: int, months: int, days: int, language: str) -> str:
    """Write a calendar duration in words: `3 ans`, `1 year 6 months`, `30 jours`."""
    units = DURATION_UNITS[language]
    parts = [
        f"{count} {units[unit][0] if count == 1 else units[unit][1]}"
        for unit, count in (("years", years), ("months", months), ("days", days))
        if count
    ]
    return " ".join(parts) or f"0 {units['days'][1]}"


def format_period(period: RetentionPeriod, language: str) -> str:
    """Write a retention period of the retention configuration in words, such as `3 ans`."""
    return format_duration(period.years, period.months, period.days, language)


def format_months(months: int, language: str) -> str:
    """Write a number of months as years when it divides evenly: `3 ans`, `13 months`."""
    if months % 12 == 0:
        return format_duration(months // 12, 0, 0, language)
    return format_duration(0, months, 0, language)
