"""Turn overlapping candidate spans into disjoint detections that mask every candidate character.

Recognizers disagree: spaCy may tag ``Contactez jean.martin`` as a person inside an email, the
URL pattern finds ``example.com`` inside an email, a street name contains a first name. The rule
here: the candidate of the highest priority keeps its whole span, and lower candidates keep only
the parts that no higher candidate covers. The union of all candidates is therefore masked, and
each masked character gets the type of the strongest candidate that covers it.
"""

import unicodedata

from governance.pii.types import Detection

# Higher wins an overlap. Checksum-validated identifiers first, then structured contact data,
# then the fuzzier address and name detections.
ENTITY_PRIORITY: dict[str, int] = {
    "FR_NIR": 90,
    "IBAN_CODE": 85,
    "FR_SIRET": 80,
    "CREDIT_CARD": 75,
    "EMAIL_ADDRESS": 70,
    "PHONE_NUMBER": 65,
    "FR_SIREN": 60,
    "FR_LICENSE_PLATE": 55,
    "LOCATION": 40,
    "PERSON": 30,
}


# Types whose values are several words: two pieces one space apart are one value.
_MULTI_WORD_TYPES = frozenset({"PERSON", "LOCATION"})


def _is_word_character(character: str) -> bool:
    return character.isalnum() or unicodedata.category(character).startswith("M")


def expand_to_word_boundaries(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow ``[start, end)`` so that it neither starts nor ends inside a word or a number.

    A recognizer that matched ``0612345678`` inside ``06123456789999`` would otherwise leave the
    rest of the number readable.
    """
    while start > 0 and _is_word_character(text[start - 1]) and _is_word_character(text[start]):
        start -= 1
    while end < len(text) and _is_word_character(text[end]) and _is_word_character(text[end - 1]):
        end += 1
    return start, end


def resolve_overlaps(text: str, candidates: list[Detection]) -> list[Detection]:
    """Return disjoint detections, sorted by start, that together cover every candidate."""
    ranked = sorted(
        candidates,
        key=lambda item: (
            -ENTITY_PRIORITY.get(item.entity_type, 0),
            -item.score,
            -(item.end - item.start),
            item.start,
        ),
    )
    covered_spans: list[tuple[int, int]] = []
    accepted: list[Detection] = []
    for candidate in ranked:
        for piece_start, piece_end in _subtract(candidate.start, candidate.end, covered_spans):
            # A piece left over by a cut keeps no whitespace at its edges.
            while piece_start < piece_end and text[piece_start].isspace():
                piece_start += 1
            while piece_end > piece_start and text[piece_end - 1].isspace():
                piece_end -= 1
            if not any(_is_word_character(character) for character in text[piece_start:piece_end]):
                continue
            accepted.append(Detection(piece_start, piece_end, candidate.entity_type, candidate.score))
            covered_spans.append((piece_start, piece_end))
    return _merge_touching(text, sorted(accepted, key=lambda item: item.start))


def _subtract(start: int, end: int, covered_spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    pieces = [(start, end)]
    for covered_start, covered_end in covered_spans:
        next_pieces: list[tuple[int, int]] = []
        for piece_start, piece_end in pieces:
            if covered_end <= piece_start or covered_start >= piece_end:
                next_pieces.append((piece_start, piece_end))
                continue
            if piece_start < covered_start:
                next_pieces.append((piece_start, covered_start))
            if covered_end < piece_end:
                next_pieces.append((covered_end, piece_end))
        pieces = next_pieces
    return pieces


def _merge_touching(text: str, detections: list[Detection]) -> list[Detection]:
    """Merge neighbours of one type that touch, and names or addresses separated by one space,
    so that one value (`Julie Dupont` found as two pieces) gets one replacement."""
    merged: list[Detection] = []
    for detection in detections:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous.entity_type == detection.entity_type
            and (
                previous.end >= detection.start
                or (
                    detection.entity_type in _MULTI_WORD_TYPES
                    and text[previous.end : detection.start] == " "
                )
            )
        ):
            merged[-1] = Detection(
                previous.start,
                max(previous.end, detection.end),
                previous.entity_type,
                max(previous.score, detection.score),
            )
        else:
            merged.append(detection)
    return merged
