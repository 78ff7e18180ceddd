"""The text that recognizers read, with a map back to offsets in the input text.

Reviews come with HTML entities (``&#34;``), ``<br />`` tags and decomposed accents
(``e`` + U+0301). Recognizers and spaCy work better on clean text, but detections must point
into the input. A :class:`TextView` contains the cleaned text and, for each of its characters, the
span of input characters it came from.
"""

import html
import re
import unicodedata
from dataclasses import dataclass

_MARKUP = re.compile(
    r"(?P<br><br\s*/?>)|(?P<tag></?[A-Za-z][^<>]{0,200}>)|(?P<entity>&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]{2,31});)"
)


@dataclass(frozen=True, slots=True)
class TextView:
    """Cleaned text and, per cleaned character, the input span ``[source_starts[i], source_ends[i])``.

    Both maps are ``None`` when the cleaned text is the input text itself.
    """

    text: str
    source_starts: list[int] | None = None
    source_ends: list[int] | None = None

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of the cleaned text to the input span that produced it."""
        if self.source_starts is None or self.source_ends is None:
            return start, end
        return self.source_starts[start], self.source_ends[end - 1]


def make_view(text: str) -> TextView:
    """Return a view with ``<br />`` read as a newline, other tags as a space, entities decoded
    and accents composed (NFC). Texts that need none of this are not copied."""
    has_markup = "<" in text or "&" in text
    if not has_markup and unicodedata.is_normalized("NFC", text):
        return TextView(text)

    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def emit(cleaned: str, source_start: int, source_end: int) -> None:
        pieces.append(cleaned)
        starts.extend([source_start] * len(cleaned))
        ends.extend([source_end] * len(cleaned))

    position = 0
    matches = _MARKUP.finditer(text) if has_markup else iter(())
    for match in matches:
        _emit_plain(text, position, match.start(), emit)
        if match.group("br"):
            emit("\n", match.start(), match.end())
        elif match.group("tag"):
            emit(" ", match.start(), match.end())
        else:
            emit(html.unescape(match.group("entity")), match.start(), match.end())
        position = match.end()
    _emit_plain(text, position, len(text), emit)
    return TextView("".join(pieces), starts, ends)


def _emit_plain(text: str, start: int, end: int, emit) -> None:
    """Emit ``text[start:end]`` NFC-composed, one base character with its combining marks at a time."""
    index = start
    while index < end:
        cluster_end = index + 1
        while cluster_end < end and unicodedata.combining(text[cluster_end]):
            cluster_end += 1
        cluster = text[index:cluster_end]
        composed = unicodedata.normalize("NFC", cluster) if cluster_end - index > 1 else cluster
        if len(composed) == cluster_end - index:
            # Same length: keep a one-to-one map so that a span can end inside the cluster.
            for offset, character in enumerate(composed):
                emit(character, index + offset, index + offset + 1)
        else:
            emit(composed, index, cluster_end)
        index = cluster_end


def split_into_chunks(text: str, max_chars: int) -> list[tuple[int, str]]:
    """Split ``text`` into ``(offset, chunk)`` pieces of at most ``max_chars`` characters.

    A cut is made after the last newline, else after the last sentence end, else at the last
    whitespace of the window, so that values (which contain no newline) are rarely cut.
    """
    if len(text) <= max_chars:
        return [(0, text)]
    chunks: list[tuple[int, str]] = []
    offset = 0
    while len(text) - offset > max_chars:
        window = text[offset : offset + max_chars]
        cut = window.rfind("\n") + 1
        if cut < max_chars // 2:
            cut = max(window.rfind(". "), window.rfind("! "), window.rfind("? ")) + 2
        if cut < max_chars // 2:
            cut = max(window.rfind(" "), window.rfind("\t")) + 1
        if cut < max_chars // 2:
            # NOTE: a window with no whitespace in its second half is cut mid-word, so a value
            # that straddles this cut is detected in two parts or not at all.
            cut = max_chars
        chunks.append((offset, window[:cut]))
        offset += cut
    chunks.append((offset, text[offset:]))
    return chunks
