"""Recognizers for phone numbers, obfuscated email addresses and French licence plates."""

import phonenumbers
import regex
from presidio_analyzer import Pattern, PatternRecognizer

# Between two digits of a phone number: at most three separators among space, dot and dash, so
# that `06 12 34 56 78`, `06.12.34.56.78`, `0 6 1 2 …` and `0 1 - 6 4 - 7 7` all match.
_PHONE_GAP = r"[ \u00a0\u202f.\-]{0,3}"


class PhoneNumberRecognizer(PatternRecognizer):
    """Phone numbers as French and English reviewers write them.

    French national numbers (`06 12 34 56 78`, `0612345678`, dots, dashes), French international
    forms (`+33 6 …`, `+33 (0)6 …`, `0033 6 …`), other international numbers (`+1 …`, `+44 …`)
    and North American numbers (`(526) 057-4793`, `829-994-6545`). A candidate is kept only when
    ``phonenumbers`` reports that its digit count is possible for its country.
    """

    PATTERNS = [
        Pattern(
            "FR_NATIONAL",
            r"(?<![\w+])0" + _PHONE_GAP + r"[1-9](?:" + _PHONE_GAP + r"\d){8}(?![\w])",
            0.6,
        ),
        Pattern(
            "INTERNATIONAL",
            r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}" + _PHONE_GAP + r"(?:\(0\)" + _PHONE_GAP + r")?"
            r"\(?\d{1,4}\)?(?:" + _PHONE_GAP + r"\d){5,12}(?![\w])",
            0.6,
        ),
        Pattern(
            "NORTH_AMERICAN",
            r"(?<![\w+])(?:\(\d{3}\)[ \u00a0]?|\d{3}[ \u00a0.\-])\d{3}[ \u00a0.\-]\d{4}(?![\w])",
            0.5,
        ),
    ]
    # Minimum number of digits in a match (the international form: 1 + 1 + 5); texts with
    # fewer digits are not scanned.
    MIN_DIGITS = 7
    CONTEXT = [
        "tel", "tél", "téléphone", "telephone", "portable", "mobile", "numéro", "numero", "appel",
        "appelez", "rappelez", "appelle", "joignable", "joindre", "contact", "standard", "fixe",
        "phone", "call", "cell", "reach", "text",
    ]

    def __init__(self, supported_language: str = "fr") -> None:
        super().__init__(
            supported_entity="PHONE_NUMBER",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            name=f"PhoneNumberRecognizer_{supported_language}",
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = "".join(character for character in pattern_text if character.isdigit())
        if pattern_text.lstrip().startswith(("+", "00")):
            number = "+" + digits[2:] if pattern_text.lstrip().startswith("00") else "+" + digits
            # `+33 (0)6 …`: the trunk 0 in brackets is written but not dialled.
            number = number.replace("+330", "+33", 1) if "(0)" in pattern_text else number
            return None if _is_possible(number, None) else False
        if len(digits) == 10 and digits[0] == "0":
            return None if _is_possible(digits, "FR") else False
        return None if _is_possible(digits, "US") else False


def _is_possible(number: str, region: str | None) -> bool:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(parsed)


# `@` and `.` as people write them to dodge address harvesters: `[at]`, `(at)`, `{@}`, `[dot]`.
_BRACKETED_AT = r"[ ]?[\[({][ ]?(?:at|@|arobase)[ ]?[\])}][ ]?"
_BRACKETED_DOT = r"[ ]?[\[({][ ]?(?:dot|point|\.)[ ]?[\])}][ ]?"
_SPELLED_DOT = r"[ ](?:dot|point)[ ]"
_LOCAL_PART = r"(?<![\w.+-])[\w+-]+(?:\.[\w+-]+)*"
_DOMAIN_LABEL = r"[\w-]+"
_TOP_LEVEL_DOMAIN = r"[a-z]{2,24}(?![\w])"


class ObfuscatedEmailRecognizer(PatternRecognizer):
    """Email addresses written to dodge robots, tagged ``EMAIL_ADDRESS``.

    `jean.dupont [at] gmail [dot] com`, `jean(at)free.fr`, `jean arobase orange point fr` and
    `jean at gmail dot com`. A bare ` at ` counts only with a spelled-out dot, so that
    `we met at booking.com` stays readable.
    """

    PATTERNS = [
        Pattern(
            "BRACKETED_AT",
            rf"{_LOCAL_PART}{_BRACKETED_AT}{_DOMAIN_LABEL}"
            rf"(?:(?:{_BRACKETED_DOT}|{_SPELLED_DOT}|\.){_DOMAIN_LABEL})*?"
            rf"(?:{_BRACKETED_DOT}|{_SPELLED_DOT}|\.){_TOP_LEVEL_DOMAIN}",
            0.7,
        ),
        Pattern(
            "SPELLED_AT",
            rf"{_LOCAL_PART}[ ](?:arobase|at)[ ]{_DOMAIN_LABEL}"
            rf"(?:(?:{_BRACKETED_DOT}|{_SPELLED_DOT}){_DOMAIN_LABEL})*?"
            rf"(?:{_BRACKETED_DOT}|{_SPELLED_DOT}){_TOP_LEVEL_DOMAIN}",
            0.6,
        ),
        Pattern(
            "AROBASE",
            rf"{_LOCAL_PART}[ ]arobase[ ]{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*?\.{_TOP_LEVEL_DOMAIN}",
            0.6,
        ),
    ]
    CONTEXT = ["mail", "email", "e-mail", "courriel", "adresse", "écrivez", "contact", "write"]
    # Found in every match: the engine skips the patterns on a text without it.
    HINT = regex.compile(
        rf"{_BRACKETED_AT}|[ ]arobase[ ]|[ ]at[ ][\w-]+(?:{_BRACKETED_DOT}|{_SPELLED_DOT})",
        regex.IGNORECASE,
    )

    def __init__(self, supported_language: str = "fr") -> None:
        super().__init__(
            supported_entity="EMAIL_ADDRESS",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            name=f"ObfuscatedEmailRecognizer_{supported_language}",
            global_regex_flags=regex.MULTILINE | regex.DOTALL | regex.IGNORECASE,
        )


# Letters used on French SIV plates. The official series skips I, O and U, but plates written
# in reviews are often misread or invented, so every capital letter is accepted and the shape
# (two letters, three digits, two letters, with dashes) carries the evidence.
_PLATE_LETTERS = "[A-Z]"


class FrLicensePlateRecognizer(PatternRecognizer):
    """French licence plates: SIV `AA-123-AA` (since 2009) and the older FNI `123 ABC 75`."""

    PATTERNS = [
        Pattern(
            "SIV_DASHED",
            rf"(?<![\w-]){_PLATE_LETTERS}{{2}}-\d{{3}}-{_PLATE_LETTERS}{{2}}(?![\w-])",
            0.6,
        ),
        Pattern(
            "SIV_SPACED",
            rf"(?<![\w-]){_PLATE_LETTERS}{{2}}[ ]?\d{{3}}[ ]?{_PLATE_LETTERS}{{2}}(?![\w-])",
            0.3,
        ),
        Pattern(
            "FNI",
            rf"(?<![\w-])\d{{1,4}}[ -]{_PLATE_LETTERS}{{1,3}}[ -](?:\d{{2}}|2A|2B|97\d)(?![\w-])",
            0.3,
        ),
    ]
    # Minimum number of digits in a match: FNI `1 A 2A`.
    MIN_DIGITS = 2
    CONTEXT = [
        "immatriculation", "immatriculé", "immatriculée", "immatriculee", "plaque", "véhicule",
        "vehicule", "voiture", "camion", "camionnette", "fourgon", "scooter", "moto",
        "licence plate", "license plate", "plate", "vehicle", "van", "car",
    ]

    def __init__(self, supported_language: str = "fr") -> None:
        super().__init__(
            supported_entity="FR_LICENSE_PLATE",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            name=f"FrLicensePlateRecognizer_{supported_language}",
            # Case-sensitive: plates are written in capitals, and `ab-123-cd` in lower case is
            # far more often an order reference or a product code.
            global_regex_flags=regex.MULTILINE | regex.DOTALL,
        )
