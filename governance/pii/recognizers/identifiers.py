"""Recognizers for identifiers that carry a checksum: NIR, SIRET, SIREN, IBAN and payment cards.

Each pattern only finds candidates. The checksum decides: an invalid number is dropped, so that
order numbers and tracking numbers of the same length stay readable. Digit runs are matched
whole: a pattern never starts or ends next to another digit, so a value is never found inside a
longer number.
"""

import regex
from presidio_analyzer import Pattern, PatternRecognizer
from stdnum import iban, luhn
from stdnum.fr import nir, siren, siret

# Separator allowed between digit groups: one space (also no-break space) or a dash.
_SEP = r"[ \u00a0\u202f-]?"


def _compact(value: str) -> str:
    return "".join(character for character in value if character.isalnum())


class FrNirRecognizer(PatternRecognizer):
    """French social-security number (NIR), 15 characters, written compact or with spaces.

    Checks the key: 97 - (first 13 digits mod 97), with ``2A`` read as 19 and ``2B`` as 18.
    """

    PATTERNS = [
        Pattern(
            "NIR",
            r"(?<![\w])[1-478]" + _SEP + r"\d{2}" + _SEP + r"(?:0[1-9]|1[0-2]|[2-9]\d)" + _SEP
            + r"(?:\d{2}|2[AB])" + _SEP + r"\d{3}" + _SEP + r"\d{3}" + _SEP + r"\d{2}(?![\w])",
            0.3,
        ),
    ]
    MIN_DIGITS = 14  # 15 characters, one of them a letter in `2A` or `2B`
    CONTEXT = [
        "sécurité sociale", "securite sociale", "sécu", "secu", "nir", "insee", "numéro ss",
        "carte vitale", "vitale", "social security", "assuré",
    ]

    def __init__(self, supported_language: str = "fr") -> None:
        super().__init__(
            supported_entity="FR_NIR",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            name=f"FrNirRecognizer_{supported_language}",
        )

    def validate_result(self, pattern_text: str) -> bool:
        return nir.is_valid(_compact(pattern_text))


class FrSiretRecognizer(PatternRecognizer):
    """French establishment number (SIRET): 14 digits, Luhn, with the La Poste exception."""

    PATTERNS = [
        Pattern(
            "SIRET",
            r"(?<![\w])\d{3}" + _SEP + r"\d{3}" + _SEP + r"\d{3}" + _SEP + r"\d{5}(?![\w])",
            0.3,
        ),
    ]
    MIN_DIGITS = 14
    CONTEXT = ["siret", "établissement", "entreprise", "société", "company", "business"]

    def __init__(self, supported_language: str = "fr") -> None:
        super().__init__(
            supported_entity="FR_SIRET",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            name=f"FrSiretRecognizer_{supported_language}",
        )

    def validate_result(self, pattern_text: str) -> bool:
        return siret.is_valid(_compact(pattern_text))


class FrSirenRecognizer(PatternRecognizer):
    """French company number (SIREN): 9 digits with a Luhn check.

    One random 9-digit number in ten passes Luhn, so a valid checksum alone is not enough: the
    score stays low unless a context word such as "siren" is nearby.
    """

    PATTERNS = [
        Pattern(
            "SIREN",
            r"(?<![\w])\d{3}" + _SEP + r"\d{3}" + _SEP + r"\d{3}(?![\w]|" + _SEP + r"\d)",
            0.2,
        ),
    ]
    MIN_DIGITS = 9
    CONTEXT = ["siren", "rcs", "entreprise", "société", "company"]

    def __init__(self, supported_language: str = "fr") -> None:
        super().__init__(
            supported_entity="FR_SIREN",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            name=f"FrSirenRecognizer_{supported_language}",
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        # None keeps the pattern score, so that only a context word lifts it above threshold.
        return None if siren.is_valid(_compact(pattern_text)) else False


class IbanCodeRecognizer(PatternRecognizer):
    """IBAN of any country, compact or in groups of four, checked with ISO 13616 mod 97.

    Letters may be in lower case (`fr76 3000 …`), as people type them. The checksum and the
    country's length decide.
    """

    PATTERNS = [
        Pattern(
            "IBAN",
            r"(?<![\w])(?i:[A-Z]{2}\d{2}(?:[ \u00a0-]?[A-Z0-9]{4}){2,7}(?:[ \u00a0-]?[A-Z0-9]{1,3})?)"
            r"(?![\w])",
            0.3,
        ),
    ]
    MIN_DIGITS = 2  # the check digits; the account part may be letters
    CONTEXT = ["iban", "rib", "compte", "virement", "bancaire", "account", "bank", "transfer"]

    def __init__(self, supported_language: str = "fr") -> None:
        super().__init__(
            supported_entity="IBAN_CODE",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            name=f"IbanCodeRecognizer_{supported_language}",
            global_regex_flags=regex.MULTILINE | regex.DOTALL,
        )

    def validate_result(self, pattern_text: str) -> bool:
        return iban.is_valid(_compact(pattern_text))


class PaymentCardRecognizer(PatternRecognizer):
    """Payment card number of 13 to 19 digits, compact or grouped, checked with Luhn.

    The first digits must belong to a card network that issues such numbers: 2 and 5
    (Mastercard, including the 2221-2720 range), 3 (American Express, Diners, JCB), 4 (Visa),
    6 (Discover, UnionPay, Maestro).
    """

    PATTERNS = [
        Pattern("CARD_GROUPED_4", r"(?<![\w])[2-6]\d{3}(?:[ \u00a0-]\d{4}){2}[ \u00a0-]\d{1,7}(?![\w])", 0.3),
        Pattern("CARD_AMEX", r"(?<![\w])3[47]\d{2}[ \u00a0-]\d{6}[ \u00a0-]\d{5}(?![\w])", 0.3),
        Pattern("CARD_COMPACT", r"(?<![\w])[2-6]\d{12,18}(?![\w])", 0.3),
    ]
    MIN_DIGITS = 13
    CONTEXT = [
        "carte", "cb", "visa", "mastercard", "amex", "bancaire", "paiement", "débité", "prélevé",
        "card", "credit", "debit", "payment", "charged",
    ]

    def __init__(self, supported_language: str = "fr") -> None:
        super().__init__(
            supported_entity="CREDIT_CARD",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            name=f"PaymentCardRecognizer_{supported_language}",
        )

    def validate_result(self, pattern_text: str) -> bool:
        digits = _compact(pattern_text)
        return 13 <= len(digits) <= 19 and luhn.is_valid(digits)
