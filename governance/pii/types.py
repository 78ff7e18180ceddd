"""Result types returned by the personal-data engine."""

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, order=True)
class Detection:
    """A span of personal data, with offsets in Python code points into the input text.

    ``end`` is exclusive, so ``text[start:end]`` is the detected value.
    """

    start: int
    end: int
    entity_type: str
    score: float


@dataclass(frozen=True, slots=True)
class MaskResult:
    """A masked text, the detections that were masked and the language used to analyse it."""

    masked_text: str
    detections: list[Detection] = field(default_factory=list)
    language: str = "fr"
