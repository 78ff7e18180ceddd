"""The `--lang` option of the commands whose output a DPO reads."""

from __future__ import annotations

import typer

from governance.config import Settings
from governance.register.i18n import LANGUAGES, value_label

LANGUAGE_HELP = "Language of the output: fr or en. Default: REVIEW_GOV_LANGUAGE, else fr."


def resolve_language(option: str | None) -> str:
    """Return the `--lang` value, or the language of the settings when the option is not given."""
    language = option or Settings.from_env().language
    if language not in LANGUAGES:
        raise typer.BadParameter(
            f"{language!r} is not supported: use {' or '.join(LANGUAGES)} (--lang or REVIEW_GOV_LANGUAGE).",
            param_hint="--lang",
        )
    return language


def cli_label(key: str, language: str) -> str:
    """Return the label of a title, column or phrase of the command-line output."""
    return value_label("cli", key, language)


def labelled(name: str, value: str, language: str) -> str:
    """Write `name : value` with the colon spacing of the language (a space before it in French)."""
    return f"{name} : {value}" if language == "fr" else f"{name}: {value}"
