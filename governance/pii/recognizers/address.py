"""Recognizer for street-level French postal addresses, tagged ``LOCATION``.

A street address identifies a household, so it is personal data. A town, a region or a country
alone is not, and stays readable: the recognizer needs a street type (``rue``, ``avenue``, …)
and either a house number or a postcode. A street name in lower case also needs a context word.
"""

import regex
from presidio_analyzer import Pattern, PatternRecognizer

_STREET_TYPES = (
    "rue", "avenue", "av", "boulevard", "bd", "bld", "allée", "allee", "chemin", "impasse",
    "place", "route", "quai", "cours", "square", "passage", "résidence", "residence",
    "lotissement", "voie", "sentier", "faubourg", "rond-point", "hameau", "lieu-dit", "cité",
    "cite", "parvis", "promenade", "esplanade", "villa", "ruelle", "montée", "montee", "traverse",
)
_STREET_TYPE = r"(?i:" + "|".join(_STREET_TYPES) + r")\.?"

# House number with an optional repetition index: `12`, `12 bis`, `12ter`, `12 B`.
_NUMBER = r"\d{1,4}(?:[ ]?(?i:bis|ter|quater|[a-d])\b)?"

# Street name: up to six words, each a capitalised or lower-case word, a particle or a number.
_WORD = r"[\w'’\-]+"
_STREET_NAME = rf"{_WORD}(?:[ ]{{1,2}}{_WORD}){{0,5}}?"

# Town after the postcode: one word, then more words only while they are capitalised or joined
# by a hyphen (`Saint-Malo`, `Sainte Maurice-la-Forêt`, `Le Rouxdan`), or after Saint/Le/La.
_TOWN_WORD = r"[^\W\d_][\w'’]*(?:-[\w'’]+)*"
_TOWN = (
    rf"(?:(?:[Ss]ainte|[Ss]aint|[Ss]te|[Ss]t|[Ll]es|[Ll]e|[Ll]a)[ -]|[Ll]['’])?{_TOWN_WORD}"
    r"(?:[ ](?:[A-ZÀ-Ý][\w'’]*(?:-[\w'’]+)*|CEDEX|Cedex|cedex)(?:[ ]\d{1,2})?){0,2}"
)
_POSTCODE = r"(?:\d{5}|\d{2}[ ]\d{3})"


class StreetAddressRecognizer(PatternRecognizer):
    """French street address as one span: number, street type, name, postcode and town."""

    PATTERNS = [
        Pattern(
            "ADDRESS_FULL",
            rf"(?<![\w])(?:{_NUMBER},?[ ]{{1,2}})?{_STREET_TYPE}[ ]{{1,2}}{_STREET_NAME}"
            rf",?[ ]{{1,2}}{_POSTCODE}[ ]{{1,2}}{_TOWN}",
            0.85,
        ),
        Pattern(
            "ADDRESS_STREET",
            rf"(?<![\w]){_NUMBER},?[ ]{{1,2}}{_STREET_TYPE}[ ]{{1,2}}(?:(?i:de|du|des|de la|de l'|d'|la|le|les)[ ])?"
            r"[A-ZÀ-Ý][\w'’\-]*(?:[ ](?:de|du|des|la|le|les|d'|l'|[A-ZÀ-Ý][\w'’\-]*)){0,4}",
            0.6,
        ),
        # `3 rue des lilas`: a lower-case street name has no capital to end it, so it takes at
        # most three words and needs a context word (`habite`, `livraison`…) to pass the threshold.
        Pattern(
            "ADDRESS_STREET_LOWER",
            rf"(?<![\w]){_NUMBER},?[ ]{{1,2}}{_STREET_TYPE}[ ]{{1,2}}"
            r"(?:(?:de|du|des|de la|de l'|d'|la|le|les)[ ])?(?!(?:et|ou|à|a|pour|mais|avec|en)\b)"
            r"[a-zà-ÿ][\w'’\-]+(?:[ ](?!(?:et|ou|à|a|pour|mais|avec|en|depuis|dans|sur|qui|que)\b)"
            r"[a-zà-ÿ][\w'’\-]+){0,2}",
            0.3,
        ),
    ]
    # Minimum number of digits in a match: a house number or a postcode.
    MIN_DIGITS = 1
    CONTEXT = [
        "adresse", "habite", "domicile", "résidant", "résident", "demeurant", "livraison",
        "livré", "colis", "address", "live", "lives",
    ]

    def __init__(self, supported_language: str = "fr") -> None:
        super().__init__(
            supported_entity="LOCATION",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            name=f"StreetAddressRecognizer_{supported_language}",
            # Case-sensitive except inside (?i:…) groups, so that the town stops at the first
            # word that is not capitalised.
            global_regex_flags=regex.MULTILINE | regex.DOTALL,
        )
