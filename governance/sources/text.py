"""Text clean-up shared by the connectors: HTML decoding, line breaks, language detection."""

from __future__ import annotations

import html
import re
from functools import lru_cache

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_SPACES_BEFORE_NEWLINE = re.compile(r"[ \t]+\n")

# Languages the detector chooses from when a platform does not give one. A short list keeps the
# detector fast and its guesses sharp; a text in another language gets None, not a wrong code.
DETECTED_LANGUAGES = ("FRENCH", "ENGLISH", "GERMAN", "SPANISH", "ITALIAN", "DUTCH", "PORTUGUESE")


def clean_text(value: str | None) -> str:
    """Turn `<br />` into line breaks and decode HTML entities (`&#34;`, `&amp;`)."""
    if not value:
        return ""
    text = _BR.sub("\n", value)
    text = html.unescape(text)
    text = text.replace("\r\n", "\n")
    return _SPACES_BEFORE_NEWLINE.sub("\n", text).strip()


def optional_text(value: str | None) -> str | None:
    cleaned = clean_text(value)
    return cleaned or None


@lru_cache(maxsize=1)
def _detector():  # type: ignore[no-untyped-def]
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in DETECTED_LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_minimum_relative_distance(0.1).build()


def detect_language(text: str) -> str | None:
    """Return the ISO 639-1 code of the text's language, or None when the detector is unsure."""
    if len(text.strip()) < 3:
        return None
    language = _detector().detect_language_of(text)
    if language is None:
        return None
    return language.iso_code_639_1.name.lower()


def language_code(value: str | None) -> str | None:
    """Normalise a platform's language tag (`fr`, `fr-FR`, `en_US`) to its ISO 639-1 part."""
    if not value:
        return None
    code = re.split(r"[-_]", value.strip())[0].lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None
