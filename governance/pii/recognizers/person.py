"""Rule-based recognizer for person names the way customers write them.

spaCy's French model finds well-capitalised names in running text. It misses names written in
lower case (``marie dupont``), in capitals (``DUPONT Marie``), as ``Nom, Prénom``, after a title
(``Mme martin``) and short staff first names (``merci à Julie``). This recognizer adds them with
three rules:

* a title (``M.``, ``Mme``, ``Dr``, ``Mrs``…) followed by one to three name words, in any case;
* a trigger (``merci à``, ``la conseillère``, ``Cordialement,``, ``--``, ``thanks to``,
  ``our server``…) followed by capitalised name words, or by a known first name in any case;
* a known first name (from ``data/first_names.txt``) next to a word that looks like a surname,
  in any case and in either order.

A word "looks like a name" when it is not a common French word: common words come from the
spaCy pipeline's lemmatizer tables (nouns, verbs, adjectives and their inflections) and its stop
words. A first name that is also a common word (``Claire``, ``Pierre``, ``Rose``) is only taken
next to a surname or after a trigger.
"""

import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

from presidio_analyzer import EntityRecognizer, RecognizerResult

# Particles that may sit inside a surname: `Laurence De Sousa`, `Le Roux`, `Van Damme`.
_SURNAME_PARTICLES = frozenset(
    {"de", "du", "des", "le", "la", "da", "dos", "di", "van", "von", "der", "den", "el", "ben", "mac"}
)

_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")

_TITLE = re.compile(
    r"(?<![\w.])(?:M\.|MM\.|Mr\.?|Mrs\.?|Ms\.?|Mme\.?|Mmes|Mlle\.?|Mlles|Dr\.?|Pr\.?|Me|"
    r"[Mm]onsieur|[Mm]adame|[Mm]ademoiselle|[Dd]octeur|[Pp]rofesseur|[Mm]a[iî]tre|[Mm]iss|"
    r"MONSIEUR|MADAME|MADEMOISELLE|DOCTEUR)[ \u00a0]+"
)

_TRIGGER = re.compile(
    r"(?i)(?<![\w])(?:"
    r"merci(?:[ ]+beaucoup)?(?:[ ]+(?:à|a))?|un[ ]+grand[ ]+merci(?:[ ]+(?:à|a))?|"
    r"bravo(?:[ ]+(?:à|a))?|remerci\w*(?:[ ]+(?:à|a))?|"
    r"(?:la|le|mon|ma|notre|votre|du|de[ ]+la|au|à[ ]+la)[ ]+(?:conseill(?:er|ère|ere)|livreur|livreuse|"
    r"vendeur|vendeuse|technicien(?:ne)?|chauffeur|opérat(?:eur|rice)|interlocut(?:eur|rice)|"
    r"gérant(?:e)?|responsable|agent|hôtesse|hotesse|serveur|serveuse|patient(?:e)?|assuré(?:e)?|"
    r"enfant|personne[ ]+suivie)|"
    r"cordialement|salutations|bien[ ]+à[ ]+vous|bien[ ]+a[ ]+vous|sign[ée]|"
    r"contact|je[ ]+m'appelle|je[ ]+m’appelle|"
    r"thanks?(?:[ ]+to)?|thank[ ]+you|ask[ ]+for|our[ ]+(?:server|waiter|waitress|host|hostess)|"
    r"(?:server|waiter|waitress|manager)|my[ ]+name[ ]+is|regards|sincerely"
    r")[ \u00a0]*[,:]?[ \u00a0\n]+|(?<![\w-])--[ \u00a0\n]*"
)


def _strip_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(character for character in decomposed if not unicodedata.combining(character))


@dataclass(frozen=True)
class NameLexicon:
    """Known first names and common words, both case-folded and also stored without accents."""

    first_names: frozenset[str]
    common_words: frozenset[str]

    @classmethod
    def load(cls, common_words: frozenset[str] = frozenset()) -> "NameLexicon":
        """Read the bundled first-name list; ``common_words`` usually comes from the spaCy pipeline."""
        text = resources.files("governance.pii.data").joinpath("first_names.txt").read_text("utf-8")
        names = {
            line.strip().casefold()
            for line in text.splitlines()
            if line.strip() and not line.startswith("#")
        }
        names |= {_strip_accents(name) for name in names}
        return cls(frozenset(names), frozenset(common_words))

    def is_first_name(self, word: str) -> bool:
        folded = word.casefold()
        return folded in self.first_names or _strip_accents(folded) in self.first_names

    def is_common_word(self, word: str) -> bool:
        return word.casefold() in self.common_words


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    text: str

    @property
    def is_capitalised(self) -> bool:
        return self.text[0].isupper() and not self.text.isupper()

    @property
    def is_upper(self) -> bool:
        return len(self.text) > 1 and self.text.isupper()

    @property
    def is_lower(self) -> bool:
        return self.text.islower()


class PersonRuleRecognizer(EntityRecognizer):
    """Person names found by titles, triggers and a first-name lexicon (see the module doc)."""

    TITLE_SCORE = 0.85
    TRIGGER_SCORE = 0.8
    PAIR_SCORE = 0.8
    SINGLE_FIRST_NAME_SCORE = 0.6

    def __init__(self, supported_language: str = "fr", lexicon: NameLexicon | None = None) -> None:
        self.lexicon = lexicon or NameLexicon.load()
        super().__init__(
            supported_entities=["PERSON"],
            supported_language=supported_language,
            name=f"PersonRuleRecognizer_{supported_language}",
        )

    def load(self) -> None:
        """Nothing to load: the lexicon is read in ``__init__``."""

    def analyze(self, text, entities, nlp_artifacts=None) -> list[RecognizerResult]:
        if entities and "PERSON" not in entities:
            return []
        tokens = [_Token(match.start(), match.end(), match.group()) for match in _WORD.finditer(text)]
        if not tokens:
            return []
        starts = {token.start: index for index, token in enumerate(tokens)}

        spans: list[tuple[int, int, float]] = []
        spans += self._after_pattern(text, tokens, starts, _TITLE, self.TITLE_SCORE, any_case=True)
        spans += self._after_pattern(text, tokens, starts, _TRIGGER, self.TRIGGER_SCORE, any_case=False)
        spans += self._around_first_names(text, tokens)
        return [
            RecognizerResult("PERSON", start, end, score) for start, end, score in spans
        ]

    # -- rules ---------------------------------------------------------------------------

    def _after_pattern(self, text, tokens, starts, pattern, score, any_case):
        spans = []
        for match in pattern.finditer(text):
            index = starts.get(match.end())
            if index is None:
                continue
            first = tokens[index]
            if not self._can_start_name(first, any_case):
                continue
            end_index = self._extend_name(text, tokens, index)
            end = self._with_initial(text, tokens[end_index].end)
            spans.append((first.start, end, score))
        return spans

    def _around_first_names(self, text, tokens):
        spans = []
        lexicon = self.lexicon
        for index, token in enumerate(tokens):
            if not lexicon.is_first_name(token.text) or len(token.text) < 3:
                continue
            start, end = token.start, token.end
            paired = False

            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if following is not None and self._joined(text, token, following) and self._is_surname(following, token):
                end = tokens[self._extend_name(text, tokens, index + 1)].end
                paired = True

            previous = tokens[index - 1] if index > 0 else None
            if previous is not None and self._is_surname(previous, token, before=True):
                gap = text[previous.end : token.start]
                # `Nom, Prénom` needs the case to mark the fields: `DUPONT, Marie`, `jouart, JACQUELINE`.
                comma_pair = gap in (", ", ",") and (previous.is_upper or token.is_upper)
                if gap in (" ", "\u00a0") or comma_pair:
                    start = previous.start
                    paired = True

            if paired:
                spans.append((start, self._with_initial(text, end), self.PAIR_SCORE))
            elif (token.is_capitalised or token.is_upper) and not lexicon.is_common_word(token.text):
                spans.append((start, self._with_initial(text, end), self.SINGLE_FIRST_NAME_SCORE))
        return spans

    # -- word tests ----------------------------------------------------------------------

    def _is_name_word(self, token: _Token) -> bool:
        """A word that may be part of a name: a known first name, or not a common word."""
        if len(token.text) < 2:
            return False
        return self.lexicon.is_first_name(token.text) or not self.lexicon.is_common_word(token.text)

    def _can_start_name(self, token: _Token, any_case: bool) -> bool:
        if token.text.casefold() in _SURNAME_PARTICLES and not token.is_capitalised:
            return False
        if token.is_capitalised or token.is_upper:
            return self._is_name_word(token) or self.lexicon.is_first_name(token.text)
        if any_case:
            return self._is_name_word(token)
        return self.lexicon.is_first_name(token.text) and not self.lexicon.is_common_word(token.text)

    def _is_surname(self, token: _Token, first_name: _Token, before: bool = False) -> bool:
        """Whether ``token`` next to ``first_name`` reads as its surname (cases must agree)."""
        if len(token.text) < 2 or token.text.casefold() in _SURNAME_PARTICLES:
            return False
        if self.lexicon.is_common_word(token.text) and not self.lexicon.is_first_name(token.text):
            return False
        if first_name.is_lower:
            return token.is_lower or token.is_upper
        if before:
            # `DUPONT Marie`, `jouart, JACQUELINE`: a surname written first stands out by case.
            return token.is_upper or (token.is_lower and first_name.is_upper)
        return token.is_capitalised or token.is_upper

    @staticmethod
    def _joined(text: str, left: _Token, right: _Token) -> bool:
        return text[left.end : right.start] in (" ", "\u00a0", "-")

    def _extend_name(self, text: str, tokens: list[_Token], index: int) -> int:
        """Return the index of the last token of the name that starts at ``tokens[index]``."""
        first = tokens[index]
        last = index
        for next_index in range(index + 1, min(index + 5, len(tokens))):
            token = tokens[next_index]
            if not self._joined(text, tokens[next_index - 1], token):
                break
            if token.text.casefold() in _SURNAME_PARTICLES:
                # A capitalised particle (`De` in `Laurence De Sousa`) is kept only when a name
                # word follows it; a lower-case one (`de`) ends the name.
                if token.is_capitalised:
                    continue
                break
            same_case = token.is_lower if first.is_lower else (token.is_capitalised or token.is_upper)
            if not same_case or not self._is_name_word(token):
                break
            last = next_index
        return last

    @staticmethod
    def _with_initial(text: str, end: int) -> int:
        """Extend a name over a following initial, as in `Marcel L.`."""
        match = re.match(r" [A-ZÀ-Ý]\.", text[end : end + 3])
        return end + 3 if match else end
