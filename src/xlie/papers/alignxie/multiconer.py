"""MultiCoNER-style CoNLL files -> sentences with (label, span) entities -> code-style JSONL.

MultiCoNER 2022/2023 ship one file per language and split: an optional comment line
``# id <uuid> domain=<lang>`` before each sentence, then one token per line with its BIO tag in
the LAST whitespace-separated column (``word _ _ B-PER``), a blank line between sentences.
``word<TAB>tag`` (the XTREME/PAN-X layout) is read too. Tags follow conlleval: an ``I-X`` that does
not continue an entity of type X starts one.

Tokens are joined with spaces, except for languages written without them (zh, ja, th), whose
tokens are joined with nothing; every span is then a substring of its sentence.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from xlie.papers.alignxie.schema import Schema, SchemaError, ner_code
from xlie.pipeline.runtime import atomic_write

# Languages written without spaces between words: their tokens are joined with "".
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th"})
_TAG = re.compile(r"^(O|[BI]-\S+)$")


@dataclass(frozen=True)
class ConllSentence:
    """One sentence: its id (from a ``# id`` line, else ``<file stem>-<n>``), the joined text, and
    its entities as (dataset label, span text) pairs in order; ``line`` is where it starts."""

    id: str
    sentence: str
    entities: tuple[tuple[str, str], ...]
    line: int


def joiner(lang: str) -> str:
    return "" if lang.split("-")[0].lower() in UNSPACED_LANGUAGES else " "


def bio_spans(tokens: list[str], tags: list[str], sep: str) -> tuple[str, list[tuple[str, str]]]:
    """Join tokens and read BIO chunks (conlleval: I-X after O or another type starts an entity)."""
    entities, current, label = [], [], None
    for token, tag in zip(tokens, tags):
        prefix, _, kind = tag.partition("-")
        if prefix == "I" and label == kind:
            current.append(token)
            continue
        if current:
            entities.append((label, sep.join(current)))
        current, label = ([token], kind) if prefix in ("B", "I") else ([], None)
    if current:
        entities.append((label, sep.join(current)))
    return sep.join(tokens), entities


def read_conll(path: str | Path, lang: str) -> list[ConllSentence]:
    """Read one MultiCoNER-style file; a bad line raises ValueError naming ``file:line``."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot read: {err}") from None
    sep, sentences = joiner(lang), []
    tokens: list[str] = []
    tags: list[str] = []
    sentence_id, start = None, None

    def flush() -> None:
        nonlocal tokens, tags, sentence_id, start
        if sentence_id is not None and not tokens:
            raise ValueError(f"{path}:{start}: sentence {sentence_id!r} has no tokens")
        if tokens:
            text, entities = bio_spans(tokens, tags, sep)
            sid = sentence_id or f"{path.stem}-{len(sentences) + 1}"
            sentences.append(ConllSentence(sid, text, tuple(entities), start))
        tokens, tags, sentence_id, start = [], [], None, None

    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            flush()
            continue
        fields = line.split()
        # "# id <uuid> domain=xx" opens a sentence; PAN-X's Chinese has "#" as a token ("#\tO"),
        # so a "#" line whose last column is a tag and which follows tokens is a token.
        if fields[0] == "#" and not tokens and (len(fields) < 2 or not _TAG.match(fields[-1]) or fields[1] == "id"):
            if sentence_id is not None:
                raise ValueError(f"{path}:{number}: a second comment line before sentence {sentence_id!r} has tokens")
            sentence_id = fields[2] if len(fields) > 2 and fields[1] == "id" else f"{path.stem}-{len(sentences) + 1}"
            start = number
            continue
        if len(fields) < 2:
            raise ValueError(f"{path}:{number}: expected a token and its tag, got {raw!r}")
        tag = fields[-1]
        if not _TAG.match(tag):
            raise ValueError(f"{path}:{number}: bad tag {tag!r}; expected O, B-<type> or I-<type>")
        start = start or number
        tokens.append(fields[0])
        tags.append(tag)
    flush()
    if not sentences:
        raise ValueError(f"{path}: no sentences")
    return sentences


def to_records(sentences: list[ConllSentence], schema: Schema, source: str) -> list[dict]:
    """Code-style JSONL records ``{"id", "sentence", "task": "ner", "output"}``, labels mapped to the
    schema's English classes; labels the schema does not map fail together, naming ``source``."""
    labels = {label for s in sentences for label, _ in s.entities}
    try:
        schema.check_labels("entity", labels, source=source)
    except SchemaError as err:
        raise ValueError(f"{err} (add them to the 'labels' of a type in the schema file)") from None
    return [
        {
            "id": s.id,
            "sentence": s.sentence,
            "task": "ner",
            "output": ner_code([(schema.english_class("entity", label), span) for label, span in s.entities]),
        }
        for s in sentences
    ]


def convert(conll_path: str | Path, schema: Schema, lang: str) -> list[dict]:
    """One MultiCoNER-style file as code-style JSONL records (see :func:`to_records`)."""
    return to_records(read_conll(conll_path, lang), schema, str(conll_path))


def statistics(sentences: list[ConllSentence], schema: Schema) -> list[tuple[str, int]]:
    """(statistic, value) rows: sentences, entities, then entities per English class."""
    per_type = Counter(schema.english_class("entity", label) for s in sentences for label, _ in s.entities)
    rows = [("sentences", len(sentences)), ("entities", sum(per_type.values()))]
    return rows + [(f"entities:{name}", n) for name, n in sorted(per_type.items())]


def write_jsonl(records: list[dict], path: str | Path) -> None:
    with atomic_write(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_stats(rows: list[tuple[str, int]], path: str | Path) -> None:
    with atomic_write(path) as handle:
        handle.write("statistic\tvalue\n" + "".join(f"{name}\t{value}\n" for name, value in rows))


MULTICONER_HINT = (
    "MultiCoNER 2022 (Malmasi et al. 2022, CC BY 4.0): https://registry.opendata.aws/multiconer/ "
    "(also https://huggingface.co/datasets/MultiCoNER/multiconer_v2 for the 2023 edition); put or link "
    "each language's <lang>_<split>.conll into the directory, or set data.codeie.multiconer.file"
)


class MultiConerFileError(FileNotFoundError):
    """A configured MultiCoNER-style file that is not there (names the config key and where to get the data)."""


def conll_file(directory: str | Path, pattern: str, lang: str, split: str) -> Path:
    return Path(directory) / pattern.format(lang=lang, split=split)


def require_conll_file(directory: str | Path, pattern: str, lang: str, split: str) -> Path:
    """The file of (lang, split), or MultiConerFileError naming data.codeie.multiconer.dir and the path."""
    path = conll_file(directory, pattern, lang, split)
    if not path.is_file():
        raise MultiConerFileError(
            f"data.codeie.multiconer.dir = {str(directory)!r}: {path} not found "
            f"({lang} {split}, file pattern {pattern!r}). Get {MULTICONER_HINT}."
        )
    return path
