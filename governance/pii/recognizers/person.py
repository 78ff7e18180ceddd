"""Rule-based recognizer for person names the way customers write them.

spaCy's French model finds well-capitalised names in running text. It misses names written in
lower case (``marie dupont``), in capitals (``DUPONT Marie``), as ``Nom, Prénom``, after a title
(``Mme martin``) and short staff first names (``merci à Julie``). This recognizer adds them with
three rules:

* a title (``M.``, ``Mme``, ``Dr``, ``Mrs``…) followed by one to three name words, in any case;
* a trigger (``merci à``, ``la conseillère``, ``Cordialement,``, ``--``, ``thanks to``,
  ``our server``…) followed by capitalised name words, or by a known first name in any case;
* a known first name (from the lists in ``data/``) next to a word that looks like a surname,
  in any case and in either order;
* two or three capitalised name words alone at the start of a line, as in a signature.

A word "looks like a name" when it is not a common French word: common words come from the
spaCy pipeline's lemmatizer tables (nouns, verbs, adjectives and their inflections) and its stop
words. A first name that is also a common word (``Claire``, ``Pierre``, ``Rose``) is only taken
next to a surname or after a trigger.
"""

import re
import unicodedata
from collections.abc import Container
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import NamedTuple

from presidio_analyzer import EntityRecognizer, RecognizerResult
from spacy.lang.en.stop_words import STOP_WORDS as ENGLISHSTOP_WORDS
from spacy.lang.fr.stop_words import STOP_WORDS as FRENCHSTOP_WORDS

# Particles that may sit inside a surname: `Laurence De Sousa`, `Le Roux`, `Van Damme`.
SURNAME_PARTICLES = frozenset(
    {"de", "du", "des", "le", "la", "da", "dos", "di", "van", "von", "der", "den", "el", "ben", "mac"}
)

STOP_WORDS = frozenset(FRENCHSTOP_WORDS) | frozenset(ENGLISHSTOP_WORDS)

# Bundled first-name lists in `governance/pii/data`: French names written for this project, and
# frequent names of the United States census.
FIRST_NAME_FILES = ("first_names.txt", "first_names_us_census.txt")

# Maximum number of words in each lexicon memo (a few MB).
MAX_REMEMBERED_WORDS = 50_000

_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
# `Écrivez-moi`, `Remboursez-nous`: the pronoun after an imperative verb, which never ends a name.
IMPERATIVE_PRONOUN = re.compile(r"-(?:moi|toi|nous|vous|le|la|les|lui|leur|en|y)\b", re.IGNORECASE)

TITLE_PATTERN = re.compile(
    r"(?<![\w.])(?:M\.|MM\.|Mr\.?|Mrs\.?|Ms\.?|Mme\.?|Mmes|Mlle\.?|Mlles|Dr\.?|Pr\.?|Me|"
    r"[Mm]onsieur|[Mm]adame|[Mm]ademoiselle|[Dd]octeur|[Pp]rofesseur|[Mm]a[iî]tre|[Mm]iss|"
    r"MONSIEUR|MADAME|MADEMOISELLE|DOCTEUR)[ \u00a0]+"
)

# A strong trigger is almost always followed by a name when the next word is capitalised: a
# thank-you addressed to someone, a staff role, `thanks to`, `ask for`. A weak trigger
# (`Cordialement,`, `--`, `contact :`) is followed by a name less often, so the name word must
# not be a common word.
_STRONG_TRIGGER = re.compile(
    r"(?i)(?<![\w])(?:"
    r"(?:un[ ]+grand[ ]+)?merci(?:[ ]+beaucoup)?[ ]+(?:à|a)|bravo[ ]+(?:à|a)|remerci\w*[ ]+(?:à|a)|"
    r"(?:(?:la|le|mon|ma|notre|votre|du|de[ ]+la|au|à[ ]+la)[ ]+|l['’])(?:conseill(?:er|ère|ere)|"
    r"livreur|livreuse|vendeur|vendeuse|technicien(?:ne)?|chauffeur|opérat(?:eur|rice)|"
    r"interlocut(?:eur|rice)|gérant(?:e)?|responsable|agent|hôtesse|hotesse|serveur|serveuse|"
    r"patient(?:e)?|assuré(?:e)?|enfant|personne[ ]+suivie|usager|bénéficiaire)|je[ ]+m['’]appelle|"
    r"(?:patient(?:e)?|usager|bénéficiaire|client(?:e)?|assuré(?:e)?|nom|name)[ \u00a0]*:|usager|"
    r"thanks?[ ]+to|thank[ ]+you|ask[ ]+for|our[ ]+(?:server|waiter|waitress|host|hostess)|"
    r"(?:server|waiter|waitress|manager)|my[ ]+name[ ]+is"
    r")[ \u00a0]*[,:]?[ \u00a0\n]+"
)
_WEAK_TRIGGER = re.compile(
    r"(?i)(?<![\w])(?:"
    r"merci(?:[ ]+beaucoup)?|bravo|cordialement|cdlt|salutations|bien[ ]+[àa][ ]+vous|sign[ée]|"
    r"contact|thanks|regards|sincerely"
    r")[ \u00a0]*[,:]?[ \u00a0\n]+|(?<![\w-])--[ \u00a0\n]*"
)


def _strip_accents(word: str) -> str:
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(character for character in decomposed if not unicodedata.combining(character))


@dataclass(frozen=True)
class NameLexicon:
    """Known first names and common words, all case-folded.

    ``inflected_forms`` is any container of inflected word forms, such as the spaCy lemmatizer's
    ``lemma_lookup`` table, which supports ``in`` but cannot list its strings.
    """

    first_names: frozenset[str]
    common_words: frozenset[str]
    inflected_forms: Container[str] = field(default_factory=frozenset)
    # Memos of is_first_name and is_common_word by word: the rules test every word of every
    # text, and the same words come back in every review.
    _first_name_memo: dict[str, bool] = field(default_factory=dict, init=False, repr=False, compare=False)
    _common_word_memo: dict[str, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def load(
        cls,
        common_words: frozenset[str] = frozenset(),
        inflected_forms: Container[str] = frozenset(),
    ) -> "NameLexicon":
        """Read the bundled first-name lists; the common words usually come from the spaCy pipeline."""
        names = set()
        for file_name in FIRST_NAME_FILES:
            text = resources.files("governance.pii.data").joinpath(file_name).read_text("utf-8")
            names.update(
                line.strip().casefold() for line in text.splitlines() if line.strip() and not line.startswith("#")
            )
        return cls(frozenset(names), frozenset(common_words), inflected_forms)

    @cached_property
    def _unaccented_first_names(self) -> frozenset[str]:
        return frozenset(_strip_accents(name) for name in self.first_names)

    def _is_known_name(self, folded: str) -> bool:
        # `Helene` typed without accents matches `Hélène`, but `mariné` does not match `Marine`,
        # and `aime` (a common word) does not match `Aimé`.
        if folded in self.first_names:
            return True
        return (
            folded == _strip_accents(folded)
            and folded in self._unaccented_first_names
            and not self.is_common_word(folded)
        )

    def is_first_name(self, word: str) -> bool:
        """Return whether ``word`` is a known first name. A compound (`Marie-Léa`) needs its first part known."""
        known = self._first_name_memo.get(word)
        if known is None:
            known = self._remember(self._first_name_memo, word, self._check_first_name(word))
        return known

    def is_common_word(self, word: str) -> bool:
        """Return whether ``word`` is a common word. A compound (`Compte-rendu`, `J'adore`) is common
        when all its parts are, and one-letter parts (`j'`, `l'`) count as common."""
        common = self._common_word_memo.get(word)
        if common is None:
            common = self._remember(self._common_word_memo, word, self._check_common_word(word))
        return common

    @staticmethod
    def _remember(memo: dict[str, bool], word: str, result: bool) -> bool:
        # The vocabulary of a stream of reviews keeps growing, so the memo is emptied when full
        # to keep memory flat.
        if len(memo) >= MAX_REMEMBERED_WORDS:
            memo.clear()
        memo[word] = result
        return result

    def _check_first_name(self, word: str) -> bool:
        folded = word.casefold()
        if self._is_known_name(folded):
            return True
        head = re.split(r"[-'’]", folded, maxsplit=1)[0]
        return head != folded and len(head) > 2 and self._is_known_name(head)

    def _check_common_word(self, word: str) -> bool:
        folded = word.casefold()
        if folded in self.common_words or folded in self.inflected_forms:
            return True
        parts = [part for part in re.split(r"[-'’]", folded) if part]
        return len(parts) > 1 and all(
            len(part) == 1 or part in self.common_words or part in self.inflected_forms
            for part in parts
        )


class _Token(NamedTuple):
    """A word of the text with its offsets; a named tuple because every word of every text gets one."""

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

    @property
    def is_camel_case(self) -> bool:
        """`HelloFresh`, `ChronoFresh`: brand names, or words glued by a lost line break."""
        return re.search(r"[^\W\d_]*[a-zà-ÿ][A-ZÀ-Ý]", self.text) is not None

    @property
    def is_particle(self) -> bool:
        return self.text.casefold() in SURNAME_PARTICLES


class PersonRuleRecognizer(EntityRecognizer):
    """Person names found by titles, triggers, a first-name lexicon and signatures (see the module doc)."""

    TITLE_SCORE = 0.85
    TRIGGER_SCORE = 0.8
    PAIR_SCORE = 0.8
    LINE_START_SCORE = 0.65
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
        spans += self._after_title(text, tokens, starts)
        spans += self._after_trigger(text, tokens, starts)
        spans += self._around_first_names(text, tokens)
        spans += self._at_line_start(text, tokens)
        return [RecognizerResult("PERSON", start, end, score) for start, end, score in spans]

    # -- rules ---------------------------------------------------------------------------

    def _after_title(self, text, tokens, starts):
        """Find names in any case after a title: `M. Dupont`, `Mme VERDIER`, `Dr ben barka`.

        A capitalised word after a title is taken even when it is a common word (`Mme Modeste`);
        a lower-case one only when it is not.
        """
        spans = []
        for match in TITLE_PATTERN.finditer(text):
            index = starts.get(match.end())
            if index is None:
                continue
            first = tokens[index]
            if first.is_particle and index + 1 < len(tokens) and self._joined(text, first, tokens[index + 1]):
                name_index = index + 1
            else:
                name_index = index
            word = tokens[name_index]
            if self._is_stop_word(word) and not first.is_particle:
                continue
            if not (word.is_capitalised or word.is_upper or self._is_name_word(word)):
                continue
            last = self._extend_name(text, tokens, name_index, any_case=True)
            spans.append((first.start, self._with_initial(text, tokens[last].end), self.TITLE_SCORE))
        return spans

    def _after_trigger(self, text, tokens, starts):
        """Find names after a trigger: `merci à Julie`, `la conseillère Marie Dupont`, `-- Marcel L.`."""
        spans = []
        for pattern, strong in ((_STRONG_TRIGGER, True), (_WEAK_TRIGGER, False)):
            for match in pattern.finditer(text):
                index = starts.get(match.end())
                if index is None or tokens[index].is_particle or self._is_stop_word(tokens[index]):
                    continue
                first = tokens[index]
                capitalised = first.is_capitalised or first.is_upper
                if capitalised and strong:
                    last = self._extend_name(text, tokens, index, any_case=False, strict=False)
                elif capitalised:
                    last = self._extend_name(text, tokens, index, any_case=False)
                    # A common word (`Bonne`, `Rose`) starts a name only when a surname follows.
                    if not self._is_name_word(first) and last == index:
                        continue
                elif self.lexicon.is_first_name(first.text) and not self.lexicon.is_common_word(first.text):
                    last = self._extend_name(text, tokens, index, any_case=False)
                elif strong and self._is_name_word(first):
                    # `Le bénéficiaire lascaud`, `Usager : meric, lorene`: lower case after a role.
                    last = self._extend_name(text, tokens, index, any_case=False)
                else:
                    continue
                spans.append((first.start, self._with_initial(text, tokens[last].end), self.TRIGGER_SCORE))
        return spans

    def _around_first_names(self, text, tokens):
        """Find a known first name with its surname on either side, or alone when capitalised."""
        spans = []
        lexicon = self.lexicon
        for index, token in enumerate(tokens):
            if len(token.text) < 3 or not lexicon.is_first_name(token.text):
                continue
            start, end = token.start, token.end
            paired = False

            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if following is not None and self._joined(text, token, following) and self._is_surname(following, token):
                end = tokens[self._extend_name(text, tokens, index + 1, any_case=True)].end
                paired = True

            previous = tokens[index - 1] if index > 0 else None
            if previous is not None and self._is_surname(previous, token, before=True):
                gap = text[previous.end : token.start]
                # `Nom, Prénom`: `DUPONT, Marie`, `Aubrun, Jean-Luc`, `jouart, JACQUELINE`.
                comma_pair = gap in (", ", ",") and (
                    previous.is_upper or token.is_upper or not self.lexicon.is_common_word(previous.text)
                )
                if gap in (" ", "\u00a0") or comma_pair:
                    start = previous.start
                    paired = True

            if paired:
                spans.append((start, self._with_initial(text, end), self.PAIR_SCORE))
            elif (token.is_capitalised or token.is_upper) and not lexicon.is_common_word(token.text):
                spans.append((start, self._with_initial(text, end), self.SINGLE_FIRST_NAME_SCORE))
        return spans

    def _at_line_start(self, text, tokens):
        """Find two or three capitalised name words opening a line, or one name word alone on
        the last line, as a signature often is."""
        spans = []
        for index, token in enumerate(tokens):
            line_start = token.start == 0 or text[token.start - 1] == "\n"
            if not line_start or not (token.is_capitalised or token.is_upper):
                continue
            last = index
            while (
                last + 1 < len(tokens)
                and last - index < 2
                and self._joined(text, tokens[last], tokens[last + 1])
                and (tokens[last + 1].is_capitalised or tokens[last + 1].is_upper)
                and self._is_name_word(tokens[last + 1])
                and not tokens[last + 1].is_particle
            ):
                last += 1
            words = tokens[index : last + 1]
            ends_text = not text[tokens[last].end :].strip(" .!\n")
            if last == index and ends_text and not self.lexicon.is_common_word(token.text):
                # A single name word on the last line: `\nPénélope` signing the review.
                spans.append((token.start, self._with_initial(text, token.end), self.LINE_START_SCORE))
            elif last == index and self.lexicon.is_first_name(token.text) and self._opens_sentence(text, tokens, index + 1):
                # `\nAimé Merci à tous`: a first name, then a new sentence with no full stop
                # between them, is a name on its own even when it is also a common word.
                spans.append((token.start, token.end, self.LINE_START_SCORE))
            elif last > index and self._is_name_word(token) and not token.is_particle:
                if any(not self.lexicon.is_common_word(word.text) for word in words):
                    spans.append((token.start, self._with_initial(text, tokens[last].end), self.LINE_START_SCORE))
        return spans

    # -- word tests ----------------------------------------------------------------------

    def _opens_sentence(self, text: str, tokens: list[_Token], index: int) -> bool:
        """Return whether ``tokens[index]`` is a capitalised function or common word right after
        the previous token, so that it starts a sentence rather than continues a name."""
        if index >= len(tokens) or not self._joined(text, tokens[index - 1], tokens[index]):
            return False
        token = tokens[index]
        if not token.is_capitalised or token.is_particle or self.lexicon.is_first_name(token.text):
            return False
        return self._is_stop_word(token) or self.lexicon.is_common_word(token.text)

    def _is_name_word(self, token: _Token) -> bool:
        """Return whether ``token`` may be part of a name: a known first name, or a word that is
        neither a stop word nor common. CamelCase words (`HelloFresh`) are brands, not names."""
        if len(token.text) < 2 or token.is_camel_case:
            return False
        return self.lexicon.is_first_name(token.text) or not self.lexicon.is_common_word(token.text)

    def _is_surname(self, token: _Token, first_name: _Token, before: bool = False) -> bool:
        """Return whether ``token`` next to ``first_name`` reads as its surname.

        Capitals mark a surname even when it is also a common word (`JEUNESSE Benjamin`), and so
        does a capitalised word after a capitalised first name (`Lorraine Bonnet`). Otherwise the
        word must not be a common word, unless the first name itself is unambiguous and the word
        follows it (`odile baron`, `Yvonne gille`).
        """
        if len(token.text) < 2 or token.is_particle:
            return False
        if token.is_upper:
            return not self._is_stop_word(token)
        if self._is_stop_word(token):
            return False
        if before and token.is_lower and not first_name.is_lower:
            # `server Rebecca`: a lower-case word before a capitalised first name is rarely
            # its surname, and English words are missing from the common-word list.
            return False
        if not before and token.is_capitalised and not first_name.is_lower:
            # `Lorraine Bonnet`: a capital inside a sentence marks a proper noun, so the word after
            # a first name is its surname even when it is also a common word.
            return True
        common = self.lexicon.is_common_word(token.text) and not self.lexicon.is_first_name(token.text)
        if not common:
            return True
        unambiguous_first_name = not self.lexicon.is_common_word(first_name.text)
        return not before and unambiguous_first_name

    def _is_stop_word(self, token: _Token) -> bool:
        return token.text.casefold() in STOP_WORDS

    @staticmethod
    def _joined(text: str, left: _Token, right: _Token) -> bool:
        return text[left.end : right.start] in (" ", "\u00a0", "-")

    def _extend_name(
        self, text: str, tokens: list[_Token], index: int, any_case: bool, strict: bool = True
    ) -> int:
        """Return the index of the last token of the name that starts at ``tokens[index]``.

        Up to three more words are taken while they are name words (any word but a stop word
        when not ``strict``). Unless ``any_case``, they must be capitalised like the first word
        (or lower case after a lower-case first word).
        """
        first = tokens[index]
        last = index
        for next_index in range(index + 1, min(index + 5, len(tokens))):
            token = tokens[next_index]
            if not self._joined(text, tokens[next_index - 1], token):
                break
            if token.is_particle:
                # A capitalised particle (`De` in `Laurence De Sousa`) is kept only when a name
                # word follows it; a lower-case one (`de`) ends the name.
                if token.is_capitalised:
                    continue
                break
            if any_case:
                accepted = token.is_capitalised or token.is_upper or self._is_name_word(token)
            elif first.is_lower:
                accepted = token.is_lower and self._is_name_word(token)
            elif token.is_capitalised or token.is_upper:
                accepted = not strict or self._is_name_word(token)
            else:
                # `Le patient LASVEAUX maeron`: a lower-case word that is not a common word.
                accepted = not strict and self._is_name_word(token)
            if not accepted or self._is_stop_word(token) or IMPERATIVE_PRONOUN.search(token.text):
                break
            last = next_index
        return last

    @staticmethod
    def _with_initial(text: str, end: int) -> int:
        """Extend a name over a following initial, as in `Marcel L.`."""
        match = re.match(r" [A-ZÀ-Ý]\.", text[end : end + 3])
        return end + 3 if match else end
