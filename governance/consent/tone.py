"""A lexicon rule that tells whether a review text is negative, for the ambassador list.

Ratings in real exports often contradict the text (a 5 on "livraison catastrophique"), so a
rating of 5 alone does not make a satisfied customer. The rule flags a text as negative when it
contains, outside a negation, a word or phrase of complaint (`déçu`, `problème`, `remboursement`,
`bémol`, `disappointed`...), or a negated positive word (`pas bon`, `jamais livré`, `not good`).
A complaint word right after a negation (`pas déçu`, `aucun problème`, `sans souci`) or right
before one (`il ne manque rien`) does not count.

The rule is deliberately strict: a text with a reservation (`petit bémol`, `dommage`) is not an
ambassador's text. Its measured behaviour on the bundled reviews is in docs/consent.md.
"""

from __future__ import annotations

import re
import unicodedata

# Stems matched at the start of a word, after lower-casing and removing accents.
NEGATIVE_STEMS = (
    # French
    "decu", "decue", "decevant", "deception", "catastroph", "horribl", "honte", "honteu",
    "scandal", "arnaqu", "escroc", "inadmissibl", "inacceptabl", "lamentabl", "deplorabl",
    "mediocr", "desastr", "probleme", "souci", "plainte", "reclamation", "rembours", "retard",
    "manqu", "abime", "dechir", "ecrase", "inconvenient", "mitige", "colere", "malhonnet", "casse", "perime", "pourri", "moisi", "injoignabl",
    "impossibl", "evitez", "fuyez", "desabonn", "resili", "dommage", "bemol", "malheureusement",
    "helas", "regrett", "insatisf", "mecontent", "enerv", "erreur", "oubli", "immangeabl",
    "degout", "insipid", "penibl", "galere", "cauchemar", "fade", "pire", "nul", "mauvais",
    "lent", "inutil", "faux", "vol", "critiqu", "neanmoins", "toutefois",
    # English
    "disappoint", "terribl", "awful", "worst", "bad", "poor", "problem", "refund", "late",
    "missing", "broken", "scam", "rude", "avoid", "horrible", "complain", "unhappy", "wrong",
)
# Words that are never a complaint although a stem above is a prefix of them.
NOT_NEGATIVE_WORDS = frozenset({
    "nullement", "volontiers", "volonte", "volaille", "volailles", "lentille", "lentilles",
    "casserole", "casseroles", "lateral", "badge", "later", "lately",
})
# A complaint word followed by one of these is about something else: "nul en cuisine".
NOT_A_COMPLAINT_AFTER = {"nul": "en", "nulle": "en", "nuls": "en"}
# Whole words of complaint that are too short to match as a prefix.
NEGATIVE_WORDS = frozenset({"mal", "cher", "chere", "chers", "cheres", "cata"})
# Phrases of reservation: a text with one is not an ambassador's text.
RESERVATION_PHRASES = re.compile(r"\b(?:par contre|en revanche|seul point|point negatif|a revoir)\b")
POSITIVE_STEMS = (
    "fiabl", "bon", "bonne", "frais", "fraich", "top", "genial", "terribl", "satisf", "content", "livr",
    "recu", "recommand", "hauteur", "rendez", "good", "great", "fresh", "happy", "deliver",
    "recommend", "worth",
)
# Negations that cancel a complaint word up to 3 words after them: "pas déçu", "sans souci".
NEGATORS = frozenset({
    "pas", "aucun", "aucune", "jamais", "sans", "ni", "plus", "rien", "guere",
    "no", "not", "never", "without", "nothing", "dont", "didnt", "doesnt", "isnt", "wasnt",
})
# Negations that turn the positive word up to 2 words after them into a complaint: "pas bon".
# "plus" and "sans" are left out because "de plus en plus bon" and "sans frais" are positive.
POSITIVE_NEGATORS = NEGATORS - {"plus", "sans"}
# Words that cancel a complaint word right before them: "il ne manque rien", "problem: none".
TRAILING_NEGATORS = frozenset({"rien", "aucun", "aucune", "nothing", "none"})
# How many words before a complaint word a negation still cancels it, and how many words after
# a negation a positive word is still negated.
NEGATION_REACH_BEFORE = 3
NEGATION_REACH_AFTER = 2
# Ratings written in the text, such as "1/5", "0 étoile" or "2 étoiles".
LOW_RATING_IN_TEXT = re.compile(r"\b[0-2]\s*(?:/\s*(?:5|10)|etoiles?)\b")

_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case the text and remove accents, so `Déçue` and `decue` compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def _is_negative_word(word: str) -> bool:
    if word in NEGATIVE_WORDS:
        return True
    if word in NOT_NEGATIVE_WORDS:
        return False
    return any(word.startswith(stem) for stem in NEGATIVE_STEMS)


def _is_positive_word(word: str) -> bool:
    return any(word.startswith(stem) for stem in POSITIVE_STEMS)


def negative_cues(text: str) -> list[str]:
    """Return the words or phrases that make `text` negative, in order; empty when it is not."""
    folded = fold(text).replace("'", " ").replace("\u2019", " ")
    words = _WORD.findall(folded)
    cues: list[str] = []
    for index, word in enumerate(words):
        before = words[max(0, index - NEGATION_REACH_BEFORE):index]
        after = words[index + 1:index + 1 + NEGATION_REACH_AFTER]
        if _is_negative_word(word) and not (after and NOT_A_COMPLAINT_AFTER.get(word) == after[0]):
            negated = any(item in NEGATORS for item in before) or any(
                item in TRAILING_NEGATORS for item in after
            )
            if not negated:
                cues.append(word)
        elif word in POSITIVE_NEGATORS:
            for following in after:
                if _is_positive_word(following):
                    cues.append(f"{word} {following}")
                    break
    cues.extend(match.group(0) for match in RESERVATION_PHRASES.finditer(" ".join(words)))
    cues.extend(match.group(0) for match in LOW_RATING_IN_TEXT.finditer(folded))
    return cues


def is_negative(text: str | None) -> bool:
    """Return True when the text contains a complaint; an empty text is not negative."""
    return bool(text) and bool(negative_cues(text))
