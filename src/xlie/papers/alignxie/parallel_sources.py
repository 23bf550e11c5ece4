"""The NER datasets AlignXIE built ParallelNER from, read as the samples ``build_parallel_ner`` translates.

The paper translated WikiNEuRal en->zh and CLUENER2020 zh->en. Neither ships with xlie (their
licences and sizes); the user downloads them and names the files in the config
(``data.parallel_ner.<name>.path``), and a direction names the dataset as its source
(``data.parallel_ner.sources: {en-zh: wikineural, zh-en: cluener2020}``).

* **WikiNEuRal** (Tedeschi et al., Findings of EMNLP 2021): the release at
  https://github.com/Babelscape/wikineural has ``data/wikineural/<lang>/{train,val,test}.conllu``,
  one token per line as ``<index>\\t<token>\\t<BIO tag>`` (PER, ORG, LOC, MISC), a blank line between
  sentences. Tokens are joined with spaces (none for zh/ja/th) and tags read as conlleval does,
  like MultiCoNER's files (``multiconer.bio_spans``).
* **CLUENER2020** (Xu et al. 2020): ``train.json`` and ``dev.json`` of
  https://github.com/CLUEbenchmark/CLUENER2020 (``cluener_public.zip``) are JSON lines
  ``{"text": ..., "label": {type: {entity: [[start, end], ...]}}}``: character offsets, the END
  INCLUSIVE, one pair per mention; ten types (address, book, company, game, government, movie, name,
  organization, position, scene). Its ``test.json`` has no labels.

Each reader gives one (label, span) per mention, in the order of the text, with the dataset's own
labels; the schema named beside the path (``data.parallel_ner.<name>.schema``) makes them classes
for TIP. A malformed line fails naming the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

from xlie.papers.alignxie.multiconer import bio_spans, joiner
from xlie.papers.alignxie.parallel_ner import NerSample
from xlie.papers.alignxie.scorer import InputFileError, read_jsonl

# The size the paper reports for ParallelNER (v1 of the paper), printed beside what was built.
PAPER_PARALLEL_NER_SAMPLES = 257_190

WIKINEURAL_HINT = (
    "WikiNEuRal (Tedeschi et al. 2021, CC BY-NC-SA 4.0): https://github.com/Babelscape/wikineural, the file "
    "data/wikineural/en/train.conllu (the paper's en->zh source); also on the hub as Babelscape/wikineural, "
    "whose parquet files are another layout"
)
CLUENER_HINT = (
    "CLUENER2020 (Xu et al. 2020): https://github.com/CLUEbenchmark/CLUENER2020, train.json of "
    "cluener_public.zip (https://storage.googleapis.com/cluebenchmark/tasks/cluener_public.zip; the paper's "
    "zh->en source)"
)
_BIO_TAG = re.compile(r"^(O|[BI]-\S+)$")


class ParallelSourceError(FileNotFoundError):
    """A ParallelNER source dataset that is not configured or not there (names the key and where to get it)."""


def read_wikineural(path: str | Path, lang: str) -> list[NerSample]:
    """WikiNEuRal's ``<index>\\t<token>\\t<tag>`` lines; sentence ids ``<file stem>-<n>``."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # only "\n": a token may hold U+2028
    except (OSError, UnicodeDecodeError) as err:
        raise InputFileError(f"{path}: cannot read: {err}") from None
    samples: list[NerSample] = []
    tokens: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        if tokens:
            sentence, entities = bio_spans(tokens, tags, joiner(lang))
            samples.append(NerSample(f"{path.stem}-{len(samples) + 1}", sentence, tuple(entities)))
        tokens.clear()
        tags.clear()

    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            flush()
            continue
        if line.startswith("#") or "-DOCSTART-" in line:  # comments and document marks, as their loader skips
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not fields[0].strip().isdigit() or not fields[1].strip():
            raise InputFileError(f"{path}:{number}: expected '<index>\\t<token>\\t<tag>', got {raw!r}")
        tag = fields[2].strip()
        if not _BIO_TAG.match(tag):
            raise InputFileError(f"{path}:{number}: bad tag {tag!r}; expected O, B-<type> or I-<type>")
        tokens.append(fields[1].strip())
        tags.append(tag)
    flush()
    if not samples:
        raise InputFileError(f"{path}: no sentences")
    return samples


def _cluener_mentions(text: str, label: object, where: str) -> list[tuple[int, str, str]]:
    """(start, type, span) of every mention of a line's ``label``; offsets checked against the text."""
    if not isinstance(label, dict):
        raise InputFileError(f"{where}: 'label' must be an object {{type: {{entity: [[start, end], ...]}}}}")
    mentions = []
    for kind, entities in label.items():
        if not isinstance(entities, dict):
            raise InputFileError(f"{where}: label {kind!r} must map entities to [[start, end], ...]")
        for entity, offsets in entities.items():
            if not isinstance(offsets, list) or not offsets:
                raise InputFileError(f"{where}: {kind} {entity!r} needs a list of [start, end] offsets")
            for pair in offsets:
                valid = isinstance(pair, list) and len(pair) == 2 and all(type(x) is int for x in pair)
                if not valid or not 0 <= pair[0] <= pair[1] < len(text):
                    raise InputFileError(f"{where}: {kind} {entity!r}: bad offsets {pair!r} (end inclusive)")
                if text[pair[0] : pair[1] + 1] != entity:
                    found = text[pair[0] : pair[1] + 1]
                    raise InputFileError(f"{where}: {kind} {entity!r} at {pair} reads {found!r} in the text")
                mentions.append((pair[0], kind, entity))
    return sorted(mentions)


def read_cluener(path: str | Path) -> list[NerSample]:
    """CLUENER2020's JSON lines; sample ids ``<file stem>-<line>``. A line without ``label`` has no entities."""
    path = Path(path)
    samples = []
    for number, record in read_jsonl(path, ("text",)):
        where, text = f"{path}:{number}", record["text"]
        if not isinstance(text, str) or not text:
            raise InputFileError(f"{where}: 'text' must be a non-empty string")
        mentions = _cluener_mentions(text, record.get("label", {}), where)
        samples.append(NerSample(f"{path.stem}-{number}", text, tuple((kind, span) for _, kind, span in mentions)))
    if not samples:
        raise InputFileError(f"{path}: no sentences")
    return samples


def _read_cluener_in(path: str | Path, lang: str) -> list[NerSample]:
    return read_cluener(path)  # Chinese text as given: no tokens to join


# name in data.parallel_ner.sources -> (reader of (path, source language), where to get it)
DATASETS = {
    "wikineural": (read_wikineural, WIKINEURAL_HINT),
    "cluener2020": (_read_cluener_in, CLUENER_HINT),
}


def require_source_file(name: str, path: str | None) -> Path:
    """The configured file of a ParallelNER source dataset, or ParallelSourceError naming
    ``data.parallel_ner.<name>.path`` and where to get the data."""
    key = f"data.parallel_ner.{name}.path"
    if not path:
        raise ParallelSourceError(f"{key} is not set, and data.parallel_ner.sources names {name!r}. Get {_hint(name)}.")
    if not Path(path).is_file():
        raise ParallelSourceError(f"{key} = {path!r}: not found. Get {_hint(name)}.")
    return Path(path)


def read_source(name: str, path: str | Path, lang: str) -> list[NerSample]:
    """The NER samples of source dataset ``name`` (a key of :data:`DATASETS`) in ``path``."""
    reader, _ = DATASETS[name]
    return reader(path, lang)


def _hint(name: str) -> str:
    return DATASETS[name][1]
