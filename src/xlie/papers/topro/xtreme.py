"""XTREME token-tagging data (PAN-X, UDPOS): local ``{split}-{lang}.tsv`` files or the hub.

Local layout (XTREME preprocessing): ``<dir>/<task>/<split>-<lang>.tsv``, one
``word<TAB>tag`` per line, a blank line between sentences.
Hub: ``google/xtreme`` configs ``PAN-X.<lang>`` and ``udpos.<Language>``.
Source ``auto``: the local file when it exists, else the hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from xlie.papers.topro.labels import label_set
from xlie.pipeline.languages import language
from xlie.pipeline.provenance import file_sha256

HUB_DATASET = "google/xtreme"
# UDPOS languages XTREME-R added from UD 2.7; google/xtreme on the hub lacks them, so they
# are always local files (made from a UD release by the convert_ud rule, xlie.papers.topro.ud).
LOCAL_ONLY: dict[str, tuple[str, ...]] = {"udpos": ("lt", "pl", "uk", "ro", "wo")}


class DataFormatError(ValueError):
    """A data file that does not have the expected shape; the message names file and line."""


@dataclass(frozen=True)
class Sentence:
    words: tuple[str, ...]
    tags: tuple[str, ...]


def _utf8_text(path: Path) -> str:
    """The file decoded as UTF-8; otherwise fail naming the file, line and byte offset."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise DataFormatError(
            f"{path}:{line}: not UTF-8 at byte offset {error.start} ({raw[error.start : error.start + 4]!r}: {error.reason}); "
            "XTREME files are UTF-8, re-encode this one (e.g. iconv -t UTF-8)"
        ) from None


def read_xtreme_tsv(path: str | Path, labels: Iterable[str]) -> list[Sentence]:
    """Read one XTREME tsv file; every malformed line fails with ``file:line`` and what was expected."""
    path = Path(path)
    allowed = set(labels)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: data file not found")
    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    # Universal newlines, as open() reads text (str.splitlines would also split at U+2028 & co.).
    text = _utf8_text(path).replace("\r\n", "\n").replace("\r", "\n")
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            if words:
                sentences.append(Sentence(tuple(words), tuple(tags)))
                words, tags = [], []
            continue
        columns = line.split("\t")
        if len(columns) != 2:
            raise DataFormatError(
                f"{path}:{lineno}: expected 2 tab-separated columns (word<TAB>tag), found {len(columns)}: {line[:80]!r}"
            )
        word, tag = columns
        if tag not in allowed:
            raise DataFormatError(f"{path}:{lineno}: tag {tag!r} is not in the label set {sorted(allowed)}")
        if not word.strip():
            raise DataFormatError(f"{path}:{lineno}: empty word before tag {tag!r}")
        words.append(word)
        tags.append(tag)
    if words:
        sentences.append(Sentence(tuple(words), tuple(tags)))
    if not sentences:
        raise DataFormatError(f"{path}:1: file holds no sentences (expected word<TAB>tag lines)")
    return sentences


def local_path(data_dir: str | Path, task: str, split: str, lang: str) -> Path:
    return Path(data_dir) / task / f"{split}-{lang}.tsv"


def hub_config(task: str, lang: str) -> str:
    if task == "panx":
        return f"PAN-X.{lang}"
    if task == "udpos":
        return f"udpos.{language(lang).name}"
    raise KeyError(f"task {task!r} has no {HUB_DATASET} config")


def _load_hub(task: str, split: str, lang: str, labels: tuple[str, ...]) -> tuple[list[Sentence], dict]:
    import datasets  # imported here: only the hub path needs it

    config = hub_config(task, lang)
    hub_split = "validation" if split == "dev" else split
    dataset = datasets.load_dataset(HUB_DATASET, config, split=hub_split)
    tag_column = "ner_tags" if task == "panx" else "pos_tags"
    names = dataset.features[tag_column].feature.names
    unknown = sorted(set(names) - set(labels))
    if unknown:
        raise DataFormatError(f"{HUB_DATASET}/{config}: tags {unknown} are not in the label set {list(labels)}")
    sentences = [
        Sentence(tuple(row["tokens"]), tuple(names[i] for i in row[tag_column])) for row in dataset if row["tokens"]
    ]
    identity = {
        "source": "hub",
        "dataset": HUB_DATASET,
        "config": config,
        "split": hub_split,
        "fingerprint": getattr(dataset, "_fingerprint", None),
    }
    return sentences, identity


def load_xtreme(
    task: str, split: str, lang: str, source: str, data_dir: str | Path | None
) -> tuple[list[Sentence], dict]:
    """Sentences of (task, split, lang) and an identity record saying exactly where they came from.

    ``source``: 'local' (``<data_dir>/<task>/<split>-<lang>.tsv``), 'hub' (google/xtreme) or
    'auto' (the local file when it exists, else the hub)."""
    labels = label_set(task)
    if source not in ("local", "hub", "auto"):
        raise ValueError(
            f"data source must be 'local' or 'hub' (or 'auto': local when present, else hub), got {source!r}"
        )
    path = local_path(data_dir, task, split, lang) if data_dir is not None else None
    if source == "hub" or (source == "auto" and not (path and path.is_file())):
        if lang in LOCAL_ONLY.get(task, ()):
            raise FileNotFoundError(
                f"{path}: missing {task} {split} file for language {lang!r}, which {HUB_DATASET} does not have "
                f"(UD 2.7): with data.xtreme.source 'local' or 'auto', set config key data.ud.dir to a "
                f"Universal Dependencies 2.7 release and the convert_ud rule writes it"
            )
        return _load_hub(task, split, lang, labels)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: missing {task} {split} file for language {lang!r} "
            f"(expected the XTREME layout <dir>/{task}/{split}-{lang}.tsv)"
        )
    sentences = read_xtreme_tsv(path, labels)
    identity = {"source": "local", "path": str(path), "sha256": file_sha256(path), "sentences": len(sentences)}
    return sentences, identity
