"""CoNLL-U (Universal Dependencies v2) reading: sentences with their comments and word lines.

Written by hand (about 60 lines) rather than depending on the ``conllu`` package because every
error here must name ``file:line``, and we need nothing beyond the ten columns and the
``# key = value`` comments. Multi-word token lines (``4-5``) and empty nodes (``8.1``) are kept
apart from the syntactic words: a parse is over words, a text over tokens.
Format: https://universaldependencies.org/format.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_COMMENT = re.compile(r"^#\s*(?P<key>[^=]+?)\s*=\s?(?P<value>.*)$")


class ConlluFormatError(ValueError):
    """A CoNLL-U file that does not have the expected shape; the message names file and line."""


@dataclass(frozen=True)
class Word:
    """One syntactic word (a line whose ID is an integer)."""

    id: int
    form: str
    lemma: str
    upos: str
    xpos: str
    feats: str
    head: int
    deprel: str
    deps: str
    misc: str

    @property
    def relation(self) -> str:
        """The universal relation without its subtype (``obl:tmod`` -> ``obl``)."""
        return self.deprel.split(":", 1)[0]


@dataclass(frozen=True)
class ConlluSentence:
    line: int  # line number of the sentence's first line, for error messages
    metadata: dict[str, str] = field(default_factory=dict)
    words: tuple[Word, ...] = ()

    @property
    def sent_id(self) -> str | None:
        return self.metadata.get("sent_id")

    @property
    def text(self) -> str | None:
        return self.metadata.get("text")


def _word(path: Path, lineno: int, columns: list[str]) -> Word:
    try:
        head = int(columns[6])
    except ValueError:
        raise ConlluFormatError(f"{path}:{lineno}: HEAD column {columns[6]!r} is not an integer") from None
    return Word(int(columns[0]), *columns[1:6], head, *columns[7:10])


def parse_conllu(text: str, path: str | Path = "<string>") -> list[ConlluSentence]:
    """Parse CoNLL-U text; ``path`` only names the source in errors."""
    path = Path(path)
    sentences: list[ConlluSentence] = []
    metadata: dict[str, str] = {}
    words: list[Word] = []
    start = 0
    # Lines end at "\n" only: str.splitlines would also split at U+2028, U+0085 and other
    # separators that may occur inside a "# text" line.
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            if words or metadata:
                sentences.append(ConlluSentence(start, metadata, tuple(words)))
            metadata, words, start = {}, [], 0
            continue
        start = start or lineno
        if line.startswith("#"):
            match = _COMMENT.match(line)
            if match:  # comments without "=" (# newdoc, # newpar) carry nothing we use
                metadata[match["key"]] = match["value"]
            continue
        columns = line.split("\t")
        if len(columns) != 10:
            raise ConlluFormatError(
                f"{path}:{lineno}: expected 10 tab-separated CoNLL-U columns, found {len(columns)}: {line[:80]!r}"
            )
        if "-" in columns[0] or "." in columns[0]:
            continue  # multi-word token range or empty node: not a syntactic word
        if not columns[0].isdigit():
            raise ConlluFormatError(f"{path}:{lineno}: word ID {columns[0]!r} is not an integer")
        words.append(_word(path, lineno, columns))
    if words or metadata:
        sentences.append(ConlluSentence(start, metadata, tuple(words)))
    for sentence in sentences:
        ids = [word.id for word in sentence.words]
        if ids != list(range(1, len(ids) + 1)):
            raise ConlluFormatError(f"{path}:{sentence.line}: word IDs {ids} are not 1..{len(ids)}")
        for word in sentence.words:
            if not 0 <= word.head <= len(ids):
                raise ConlluFormatError(
                    f"{path}:{sentence.line}: word {word.id} {word.form!r} has HEAD {word.head} outside 0..{len(ids)}"
                )
    return sentences


def read_conllu(path: str | Path) -> list[ConlluSentence]:
    """Read one CoNLL-U file (UTF-8); every malformed line fails with ``file:line``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: CoNLL-U file not found")
    with path.open(encoding="utf-8", newline="") as handle:  # no newline translation: a lone "\r" stays text
        return parse_conllu(handle.read(), path)
