"""Stock Presidio as a baseline: default recognizers, the same spaCy model, default anonymizer.

Used by ``review-gov pii evaluate`` to print the baseline beside this project's figures.
"""

import governance.pii  # noqa: F401  (empties the tldextract download URL before Presidio loads)

from collections.abc import Sequence

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_anonymizer import AnonymizerEngine

from governance.pii.analyzer import load_spacy_pipeline
from governance.pii.config import SUPPORTED_LANGUAGES
from governance.pii.types import Detection

# The threshold at which stock Presidio was first measured on the review set.
STOCK_SCORE_THRESHOLD = 0.35


class StockPresidio:
    """Presidio 2.2 as shipped: predefined recognizers for fr and en, one text at a time."""

    def __init__(self, spacy_model: str = "fr_core_news_md", threshold: float = STOCK_SCORE_THRESHOLD):
        # Fails with a clear message, instead of a download attempt, when the model is missing.
        load_spacy_pipeline(spacy_model)
        languages = list(SUPPORTED_LANGUAGES)
        nlp_engine = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": language, "model_name": spacy_model} for language in languages],
            }
        ).create_engine()
        registry = RecognizerRegistry(supported_languages=languages)
        registry.load_predefined_recognizers(languages=languages, nlp_engine=nlp_engine)
        self.analyzer = AnalyzerEngine(
            registry=registry, nlp_engine=nlp_engine, supported_languages=languages
        )
        self.anonymizer = AnonymizerEngine()
        self.threshold = threshold

    def mask_batch(
        self, texts: Sequence[str], languages: Sequence[str | None]
    ) -> tuple[list[list[Detection]], list[str]]:
        """Return the detections and the anonymized text of each text."""
        all_detections, masked_texts = [], []
        for text, language in zip(texts, languages, strict=True):
            results = self.analyzer.analyze(
                text, language=language or "fr", score_threshold=self.threshold
            )
            all_detections.append(
                [Detection(result.start, result.end, result.entity_type, result.score) for result in results]
            )
            masked_texts.append(self.anonymizer.anonymize(text, results).text)
        return all_detections, masked_texts
