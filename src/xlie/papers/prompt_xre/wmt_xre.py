"""WMT17-EnZh XRE (Section V of the Prompt-XRE paper): relation instances built from parallel text.

The chain, each step a pure function:

1. :func:`load_wmt17_zh_en` (the hub dataset ``wmt/wmt17``, config ``zh-en``) or
   :func:`iter_parallel_file` (a local TSV with an ``en`` and a ``zh`` column, or JSON lines with
   ``en``/``zh`` or ``translation: {en, zh}``) -> :class:`ParallelPair` s, the first ``max_pairs``
   (1,000,000: the authors' ``my_scripts/extract_data.py --sent_num`` default, the first lines of
   their WMT17 file; null: all ~25M).
2. :func:`drop_long_pairs`: drop pairs whose English side has more than ``max_en_tokens`` (50)
   tokens, counted by the parser's own tokenizer (spaCy's in the paper).
3. An English UD parser (:class:`UDParser`): :class:`SpacyParser` or :class:`StanzaParser` (both
   imported lazily, installed by the user with their English models), or :class:`ConlluParses`,
   a given CoNLL-U parse (the demo and the tests).
4. :func:`extract_patterns`: our own implementation of PredPatt-style binary predicate patterns
   over the UD parse (PredPatt itself is not on PyPI). Every instance has exactly two arguments
   ``?a`` and ``?b``; its label is ``?a_<lemmas of the predicate words>_?b``.
5. :func:`build_files`: keep the ``top_labels`` (106) most frequent labels; per label, in corpus
   order as the authors' code does: test = the last ``test_per_label`` (300), valid = the
   ``valid_per_label`` (200) before them, train = the rest, capped at ``train_cap_per_label``
   (10,500; the first ones). An instance = Chinese sentence + English ?a text + ?b text + label.
   Streamed, in bounded memory: the pairs in batches, the instances through a spool file (pass 1
   counts the labels, pass 2 sends each instance to its split file); in memory only a batch, the
   label counts and one pair's instances. :func:`build_dataset` is the same in memory (small data).

The workflow's ``build_wmt_xre`` rule runs :func:`build_step` on ``config["data"]["wmt_xre"]``;
training reads the splits with :func:`read_relation_split` (as :class:`xlie.papers.prompt_xre.ace05.RelationInstance`)
and the classifier's labels, in ``labels.tsv`` order, with :func:`read_labels`.

Patterns extracted (UD v2 relations; a predicate is a word with an ``nsubj``/``nsubj:pass`` child,
or one that inherits its subject as the ``conj`` of such a word):

==================  =======================================  ===========================
?b attached as      example                                  label
==================  =======================================  ===========================
``obj``             "The firm has 300 staff."                ``?a_have_?b``
``obj`` + particle  "She set up a company."                  ``?a_set_up_?b``
``obl`` + ``case``  "He lives in Beijing."                   ``?a_live_in_?b``
passive + ``obl``   "It was founded by Li Wei." (aux:pass)   ``?a_be_found_by_?b``
copula + ``nmod``   "She is a member of the club."           ``?a_be_member_of_?b``
copula + ``obl``    "The hotel is close to the station."     ``?a_be_close_to_?b``
==================  =======================================  ===========================

Predicate words are, in sentence order: the ``cop`` or ``aux:pass`` (lemma "be"), a negation
(``advmod`` "not"/"never"), the predicate, a ``compound:prt`` particle, and ?b's ``case`` marker.
Tense and modal auxiliaries ("will", "has") and determiners are left out, so "will visit" and
"visited" share ``?a_visit_?b``. As PredPatt, a ``conj`` of ?b gives a second instance ("visited
Paris and Rome" -> two) and a ``conj`` predicate without a subject shares its head's subject.
A predicate with more than one candidate ?b (``obj``, ``iobj``, ``obl``/``nmod`` with or without a
case marker: "gave a book to Li", "arrived in Paris yesterday") has a ``?c`` and yields nothing, as
the authors keep ?a-?b patterns only; so does one without ?b ("He is a doctor."). An argument's
text is its head's subtree without ``punct``, ``cc``, ``conj``, ``appos``, ``acl:relcl``,
``parataxis`` and ?b's case marker.

Differences to PredPatt (White et al. 2016): no clausal arguments or predicates (``ccomp``,
``xcomp``, ``csubj``, ``advcl`` are ignored, where PredPatt makes predicates of them); no
relative-clause or appositive predicates; no amod/poss "implicit" predicates; the predicate
phrase keeps only the words listed above where PredPatt keeps the auxiliaries; arguments are whole
subtrees minus the relations above where PredPatt applies its own argument-simplification rules.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections import Counter, defaultdict
from itertools import islice
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator, Protocol, Sequence

from xlie.papers.prompt_xre.ace05 import RelationInstance, parse_json_line
from xlie.papers.prompt_xre.conllu import ConlluSentence, Word, read_conllu
from xlie.pipeline.runtime import atomic_write, atomic_write_text

HUB_DATASET = "wmt/wmt17"
HUB_CONFIG = "zh-en"
# The authors' subset: the first 1,000,000 lines (my_scripts/extract_data.py, --sent_num default).
AUTHORS_MAX_PAIRS = 1_000_000
# The paper's split sizes (Table II, Sections V and VII-B), printed beside ours.
PAPER_SPLITS = {"train": "888k", "valid": "21.2k", "test": "31.8k"}
SPLITS = ("train", "valid", "test")

SUBJECTS = {"nsubj", "nsubj:pass"}
SECOND_ARGUMENTS = {"obj", "iobj", "obl", "nmod"}
# dependents that are not part of an argument's text
NOT_IN_ARGUMENT = {"punct", "cc", "conj", "appos", "acl:relcl", "parataxis"}
NEGATIONS = {"not", "never"}


@dataclass(frozen=True)
class WmtXreConfig:
    """The dataset's size limits (defaults: the paper's)."""

    max_en_tokens: int = 50  # step 2 (module doc): pairs with a longer English side are dropped
    # Step 5: the most frequent labels kept; per label, the test and valid instances, and the train cap.
    top_labels: int = 106
    test_per_label: int = 300
    valid_per_label: int = 200
    train_cap_per_label: int = 10_500


@dataclass(frozen=True)
class ParallelPair:
    index: int  # position in the source corpus, kept for provenance
    en: str
    zh: str


@dataclass(frozen=True)
class Pattern:
    a: str
    b: str
    label: str


@dataclass(frozen=True)
class XreInstance:
    zh: str
    a: str
    b: str
    label: str
    en: str
    pair_index: int


class ParallelFormatError(ValueError):
    """A parallel-text file that does not have the expected shape; the message names file and line."""


# ---------------------------------------------------------------- 1. parallel text


def load_wmt17_zh_en(
    split: str = "train", max_pairs: int | None = None, streaming: bool = True
) -> Iterator[ParallelPair]:
    """WMT17 zh-en from the Hugging Face hub (``wmt/wmt17``, Parquet), rows ``{"translation": {en, zh}}``.

    Streams by default: the training split holds about 25M pairs. Needs network or a warm cache.
    """
    from datasets import load_dataset

    rows = load_dataset(HUB_DATASET, HUB_CONFIG, split=split, streaming=streaming)
    for index, row in enumerate(rows):
        if max_pairs is not None and index >= max_pairs:
            return
        yield ParallelPair(index, row["translation"]["en"], row["translation"]["zh"])


def read_parallel_file(path: str | Path) -> list[ParallelPair]:
    """:func:`iter_parallel_file` as a list (small files)."""
    return list(iter_parallel_file(path))


def iter_parallel_file(path: str | Path) -> Iterator[ParallelPair]:
    """A local copy, pair by pair: ``.tsv`` with a header naming ``en`` and ``zh`` columns, or ``.jsonl``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: parallel-text file not found")
    count = 0
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix == ".tsv":
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, [])
            if "en" not in header or "zh" not in header:
                raise ParallelFormatError(f"{path}:1: header must name an 'en' and a 'zh' column, found {header}")
            en, zh = header.index("en"), header.index("zh")
            for lineno, row in enumerate(reader, start=2):
                if len(row) != len(header):
                    raise ParallelFormatError(
                        f"{path}:{lineno}: expected {len(header)} tab-separated fields, found {len(row)}"
                    )
                yield ParallelPair(count, row[en], row[zh])
                count += 1
        elif path.suffix in (".jsonl", ".json"):
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    row = row.get("translation", row)
                    pair = ParallelPair(count, str(row["en"]), str(row["zh"]))
                except (json.JSONDecodeError, KeyError, AttributeError) as error:
                    raise ParallelFormatError(
                        f"{path}:{lineno}: expected a JSON object with 'en' and 'zh' ({error!r})"
                    ) from None
                yield pair
                count += 1
        else:
            raise ParallelFormatError(f"{path}: unknown parallel-text format {path.suffix!r} (use .tsv or .jsonl)")


# ---------------------------------------------------------------- 2.-3. parsing


class UDParser(Protocol):
    """An English Universal Dependencies parser: one sentence in, one parsed sentence out."""

    def count_tokens(self, text: str) -> int: ...

    def parse(self, texts: Sequence[str]) -> list[ConlluSentence]: ...


def drop_long_pairs(pairs: Iterable[ParallelPair], count_tokens, max_en_tokens: int) -> tuple[list[ParallelPair], int]:
    """(pairs whose English side has at most ``max_en_tokens`` tokens, number dropped)."""
    kept, dropped = [], 0
    for pair in pairs:
        if count_tokens(pair.en) > max_en_tokens:
            dropped += 1
        else:
            kept.append(pair)
    return kept, dropped


def _missing(package: str, install: str) -> ImportError:
    return ImportError(f"the English UD parser needs the package {package!r}, which is not installed: {install}")


class SpacyParser:
    """A spaCy pipeline whose parser predicts UD relations (e.g. a UD-trained or spacy-udpipe pipeline).

    spaCy's ``en_core_web_*`` pipelines label dependencies with the ClearNLP scheme (``dobj``,
    ``pobj``, ``attr``), not UD; the patterns need UD, so such a pipeline is refused by name.
    """

    CLEARNLP_ONLY = {"dobj", "pobj", "attr", "nsubjpass"}

    def __init__(self, model: str):
        try:
            import spacy
        except ImportError:
            raise _missing("spacy", f"pip install spacy, then install the pipeline {model!r}") from None
        self.nlp = spacy.load(model)
        labels = set(self.nlp.get_pipe("parser").labels) if "parser" in self.nlp.pipe_names else set()
        if labels & self.CLEARNLP_ONLY:
            raise ValueError(
                f"spaCy pipeline {model!r} labels dependencies with the ClearNLP scheme ({sorted(labels & self.CLEARNLP_ONLY)}), "
                "not Universal Dependencies; use a UD-trained spaCy pipeline or the stanza parser"
            )

    def count_tokens(self, text: str) -> int:
        return len(self.nlp.tokenizer(text))

    def parse(self, texts: Sequence[str]) -> list[ConlluSentence]:
        parsed = []
        for text, doc in zip(texts, self.nlp.pipe(texts)):
            words = tuple(
                Word(
                    t.i + 1,
                    t.text,
                    t.lemma_,
                    t.pos_,
                    t.tag_,
                    "_",
                    0 if t.head.i == t.i else t.head.i + 1,
                    "root" if t.head.i == t.i else t.dep_,
                    "_",
                    "_",
                )
                for t in doc
            )
            parsed.append(ConlluSentence(0, {"text": text}, words))
        return parsed


class StanzaParser:
    """stanza's English UD pipeline (tokenize, pos, lemma, depparse), one sentence per input."""

    def __init__(self, lang: str = "en", model_dir: str | None = None):
        try:
            import stanza
        except ImportError:
            raise _missing("stanza", "pip install stanza, then stanza.download('en')") from None
        options = {"dir": model_dir} if model_dir else {}
        common = dict(tokenize_no_ssplit=True, download_method=None, **options)
        self.nlp = stanza.Pipeline(lang, processors="tokenize,pos,lemma,depparse", **common)
        self.tokenizer = stanza.Pipeline(lang, processors="tokenize", **common)  # cheap: for the length filter

    def count_tokens(self, text: str) -> int:
        return sum(len(s.tokens) for s in self.tokenizer(text).sentences)

    def parse(self, texts: Sequence[str]) -> list[ConlluSentence]:
        parsed = []
        for text in texts:
            words = tuple(
                Word(w.id, w.text, w.lemma or w.text, w.upos, w.xpos or "_", w.feats or "_", w.head, w.deprel, "_", "_")
                for sentence in self.nlp(text).sentences
                for w in sentence.words
            )
            parsed.append(ConlluSentence(0, {"text": text}, words))
        return parsed


class ConlluParses:
    """Parses given in a CoNLL-U file, found by their ``# text`` line (the demo and tests)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.by_text: dict[str, ConlluSentence] = {}
        for sentence in read_conllu(self.path):
            if sentence.text is None:
                raise ValueError(f"{self.path}:{sentence.line}: sentence without a '# text =' line")
            self.by_text[sentence.text] = sentence

    def count_tokens(self, text: str) -> int:
        return len(self._get(text).words)

    def parse(self, texts: Sequence[str]) -> list[ConlluSentence]:
        return [self._get(text) for text in texts]

    def _get(self, text: str) -> ConlluSentence:
        try:
            return self.by_text[text]
        except KeyError:
            raise KeyError(f"{self.path}: no parse whose '# text' is {text[:80]!r}") from None


def make_parser(name: str, model: str | None = None, conllu: str | Path | None = None) -> UDParser:
    """``spacy`` (``model`` = pipeline name), ``stanza`` (``model`` = model dir) or ``conllu`` (a file)."""
    if name == "spacy":
        if not model:
            raise ValueError("the spacy parser needs a pipeline name (a UD-trained English pipeline)")
        return SpacyParser(model)
    if name == "stanza":
        return StanzaParser("en", model)
    if name == "conllu":
        if conllu is None:
            raise ValueError("the conllu parser needs the path of a CoNLL-U file")
        return ConlluParses(conllu)
    raise ValueError(f"unknown English UD parser {name!r}: use spacy, stanza or conllu")


# ---------------------------------------------------------------- 4. patterns


def _children(words: Sequence[Word]) -> dict[int, list[Word]]:
    children: dict[int, list[Word]] = defaultdict(list)
    for word in words:
        children[word.head].append(word)
    return children


def _argument_text(head: Word, children: dict[int, list[Word]], skip: set[int]) -> str:
    taken: list[Word] = []
    stack = [head]
    while stack:
        word = stack.pop()
        taken.append(word)
        stack.extend(c for c in children[word.id] if c.deprel not in NOT_IN_ARGUMENT and c.id not in skip)
    return " ".join(w.form for w in sorted(taken, key=lambda w: w.id))


def _lemma(word: Word) -> str:
    lemma = word.lemma if word.lemma not in ("", "_") else word.form
    return lemma.lower()


def _with_conjuncts(word: Word, children: dict[int, list[Word]]) -> list[Word]:
    found, stack = [], [word]
    while stack:
        current = stack.pop(0)
        found.append(current)
        stack.extend(c for c in children[current.id] if c.deprel == "conj")
    return found


def extract_patterns(sentence: ConlluSentence) -> list[Pattern]:
    """Binary ``?a <predicate> ?b`` patterns of one parsed English sentence (module docstring)."""
    words = sentence.words
    children = _children(words)
    by_id = {w.id: w for w in words}
    subjects: dict[int, Word] = {}
    for word in words:
        for child in children[word.id]:
            if child.deprel in SUBJECTS:
                subjects.setdefault(word.id, child)
    for word in words:  # a conj predicate without its own subject shares its head's
        if word.id not in subjects and word.deprel == "conj" and word.head in subjects:
            subjects[word.id] = subjects[word.head]
    patterns = []
    for predicate_id, subject in sorted(subjects.items()):
        predicate = by_id[predicate_id]
        if predicate.deprel == "acl:relcl":
            continue  # relative-clause predicates: their subject is "who"/"which", not a phrase
        candidates = [c for c in children[predicate_id] if c.deprel.split(":")[0] in SECOND_ARGUMENTS]
        if len(candidates) != 1:
            continue  # no ?b, or a ?c
        second = candidates[0]
        markers = [c for c in children[second.id] if c.deprel == "case"]
        if second.deprel.split(":")[0] in ("obl", "nmod") and len(markers) != 1:
            continue  # an oblique without exactly one preposition ("yesterday") is not a ?b here
        middle = [predicate, *markers]
        for child in children[predicate_id]:
            if child.deprel in ("cop", "aux:pass", "compound:prt") or (
                child.deprel == "advmod" and _lemma(child) in NEGATIONS
            ):
                middle.append(child)
        label = "_".join(["?a", *(_lemma(w) for w in sorted(middle, key=lambda w: w.id)), "?b"])
        a_text = _argument_text(subject, children, set())
        for b_head in _with_conjuncts(second, children):
            own_markers = {c.id for c in children[b_head.id] if c.deprel == "case"}
            patterns.append(Pattern(a_text, _argument_text(b_head, children, own_markers), label))
    return patterns


# ---------------------------------------------------------------- 5. labels and splits


@dataclass
class WmtXreDataset:
    splits: dict[str, list[XreInstance]]
    labels: list[tuple[str, int]]  # kept labels with their instance counts, most frequent first
    stats: dict[str, int]


def extract_instances(
    pairs: Iterable[ParallelPair], parser: UDParser, config: WmtXreConfig, tally: Counter, batch_size: int = 1024
) -> Iterator[XreInstance]:
    """Steps 2-4, lazily: the pairs in batches of ``batch_size`` (the hub's are streamed, never
    held), their instances in corpus order; ``tally`` counts pairs read, dropped, parsed, without pattern."""
    iterator = iter(pairs)
    while batch := list(islice(iterator, batch_size)):
        tally["pairs"] += len(batch)
        kept, dropped = drop_long_pairs(batch, parser.count_tokens, config.max_en_tokens)
        tally["dropped_longer_than_max_en_tokens"] += dropped
        tally["parsed"] += len(kept)
        for pair, parse in zip(kept, parser.parse([pair.en for pair in kept])):
            found = extract_patterns(parse)
            tally["pairs_without_pattern"] += not found
            for pattern in found:
                yield XreInstance(pair.zh, pattern.a, pattern.b, pattern.label, pair.en, pair.index)


def _split_of(position: int, count: int, config: WmtXreConfig) -> str | None:
    """The split of a label's ``position``-th instance (0-based, corpus order) of ``count``: test =
    the last test_per_label, valid = the valid_per_label before them, train = the first of the rest
    up to train_cap_per_label (None beyond the cap)."""
    if position >= count - config.test_per_label:
        return "test"
    if position >= count - config.test_per_label - config.valid_per_label:
        return "valid"
    return "train" if position < config.train_cap_per_label else None


def _write_instance(handle: IO[str], instance: XreInstance) -> None:
    handle.write(json.dumps(vars(instance), ensure_ascii=False) + "\n")  # vars: asdict deep-copies, slowly


def _write_pair(outputs: dict[str, IO[str]], assigned: list[tuple[str, XreInstance]]) -> None:
    """One pair's instances, each to its split file, in (label, ?a, ?b) order (the files are sorted by
    pair, then label, ?a, ?b)."""
    for split, instance in sorted(assigned, key=lambda item: (item[1].label, item[1].a, item[1].b)):
        _write_instance(outputs[split], instance)


def build_files(
    pairs: Iterable[ParallelPair],
    parser: UDParser,
    out_dir: str | Path,
    config: WmtXreConfig = WmtXreConfig(),
    batch_size: int = 1024,
) -> tuple[list[tuple[str, int]], dict[str, int]]:
    """The whole chain after loading, streamed (module doc): ``{train,valid,test}.jsonl``,
    ``labels.tsv`` (label, count) and ``stats.json`` under ``out_dir``; returns (labels, stats).

    Pass 1 writes every instance to a spool file beside the outputs and counts the labels; pass 2
    reads it back and sends each instance of a kept label to its split. A label with no instance
    left for train is dropped: it cannot be learnt."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tally: Counter = Counter()
    counts: Counter = Counter()
    handle, spool = tempfile.mkstemp(prefix=".wmt_xre_instances.", suffix=".jsonl", dir=out_dir)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as spooled:
            for instance in extract_instances(pairs, parser, config, tally, batch_size):
                counts[instance.label] += 1
                _write_instance(spooled, instance)
        top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: config.top_labels]
        held_out = config.test_per_label + config.valid_per_label
        labels = [(label, count) for label, count in top if count > held_out]
        kept = dict(labels)
        seen: Counter = Counter()
        written: Counter = Counter()
        with (
            atomic_write(out_dir / "train.jsonl") as train,
            atomic_write(out_dir / "valid.jsonl") as valid,
            atomic_write(out_dir / "test.jsonl") as test,
            open(spool, encoding="utf-8") as spooled,
        ):
            outputs = {"train": train, "valid": valid, "test": test}
            current, assigned = None, []
            for line in spooled:
                instance = XreInstance(**json.loads(line))
                if instance.pair_index != current:
                    _write_pair(outputs, assigned)
                    current, assigned = instance.pair_index, []
                if instance.label not in kept:
                    continue
                split = _split_of(seen[instance.label], kept[instance.label], config)
                seen[instance.label] += 1
                if split is not None:
                    assigned.append((split, instance))
                    written[split] += 1
            _write_pair(outputs, assigned)
    finally:
        Path(spool).unlink(missing_ok=True)
    stats = {
        "pairs": tally["pairs"],
        "dropped_longer_than_max_en_tokens": tally["dropped_longer_than_max_en_tokens"],
        "parsed": tally["parsed"],
        "pairs_without_pattern": tally["pairs_without_pattern"],
        "instances": sum(counts.values()),
        "distinct_labels": len(counts),
        "instances_in_top_labels": sum(count for _, count in top),
        "labels_too_small_to_split": len(top) - len(labels),
        "labels_kept": len(labels),
        **{f"{name}_instances": written[name] for name in SPLITS},
    }
    atomic_write_text(out_dir / "labels.tsv", "label\tcount\n" + "".join(f"{label}\t{n}\n" for label, n in labels))
    atomic_write_text(out_dir / "stats.json", json.dumps(stats, indent=2) + "\n")
    return labels, stats


def build_dataset(
    pairs: Iterable[ParallelPair], parser: UDParser, config: WmtXreConfig = WmtXreConfig(), batch_size: int = 1024
) -> WmtXreDataset:
    """:func:`build_files` in memory (through a temporary directory): for small data and tests."""
    with tempfile.TemporaryDirectory(prefix="wmt_xre_") as directory:
        labels, stats = build_files(pairs, parser, directory, config, batch_size)
        splits = {name: read_xre_split(Path(directory) / f"{name}.jsonl") for name in SPLITS}
    return WmtXreDataset(splits, labels, stats)


def write_dataset(dataset: WmtXreDataset, out_dir: str | Path) -> None:
    """``{train,valid,test}.jsonl``, ``labels.tsv`` (label, count) and ``stats.json`` of a dataset in memory."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, instances in dataset.splits.items():
        with atomic_write(out_dir / f"{name}.jsonl") as handle:
            for instance in instances:
                _write_instance(handle, instance)
    atomic_write_text(
        out_dir / "labels.tsv", "label\tcount\n" + "".join(f"{label}\t{count}\n" for label, count in dataset.labels)
    )
    atomic_write_text(out_dir / "stats.json", json.dumps(dataset.stats, indent=2) + "\n")


def read_xre_split(path: str | Path) -> list[XreInstance]:
    """Read a split file :func:`write_dataset` wrote."""
    path = Path(path)
    instances = []
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if line.strip():
                instances.append(parse_json_line(line, XreInstance, f"{path}:{lineno}", "a WMT17-EnZh XRE instance"))
    return instances


# ---------------------------------------------------------------- the workflow's step and readers

CONFIG_PREFIX = "data.wmt_xre"
INSTALL = {
    "spacy": "pip install spacy, then install a UD-trained English pipeline and name it in data.wmt_xre.parser_model",
    "stanza": "pip install stanza, then python -c \"import stanza; stanza.download('en')\"",
}


class WmtXreConfigError(ValueError):
    """A ``data.wmt_xre`` setting that cannot work; the message names the key."""


def config_from_options(options: dict) -> WmtXreConfig:
    return WmtXreConfig(**{name: int(options[name]) for name in WmtXreConfig.__dataclass_fields__})


def input_files(options: dict) -> list[str]:
    """The local files ``build_wmt_xre`` reads (none from the hub), checked when the DAG is built."""
    source, parser = options["source"], options["parser"]
    if source == "hub" and parser == "conllu":
        raise WmtXreConfigError(
            f"config key {CONFIG_PREFIX}.parser: 'conllu' reads a given parse of a local pairs file; "
            f"with {CONFIG_PREFIX}.source 'hub' use 'spacy' or 'stanza'"
        )
    files = []
    if source == "local":
        files.append((options["pairs"], "pairs", "parallel-text file (.tsv with en/zh columns or .jsonl)"))
    if parser == "conllu":
        files.append((options["conllu"], "conllu", "CoNLL-U parse of the English side"))
    for path, key, what in files:
        if not Path(path).is_file():
            raise WmtXreConfigError(f"config key {CONFIG_PREFIX}.{key}: {what} {path!r} not found")
    return [path for path, _, _ in files]


def parser_from_options(options: dict) -> UDParser:
    """The configured parser; a missing package or model fails naming the key and what to install."""
    name, model = options["parser"], options.get("parser_model")
    key = f"config key {CONFIG_PREFIX}.parser = {name!r}"
    try:
        return make_parser(name, model, options.get("conllu"))
    except ImportError as error:
        raise WmtXreConfigError(f"{key}: {error}. Install it: {INSTALL.get(name, '')}") from error
    except (OSError, ValueError) as error:
        # spaCy: OSError for a pipeline that is not installed; stanza: its models not downloaded
        raise WmtXreConfigError(
            f"{key}, {CONFIG_PREFIX}.parser_model = {model!r}: {error}. {INSTALL.get(name, '')}"
        ) from error
    except Exception as error:  # stanza raises its own ResourcesFileNotFoundError (not an OSError)
        if type(error).__module__.startswith("stanza"):
            raise WmtXreConfigError(f"{key}: {error}. {INSTALL['stanza']}") from error
        raise


def describe_stats(labels: list[tuple[str, int]], stats: dict[str, int], max_pairs: int | None = None) -> str:
    """The construction's counts, the split sizes beside the paper's, the most frequent labels."""
    lines = ["WMT17-EnZh XRE construction:"]
    cap = "all pairs" if max_pairs is None else f"the first {max_pairs:,} pairs"
    lines.append(f"  read: {cap} of the source; the authors: the first {AUTHORS_MAX_PAIRS:,} lines (extract_data.py)")
    lines += [f"  {name:<36}{value:>10}" for name, value in stats.items()]
    lines.append(f"  {'split':<10}{'ours':>10}{'paper':>10}")
    lines += [f"  {name:<10}{stats[f'{name}_instances']:>10,}{PAPER_SPLITS[name]:>10}" for name in SPLITS]
    lines.append(f"  {'labels':<10}{stats['labels_kept']:>10,}{106:>10}")
    lines.append(
        f"  kept labels (most frequent first): {', '.join(f'{label} {count}' for label, count in labels[:10])}"
        + (" ..." if len(labels) > 10 else "")
    )
    return "\n".join(lines)


def build_step(options: dict, out_dir: str | Path) -> str:
    """The workflow's ``build_wmt_xre`` step: the parser first (a missing one fails before any
    work), then the first ``max_pairs`` pairs (local file or hub) streamed through the chain into
    the files; returns the summary."""
    input_files(options)
    parser = parser_from_options(options)
    max_pairs = options.get("max_pairs")
    if options["source"] == "hub":
        pairs: Iterable[ParallelPair] = load_wmt17_zh_en(options["hub_split"], max_pairs)
    else:
        pairs = islice(iter_parallel_file(options["pairs"]), max_pairs)
    labels, stats = build_files(pairs, parser, out_dir, config_from_options(options))
    return describe_stats(labels, stats, max_pairs)


def read_relation_split(path: str | Path, split: str | None = None) -> list[RelationInstance]:
    """A split file as relation instances for the classifier (the ACE05 reader's type).

    sentence = the Chinese sentence, e1/e2 = the English ?a/?b texts, doc_id = the pair's index
    in the corpus, relation_id = ``<pair index>-<n>`` (n-th instance of that pair in this file),
    lang "zh", split = ``split`` or the file's stem (train, valid, test).
    """
    split = split or Path(path).name.split(".")[0]
    seen: Counter = Counter()
    relations = []
    for instance in read_xre_split(path):
        number = seen[instance.pair_index]
        seen[instance.pair_index] += 1
        relations.append(
            RelationInstance(
                sentence=instance.zh,
                e1=instance.a,
                e2=instance.b,
                label=instance.label,
                doc_id=str(instance.pair_index),
                sent_id="0",
                relation_id=f"{instance.pair_index}-{number}",
                lang="zh",
                split=split,
            )
        )
    return relations


def read_labels(path: str | Path) -> list[str]:
    """The labels of ``labels.tsv`` in file order (most frequent first): the classifier head's labels."""
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        lines = [line.rstrip("\n") for line in handle]  # not splitlines: a lemma may hold U+2028 and the like
    if not lines or lines[0].split("\t") != ["label", "count"]:
        raise ValueError(f"{path}:1: expected the header 'label<TAB>count'")
    labels = []
    for lineno, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0] or not fields[1].isdigit():
            raise ValueError(f"{path}:{lineno}: expected '<label><TAB><count>', found {line!r}")
        if fields[0] in labels:
            raise ValueError(f"{path}:{lineno}: label {fields[0]!r} listed twice")
        labels.append(fields[0])
    if not labels:
        raise ValueError(f"{path}: no label")
    return labels
