"""Batch-first personal-data detection and masking.

One ``nlp.pipe`` pass parses a batch with only the NER component. The pattern and rule
recognizers then run on each text, their scores are raised by nearby context words, overlapping
spans are resolved so that every detected character is masked, and the operator replaces the
spans without scanning the text again. A single text is a batch of one. With ``n_process`` above
1, worker processes started at load time take slices of each batch (see ``pool.py``).
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from presidio_analyzer import EntityRecognizer, PatternRecognizer
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from governance.pii.analyzer import (
    SPACY_PERSON_LABELS,
    build_registry,
    check_entities_registered,
    keep_only_ner,
    load_spacy_pipeline,
    read_name_lexicon,
)
from governance.pii.config import SUPPORTED_LANGUAGES, Operator, PiiConfig
from governance.pii.conflicts import expand_to_word_boundaries, resolve_overlaps
from governance.pii.language import LanguageDetector
from governance.pii.operators import Replacer, apply_operator, make_encryptor, make_pseudonymizer, tag
from governance.pii.pool import DetectionPool
from governance.pii.recognizers.person import (
    IMPERATIVE_PRONOUN,
    STOP_WORDS,
    SURNAME_PARTICLES,
    TITLE_PATTERN,
    NameLexicon,
)
from governance.pii.text_view import make_view, split_into_chunks
from governance.pii.types import Detection, MaskResult

logger = logging.getLogger(__name__)

# Context words are searched this many characters before and after a candidate.
CONTEXT_CHARS_BEFORE = 50
CONTEXT_CHARS_AFTER = 25
# Score added by a context word, and the score a candidate with context reaches at least
# (the values of Presidio's LemmaContextAwareEnhancer).
CONTEXT_SCORE_BOOST = 0.35
CONTEXT_MIN_SCORE = 0.4

NER_PERSON_SCORE = 0.85

_NAME_CHARACTERS = re.compile(r"[^\W\d_]+(?:[ \u00a0'’.-]+[^\W\d_]*)*\.?")
_NAME_WORD = re.compile(r"[^\W\d_]+")
_SPACED_WORD = re.compile(r"[^\s]+")
_CAMEL_CASE = re.compile(r"[a-zà-ÿ][A-ZÀ-Ý]")

# `\d` as the recognizers' patterns read it: any Unicode decimal digit.
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class _Prefilter:
    """A condition that every match of one recognizer meets, tested on the whole text first.

    Most reviews hold no digit and no `@`, so the number and email recognizers are skipped on
    them without running their patterns.
    """

    min_digits: int = 0
    required_character: str | None = None
    hint: re.Pattern[str] | None = None

    def may_match(self, text: str, digit_count: int) -> bool:
        if digit_count < self.min_digits:
            return False
        if self.required_character is not None and self.required_character not in text:
            return False
        return self.hint is None or self.hint.search(text) is not None


@dataclass(frozen=True, slots=True)
class _Unit:
    """A piece of one input text sent to spaCy: the whole cleaned text, or one chunk of it."""

    text_index: int
    offset: int
    text: str


class PiiEngine:
    """Detect and mask personal data in batches of French and English texts.

    ``__init__`` only stores the configuration; :meth:`load` loads spaCy and the recognizers.
    """

    def __init__(self, config: PiiConfig | None = None) -> None:
        self.config = config or PiiConfig()
        self._nlp = None
        self._lexicon: NameLexicon | None = None
        self._recognizers: dict[str, list[EntityRecognizer]] = {}
        self._context_patterns: dict[str, re.Pattern[str] | None] = {}
        self._prefilters: dict[str, _Prefilter] = {}
        self._language_detector = None
        self._pool: DetectionPool | None = None
        self._allow_list = frozenset(value.casefold() for value in self.config.allow_list)
        self._allow_pattern = (
            re.compile(
                r"(?<!\w)(?:"
                + "|".join(re.escape(value) for value in sorted(self.config.allow_list, key=len, reverse=True))
                + r")(?!\w)",
                re.IGNORECASE,
            )
            if self.config.allow_list
            else None
        )

    # -- loading -------------------------------------------------------------------------

    @property
    def is_loaded(self) -> bool:
        return self._nlp is not None

    def load(self) -> "PiiEngine":
        """Load the spaCy model, the recognizers and the language detector, and return ``self``.

        Raises ``SpacyModelNotInstalledError`` when the model package is missing, and
        ``ValueError`` when a configured entity has no recognizer or the operator has no key.
        """
        self.config.check_operator_key()
        # Checked with the bundled lexicon first, so that a bad entity list fails before the
        # model takes seconds to load.
        check_entities_registered(self.config, build_registry(SUPPORTED_LANGUAGES))
        nlp = load_spacy_pipeline(self.config.spacy_model)
        if self.config.n_process > 1 and self._pool is None:
            # Started once the model is known to load, so that the workers load theirs while
            # this process builds its recognizers.
            self._pool = DetectionPool(self.config, self.config.n_process - 1)
        self._lexicon = read_name_lexicon(nlp)
        self._nlp = keep_only_ner(nlp)

        registry = build_registry(SUPPORTED_LANGUAGES, self._lexicon)
        requested_entities = set(self.config.entities)
        for language in SUPPORTED_LANGUAGES:
            self._recognizers[language] = [
                recognizer
                for recognizer in registry.recognizers
                if recognizer.supported_language == language
                and requested_entities.intersection(recognizer.supported_entities)
            ]
        for recognizers in self._recognizers.values():
            for recognizer in recognizers:
                self._context_patterns[recognizer.name] = _compile_context(recognizer)
                self._prefilters[recognizer.name] = _prefilter_of(recognizer)

        self._language_detector = LanguageDetector()
        if self._pool is not None:
            try:
                self._pool.wait_until_started()
            except BaseException:
                self.close()
                raise
        logger.info(
            "PII engine loaded: model %s, %d entity types, operator %s",
            self.config.spacy_model,
            len(self.config.entities),
            self.config.operator,
        )
        return self

    def close(self) -> None:
        """Stop the worker processes, if any. The engine still works afterwards, in one process."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> "PiiEngine":
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.close()

    def _require_loaded(self) -> None:
        if self._nlp is None:
            raise RuntimeError("PiiEngine is not loaded: call engine.load() before using it")

    # -- language ------------------------------------------------------------------------

    def detect_language(self, text: str) -> str:
        """Return ``"fr"`` or ``"en"``. A text whose language is unclear is taken as French."""
        self._require_loaded()
        return self._language_detector.detect(text)

    @staticmethod
    def _check_languages(
        texts: Sequence[str], languages: Sequence[str | None] | None
    ) -> list[str | None]:
        """Return one lower-case supported language or None (detect it) per text."""
        if languages is None:
            return [None] * len(texts)
        if len(languages) != len(texts):
            raise ValueError(
                f"languages has {len(languages)} items but texts has {len(texts)}: "
                "give one language (or None) per text"
            )
        checked: list[str | None] = []
        for language in languages:
            if language is not None:
                language = language.lower()
                if language not in SUPPORTED_LANGUAGES:
                    raise ValueError(
                        f"unsupported language {language!r}: use one of "
                        f"{', '.join(SUPPORTED_LANGUAGES)} or None to detect it"
                    )
            checked.append(language)
        return checked

    # -- detection -----------------------------------------------------------------------

    def detect_batch(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> list[list[Detection]]:
        """Return, for each text, its detections sorted by start, disjoint, in input offsets."""
        detections, _ = self._detect(texts, languages)
        return detections

    def detect(self, text: str, language: str | None = None) -> list[Detection]:
        """Return the detections of one text (a batch of one)."""
        return self.detect_batch([text], [language])[0]

    def _detect(
        self, texts: Sequence[str], languages: Sequence[str | None] | None
    ) -> tuple[list[list[Detection]], list[str]]:
        self._require_loaded()
        checked_languages = self._check_languages(texts, languages)
        if self._pool is not None and len(texts) > self.config.batch_size:
            return self._pool.detect(texts, checked_languages, self.config.batch_size, self._detect_here)
        return self._detect_here(texts, checked_languages)

    def _detect_here(
        self, texts: Sequence[str], languages: Sequence[str | None]
    ) -> tuple[list[list[Detection]], list[str]]:
        """Detect in this process; ``languages`` holds one checked language or None per text."""
        resolved_languages = [
            self.detect_language(text) if language is None else language
            for text, language in zip(texts, languages, strict=True)
        ]
        views = [make_view(text) for text in texts]
        units = [
            _Unit(text_index, offset, chunk)
            for text_index, view in enumerate(views)
            for offset, chunk in split_into_chunks(view.text, self.config.max_chunk_chars)
        ]

        candidates: list[list[Detection]] = [[] for _ in texts]
        docs = self._nlp.pipe((unit.text for unit in units), batch_size=self.config.batch_size)
        for unit, doc in zip(units, docs, strict=True):
            language = resolved_languages[unit.text_index]
            view = views[unit.text_index]
            for start, end, entity_type, score in self._analyze_unit(unit.text, doc, language):
                source_start, source_end = view.to_source(start + unit.offset, end + unit.offset)
                candidates[unit.text_index].append(
                    Detection(source_start, source_end, entity_type, score)
                )

        results = [
            self._finalize(text, text_candidates)
            for text, text_candidates in zip(texts, candidates, strict=True)
        ]
        return results, resolved_languages

    def _analyze_unit(self, text: str, doc, language: str) -> list[tuple[int, int, str, float]]:
        threshold = self.config.score_threshold
        entities = list(self.config.entities)
        found: list[tuple[int, int, str, float]] = []

        if "PERSON" in self.config.entities:
            for entity in doc.ents:
                if entity.label_ not in SPACY_PERSON_LABELS:
                    continue
                start, end = _strip_non_word(text, entity.start_char, entity.end_char)
                end = _trim_name_tail(text, start, end)
                title = TITLE_PATTERN.match(text, start, end)
                if title is not None:
                    # `M. Dupont`: the title stays readable, like in the rule-based spans.
                    start = title.end()
                if start < end and self._is_plausible_name(text, start, end):
                    found.append((start, end, "PERSON", NER_PERSON_SCORE))

        digit_count = len(_DIGIT.findall(text))
        for recognizer in self._recognizers[language]:
            if not self._prefilters[recognizer.name].may_match(text, digit_count):
                continue
            context = self._context_patterns.get(recognizer.name)
            for result in recognizer.analyze(text, entities, None):
                score = result.score
                if context is not None and score < 1.0 and _has_context(text, result, context):
                    score = max(min(1.0, score + CONTEXT_SCORE_BOOST), CONTEXT_MIN_SCORE)
                if score >= threshold:
                    found.append((result.start, result.end, result.entity_type, score))
        return found

    def _is_plausible_name(self, text: str, start: int, end: int) -> bool:
        """Return whether a spaCy PER span can be a name.

        The French model, also run on English text, tags capitalised verbs (`Remboursez-moi`),
        acronyms (`CB`), sentence openers (`Disappointing`) and phrases (`fried noodles`).
        A kept span has only letters, spaces, hyphens, apostrophes and dots. Every word is
        capitalised except surname particles, and the first word is not a stop word. A single
        word must be a known first name when it starts a sentence or is CamelCase (`HelloFresh`).
        """
        value = text[start:end]
        if not _NAME_CHARACTERS.fullmatch(value):
            return False
        if IMPERATIVE_PRONOUN.match(text, end):
            return False
        words = _NAME_WORD.findall(value)
        if not words:
            return False
        lexicon = self._lexicon
        if words[0].casefold() in STOP_WORDS and words[0].casefold() not in SURNAME_PARTICLES:
            return False
        for word in words:
            if not (word[0].isupper() or word.casefold() in SURNAME_PARTICLES):
                return False
        if not any(
            len(word) > 1 and (lexicon.is_first_name(word) or not lexicon.is_common_word(word))
            for word in words
        ):
            return False
        if len(words) == 1:
            word = words[0]
            if _CAMEL_CASE.search(word) and not lexicon.is_first_name(word):
                return False
            if word.isupper() and len(word) <= 3 and not lexicon.is_first_name(word):
                return False
            if _starts_sentence(text, start) and not lexicon.is_first_name(word):
                return False
        return True

    def _finalize(self, text: str, candidates: list[Detection]) -> list[Detection]:
        expanded = []
        for candidate in candidates:
            start, end = expand_to_word_boundaries(text, candidate.start, candidate.end)
            if self._is_allowed(text[start:end], candidate.entity_type):
                continue
            expanded.append(Detection(start, end, candidate.entity_type, candidate.score))
        return resolve_overlaps(text, expanded)

    def _is_allowed(self, value: str, entity_type: str) -> bool:
        """Return whether the allow list keeps ``value`` readable.

        A name or an address that contains an allowed term as whole words is dropped entirely,
        so `J'adore Hello Fresh` stays readable when `Hello Fresh` is allowed. Other types need
        an exact match.
        """
        if self._allow_pattern is None:
            return False
        if entity_type in ("PERSON", "LOCATION"):
            return self._allow_pattern.search(value) is not None
        return value.strip().casefold() in self._allow_list

    # -- masking -------------------------------------------------------------------------

    def mask_batch(
        self,
        texts: Sequence[str],
        languages: Sequence[str | None] | None = None,
        operator: Operator | None = None,
    ) -> list[MaskResult]:
        """Detect and mask each text with ``operator`` (default: the configured one)."""
        replace = self._replacer(operator or self.config.operator)
        detections, resolved_languages = self._detect(texts, languages)
        return [
            MaskResult(apply_operator(text, text_detections, replace), text_detections, language)
            for text, text_detections, language in zip(
                texts, detections, resolved_languages, strict=True
            )
        ]

    def mask(self, text: str, language: str | None = None, operator: Operator | None = None) -> MaskResult:
        """Detect and mask one text (a batch of one)."""
        return self.mask_batch([text], [language], operator)[0]

    def _replacer(self, operator: Operator) -> Replacer:
        self.config.check_operator_key(operator)
        if operator == "tag":
            return tag
        if operator == "pseudonym":
            return make_pseudonymizer(self.config.pseudonym_key)
        if operator == "encrypt":
            return make_encryptor(self.config.encryption_key)
        raise ValueError(f"unknown operator {operator!r}: use 'tag', 'pseudonym' or 'encrypt'")


def _prefilter_of(recognizer: EntityRecognizer) -> _Prefilter:
    """Return the cheap condition a text must meet for ``recognizer`` to find anything in it.

    Presidio's email pattern needs a literal `@`. This project's number recognizers declare the
    fewest digits of a match in ``MIN_DIGITS``, and a recognizer may declare in ``HINT`` a
    pattern that every match contains. Other recognizers always run.
    """
    if isinstance(recognizer, EmailRecognizer):
        return _Prefilter(required_character="@")
    return _Prefilter(min_digits=getattr(recognizer, "MIN_DIGITS", 0), hint=getattr(recognizer, "HINT", None))


def _compile_context(recognizer: EntityRecognizer) -> re.Pattern[str] | None:
    words = getattr(recognizer, "context", None) if isinstance(recognizer, PatternRecognizer) else None
    if not words:
        return None
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _has_context(text: str, result, context: re.Pattern[str]) -> bool:
    before = text[max(0, result.start - CONTEXT_CHARS_BEFORE) : result.start]
    after = text[result.end : result.end + CONTEXT_CHARS_AFTER]
    return context.search(before) is not None or context.search(after) is not None


def _starts_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\u00a0\"'«(")
    return not before or before[-1] in ".!?\n…:"


def _trim_name_tail(text: str, start: int, end: int) -> int:
    """Return the end of a spaCy PER span without its trailing stop words and verbs.

    The model runs a name into the next sentence when no full stop separates them: `Aimé Merci`,
    `Rose Bonnet Écrivez` (from `Écrivez-moi`).
    """
    while True:
        words = list(_SPACED_WORD.finditer(text, start, end))
        if len(words) < 2:
            return end
        last = words[-1]
        folded = last.group().casefold()
        imperative = IMPERATIVE_PRONOUN.match(text, last.end()) is not None
        if not imperative and (folded not in STOP_WORDS or folded in SURNAME_PARTICLES):
            return end
        end = _strip_non_word(text, start, words[-2].end())[1]


def _strip_non_word(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum() and text[end - 1] != ".":
        end -= 1
    return start, end

