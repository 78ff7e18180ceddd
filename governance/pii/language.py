"""Per-text language detection for French and English reviews.

Most reviews are plainly one language: a handful of function words (`le`, `les`, `est` against
`the`, `and`, `was`) settles it for a fraction of the cost of a statistical detector. The lingua
detector decides the rest: short texts, mixed texts, texts with few function words.
"""

import re

from lingua import Language, LanguageDetectorBuilder

FALLBACK_LANGUAGE = "fr"

_LINGUA_LANGUAGES = {Language.FRENCH: "fr", Language.ENGLISH: "en"}

# Frequent function words that the other language rarely uses. Words that both languages share
# (`a`, `en`, `on`, `in`) are left out.
_FRENCH_WORDS = frozenset(
    "le la les des du et est je il elle nous vous pas très tres pour une un au aux avec mais ce "
    "cette que qui sur dans ne plus bien été ai sont".split()
)
_ENGLISH_WORDS = frozenset(
    "the and is was to of it for my with very not this that are have had but you they we at be so".split()
)
_WORD = re.compile(r"[^\W\d_]+")

# A text is taken as one language when it has at least this many of its function words, and
# this many times more than of the other language's.
MIN_FUNCTION_WORDS = 3
DOMINANCE = 4


class LanguageDetector:
    """Detector of French or English per text. A text whose language is unclear is taken as French."""

    def __init__(self) -> None:
        self._lingua = LanguageDetectorBuilder.from_languages(*_LINGUA_LANGUAGES).build()

    def detect(self, text: str) -> str:
        """Return ``"fr"`` or ``"en"``."""
        language = _by_function_words(text)
        if language is not None:
            return language
        return _LINGUA_LANGUAGES.get(self._lingua.detect_language_of(text), FALLBACK_LANGUAGE)


def _by_function_words(text: str) -> str | None:
    """Return the language whose function words clearly dominate ``text``, or None."""
    french = english = 0
    for word in _WORD.findall(text.lower()):
        if word in _FRENCH_WORDS:
            french += 1
        elif word in _ENGLISH_WORDS:
            english += 1
    if french >= MIN_FUNCTION_WORDS and french >= DOMINANCE * english:
        return "fr"
    if english >= MIN_FUNCTION_WORDS and english >= DOMINANCE * french:
        return "en"
    return None
