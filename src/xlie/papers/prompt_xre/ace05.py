"""ACE05 relation mentions, read from the output of wasiahmad/ACE05-Processor, as Prompt-XRE uses them.

Input (config key ``data.ace05.dir``): the ``processed-data`` directory that ACE05-Processor
(https://github.com/wasiahmad/ACE05-Processor, ``bash setup.sh``) writes from a licensed copy of
ACE 2005 (LDC2006T06): ``<English|Chinese|Arabic>/<train|dev|test>/<DOC>.conllu`` (UDPipe 2.5
output, one block per sentence with ``# sent_id = N``, 1-based per document, and ``# text = ...``)
and ``<DOC>.v2.json`` (``{"entities", "events", "relations"}``; a relation has ``relation-id``,
``relation-type`` ``TYPE:SUBTYPE``, ``sent_id`` and ``arguments``, each with ``text``, ``sent_id``,
``position``, ``role``, ``entity-id``).

Two protocols (config key ``data.ace05.protocol``); both make one instance per relation mention
of one of the 18 labels with exactly two arguments, sentence = the ``# text`` line of the
relation's sentence, E1/E2 = argument texts without newlines.

``authors`` (the paper preset): the authors' ``my_scripts/extract_ace05.py`` (HSU-CHIA-MING/Prompt-XRE):
E1/E2 = the FIRST and SECOND argument as listed (``arguments[0]``, ``[1]``), whatever their
roles (a Time argument included); newlines deleted in every language ("southern\\nPhilippines" ->
"southernPhilippines"); kept even when an argument lies in another sentence or its text is not
found in the sentence. Two differences remain, each counted: a label outside the 18 is dropped
(they would keep it, but their 18-class head, ``--num-classes 18``, cannot learn it: our classifier
has the 18 labels), and a ``sent_id`` naming no sentence is dropped (their code stops with a KeyError).

``strict`` (the default): E1/E2 = the ``Arg-1``/``Arg-2`` texts by role; a mention with a Time
argument, or whose two roles are not Arg-1 and Arg-2, an argument in another sentence or not found
in the sentence is dropped. For languages written with spaces (English, Arabic) a newline, with the
blanks around it, becomes one space ("southern\\nPhilippines" -> "southern Philippines"); for
Chinese it is deleted, since Chinese text has no spaces between words.

What ACE05-Processor already removed: its step 2 keeps only arguments whose entity it could map
to words, and it does not treat timex2/value mentions as entities, so in real ``.v2.json`` files a
time argument is normally gone already (the relation then shows Arg-1 and Arg-2 only and is kept)
and an argument whose entity was dropped is missing (counted here as ``not_two_arguments``). Its
printed totals minus its drops give the relations in ``.v2.json``: En 6654/823/849, Zh
7288/935/798, Ar 2608/305/305 (train/dev/test), against the authors' kept 6653/822/849,
7124/911/779, 2607/304/305.

Nothing is dropped silently: every mention left out is counted under one reason of
:data:`DROP_REASONS` (checked in that order, the first that applies), every kept one under each of
:data:`KEPT_CASES` that applies (what the two protocols treat differently), and each file keeps its
first examples. Whole files that cannot be read (malformed JSON or CoNLL-U, a ``.v2.json``
without its ``.conllu``) are counted under ``unreadable_file`` (files, not mentions), with the
file and line in the example; ingestion goes on with the other files.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd

from xlie.papers.prompt_xre.conllu import ConlluFormatError, read_conllu
from xlie.pipeline.runtime import atomic_path, atomic_write

CONFIG_KEY = "data.ace05.dir"
PROCESSOR_URL = "https://github.com/wasiahmad/ACE05-Processor"
LANGUAGE_DIRS = {"en": "English", "zh": "Chinese", "ar": "Arabic"}
SPLITS = ("train", "dev", "test")
# Languages whose words are not separated by spaces: a newline inside a mention is deleted.
UNSPACED_LANGUAGES = frozenset({"zh"})

# The 18 relation subtypes of the ACE 2005 ontology, as ``TYPE:SUBTYPE``.
LABELS = (
    "ART:User-Owner-Inventor-Manufacturer",
    "GEN-AFF:Citizen-Resident-Religion-Ethnicity",
    "GEN-AFF:Org-Location",
    "ORG-AFF:Employment",
    "ORG-AFF:Founder",
    "ORG-AFF:Investor-Shareholder",
    "ORG-AFF:Membership",
    "ORG-AFF:Ownership",
    "ORG-AFF:Sports-Affiliation",
    "ORG-AFF:Student-Alum",
    "PART-WHOLE:Artifact",
    "PART-WHOLE:Geographical",
    "PART-WHOLE:Subsidiary",
    "PER-SOC:Business",
    "PER-SOC:Family",
    "PER-SOC:Lasting-Personal",
    "PHYS:Located",
    "PHYS:Near",
)

# Instances kept by the authors (train, dev, test) as their code logs them; Table II of the
# paper prints 2067 for Arabic train, a transposition of 2607.
PAPER_KEPT = {
    ("en", "train"): 6653,
    ("en", "dev"): 822,
    ("en", "test"): 849,
    ("zh", "train"): 7124,
    ("zh", "dev"): 911,
    ("zh", "test"): 779,
    ("ar", "train"): 2607,
    ("ar", "dev"): 304,
    ("ar", "test"): 305,
}

PROTOCOLS = ("strict", "authors")
DROP_REASONS = (
    "unreadable_file",  # counts FILES: malformed JSON/CoNLL-U, or no .conllu beside the .v2.json
    "malformed_relation",  # a relation that is not an object with relation-type, sent_id, arguments
    "time_argument",  # a Time-* argument (with or without the two others): the authors keep 2 only
    "not_two_arguments",  # fewer or more than two arguments
    "roles_not_arg1_arg2",  # two arguments, but not one Arg-1 and one Arg-2
    "label_unknown",  # relation-type outside the 18 labels
    "sent_id_missing",  # the relation's sent_id names no sentence of the .conllu
    "argument_other_sentence",  # an argument's sent_id differs from the relation's
    "entity_not_in_sentence",  # an argument's text does not occur in the sentence text
)
# Kept mentions of the kinds the protocols treat differently (authors: kept as they are; strict:
# the first four are dropped above, the last two kept by role / with a newline made a space).
KEPT_CASES = (
    "kept_time_argument",  # one of the two arguments has a Time-* role: it is E1 or E2
    "kept_roles_not_arg1_arg2",  # two arguments whose roles are not one Arg-1 and one Arg-2
    "kept_argument_other_sentence",  # an argument's sent_id differs from the relation's
    "kept_entity_not_in_sentence",  # an argument's text does not occur in the sentence text
    "kept_arguments_reversed",  # Arg-2 listed first: by position (authors) E1 is the Arg-2 text
    "kept_newline_in_argument",  # an argument text with a newline (authors: deleted; strict: see above)
)
EXAMPLES_PER_FILE = 3
# Written by xlie.papers.prompt_xre.ace05_synthetic into the root of SYNTHETIC data: its presence marks the
# data (and every table made from it) as synthetic, whatever the config says.
SYNTHETIC_MARKER = "README.SYNTHETIC.md"


class Ace05DirError(FileNotFoundError):
    """The ACE05-Processor output directory is missing or incomplete."""


@dataclass(frozen=True)
class RelationInstance:
    """One relation mention as the classifier sees it (no markers inside the sentence)."""

    sentence: str
    e1: str
    e2: str
    label: str
    doc_id: str
    sent_id: str
    relation_id: str
    lang: str
    split: str


@dataclass
class FileReport:
    """What reading one document kept and dropped, with the first examples of each drop."""

    path: str
    lang: str
    split: str
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    cases: Counter = field(default_factory=Counter)  # kept mentions per KEPT_CASES entry
    examples: list[str] = field(default_factory=list)

    def drop(self, reason: str, example: str) -> None:
        self.dropped[reason] += 1
        self._example(reason, example)

    def note(self, case: str, example: str) -> None:
        self.cases[case] += 1
        self._example(case, example)

    def _example(self, kind: str, example: str) -> None:
        if len(self.examples) < EXAMPLES_PER_FILE:
            self.examples.append(f"{kind}: {example}")


def normalise_mention_text(text: str, lang: str) -> str:
    """Remove the newlines of an annotated mention text (see the module docstring)."""
    if lang in UNSPACED_LANGUAGES:
        return re.sub(r"[\r\n]+", "", text)
    return re.sub(r"[ \t]*[\r\n]+[ \t]*", " ", text)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _missing_dir_error(path: Path, root: Path, what: str) -> Ace05DirError:
    where = "" if path == root else f": {path}"
    return Ace05DirError(
        f"config key {CONFIG_KEY} = {str(root)!r}: {what}{where}. It must be the 'processed-data' directory "
        f"that ACE05-Processor writes ({{English,Chinese,Arabic}}/{{train,dev,test}}/<DOC>.v2.json and "
        f"<DOC>.conllu). Produce it from your licensed ACE 2005 (LDC2006T06): clone {PROCESSOR_URL}, "
        f"put the corpus in its ace_2005/ directory, run 'bash setup.sh', and set {CONFIG_KEY} to the "
        "resulting processed-data directory."
    )


def split_dir(root: str | Path, lang: str, split: str) -> Path:
    try:
        return Path(root) / LANGUAGE_DIRS[lang] / split
    except KeyError:
        raise ValueError(f"ACE05 language {lang!r} is not one of {sorted(LANGUAGE_DIRS)}") from None


def check_processed_dir(
    root: str | Path, languages: Iterable[str] = tuple(LANGUAGE_DIRS), splits: Iterable[str] = SPLITS
) -> None:
    """Fail with :class:`Ace05DirError` unless every ``<Language>/<split>`` holds ``*.v2.json`` files."""
    root = Path(root)
    if not root.is_dir():
        raise _missing_dir_error(root, root, "directory not found")
    for lang in languages:
        for split in splits:
            directory = split_dir(root, lang, split)
            if not directory.is_dir():
                raise _missing_dir_error(directory, root, "split directory not found")
            if not any(directory.glob("*.v2.json")):
                raise _missing_dir_error(
                    directory,
                    root,
                    "no <DOC>.v2.json file in the split directory (ACE05-Processor's extract.py step has not run?)",
                )


def is_synthetic(root: str | Path) -> bool:
    """Whether ``root`` holds SYNTHETIC data written by :mod:`xlie.papers.prompt_xre.ace05_synthetic`."""
    return (Path(root) / SYNTHETIC_MARKER).is_file()


def check_synthetic_target(root: str | Path) -> None:
    """Refuse to let the workflow write SYNTHETIC data over a directory that holds other data:
    Snakemake deletes a directory output before its job runs."""
    root = Path(root)
    if root.exists() and not is_synthetic(root) and (not root.is_dir() or any(root.iterdir())):
        raise Ace05DirError(
            f"{CONFIG_KEY} = {str(root)!r} holds data that is not SYNTHETIC (no {SYNTHETIC_MARKER}), and "
            "data.ace05.synthetic is true: the make_synthetic_ace05 rule would delete it. Set data.ace05.synthetic "
            f"to false to read it, or point {CONFIG_KEY} at a new directory for the SYNTHETIC data."
        )


def processed_files(
    root: str | Path, languages: Iterable[str] = tuple(LANGUAGE_DIRS), splits: Iterable[str] = SPLITS
) -> list[Path]:
    """Every ``*.v2.json`` and ``*.conllu`` that ingestion reads, after :func:`check_processed_dir`
    (the workflow declares them as inputs: editing one reruns the ingestion)."""
    languages, splits = list(languages), list(splits)
    check_processed_dir(root, languages, splits)
    return [
        path
        for lang in languages
        for split in splits
        for pattern in ("*.v2.json", "*.conllu")
        for path in sorted(split_dir(root, lang, split).glob(pattern))
    ]


def _conllu_sentences(path: Path) -> dict[str, str]:
    """sent_id -> ``# text`` of every sentence that has both."""
    return {s.sent_id: s.text for s in read_conllu(path) if s.sent_id is not None and s.text is not None}


def _well_formed(relation: object) -> bool:
    if not isinstance(relation, dict) or not {"relation-type", "sent_id", "arguments"} <= relation.keys():
        return False
    arguments = relation["arguments"]
    return isinstance(arguments, list) and all(isinstance(a, dict) and {"text", "role"} <= a.keys() for a in arguments)


def _kept_cases(relation: dict, sentence: str, texts: tuple[str, str]) -> dict[str, str]:
    """The :data:`KEPT_CASES` a kept two-argument mention shows, each with its example."""
    rid, sent_id = relation.get("relation-id", "?"), str(relation["sent_id"])
    arguments = relation["arguments"]
    roles = [str(a["role"]) for a in arguments]
    cases = {}
    if any(role.startswith("Time") for role in roles):
        cases["kept_time_argument"] = f"{rid} roles {roles}"
    if sorted(roles) != ["Arg-1", "Arg-2"]:
        cases["kept_roles_not_arg1_arg2"] = f"{rid} roles {roles}"
    elif roles[0] == "Arg-2":
        cases["kept_arguments_reversed"] = f"{rid} roles {roles}"
    elsewhere = [str(a["sent_id"]) for a in arguments if "sent_id" in a and str(a["sent_id"]) != sent_id]
    if elsewhere:
        cases["kept_argument_other_sentence"] = f"{rid} argument in sentence {elsewhere[0]}, relation in {sent_id}"
    missing = [text for text in texts if _squash(text) not in _squash(sentence)]
    if missing:
        cases["kept_entity_not_in_sentence"] = f"{rid} {missing[0]!r} not in sentence {sent_id} {sentence[:80]!r}"
    if any("\n" in str(a["text"]) or "\r" in str(a["text"]) for a in arguments):
        cases["kept_newline_in_argument"] = f"{rid} {[str(a['text']) for a in arguments]!r}"
    return cases


def _check_relation_authors(
    relation: object, sentences: dict[str, str], lang: str
) -> tuple[str, str] | tuple[None, tuple[str, str, str, str]]:
    """The authors' rule (module doc): (drop reason, example) or (None, (sentence, e1, e2, label))."""
    if not _well_formed(relation):
        return "malformed_relation", repr(relation)[:200]
    rid = relation.get("relation-id", "?")
    arguments = relation["arguments"]
    if len(arguments) != 2:
        return "not_two_arguments", f"{rid} roles {[str(a['role']) for a in arguments]}"
    label = relation["relation-type"]
    if label not in LABELS:
        return "label_unknown", f"{rid} relation-type {label!r}"
    sent_id = str(relation["sent_id"])
    if sent_id not in sentences:
        return "sent_id_missing", f"{rid} sent_id {sent_id!r} not among the .conllu's {len(sentences)} sentence ids"
    # extract_ace05.py write_sample: .replace('\n', '').strip() on the sentence and both arguments
    first, second = (str(a["text"]).replace("\n", "").strip() for a in arguments)
    return None, (sentences[sent_id].replace("\n", "").strip(), first, second, label)


def _check_relation(
    relation: object, sentences: dict[str, str], lang: str
) -> tuple[str, str] | tuple[None, tuple[str, str, str, str]]:
    """The strict rule (module doc): (drop reason, example) or (None, (sentence, e1, e2, label))."""
    if not _well_formed(relation):
        return "malformed_relation", repr(relation)[:200]
    rid = relation.get("relation-id", "?")
    arguments = relation["arguments"]
    roles = [str(a["role"]) for a in arguments]
    described = f"{rid} roles {roles}"
    if any(role.startswith("Time") for role in roles):
        return "time_argument", described
    if len(arguments) != 2:
        return "not_two_arguments", described
    if sorted(roles) != ["Arg-1", "Arg-2"]:
        return "roles_not_arg1_arg2", described
    label = relation["relation-type"]
    if label not in LABELS:
        return "label_unknown", f"{rid} relation-type {label!r}"
    sent_id = str(relation["sent_id"])
    if sent_id not in sentences:
        return "sent_id_missing", f"{rid} sent_id {sent_id!r} not among the .conllu's {len(sentences)} sentence ids"
    by_role = {a["role"]: a for a in arguments}
    for argument in arguments:
        if "sent_id" in argument and str(argument["sent_id"]) != sent_id:
            return (
                "argument_other_sentence",
                f"{rid} {argument['role']} in sentence {argument['sent_id']}, relation in {sent_id}",
            )
    sentence = sentences[sent_id]
    e1, e2 = (normalise_mention_text(str(by_role[role]["text"]), lang) for role in ("Arg-1", "Arg-2"))
    for role, text in (("Arg-1", e1), ("Arg-2", e2)):
        # whitespace-insensitive: UDPipe's # text and the annotation may space a mention differently
        if _squash(text) not in _squash(sentence):
            return "entity_not_in_sentence", f"{rid} {role} {text!r} not in sentence {sent_id} {sentence[:80]!r}"
    return None, (sentence, e1, e2, label)


def read_document(
    v2_path: str | Path, lang: str, split: str, protocol: str = "strict"
) -> tuple[list[RelationInstance], FileReport]:
    """Instances of one ``<DOC>.v2.json`` (its ``<DOC>.conllu`` beside it) under ``protocol``
    (:data:`PROTOCOLS`), what was dropped and the cases kept."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"config key data.ace05.protocol: {protocol!r} is not one of {list(PROTOCOLS)}")
    check = _check_relation_authors if protocol == "authors" else _check_relation
    v2_path = Path(v2_path)
    doc_id = v2_path.name.removesuffix(".v2.json")
    report = FileReport(str(v2_path), lang, split)
    conllu_path = v2_path.with_name(f"{doc_id}.conllu")
    try:
        document = json.loads(v2_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        report.drop("unreadable_file", f"{v2_path}:{error.lineno}: malformed JSON (column {error.colno}: {error.msg})")
        return [], report
    except UnicodeDecodeError as error:
        report.drop("unreadable_file", f"{v2_path}: not UTF-8 ({error.reason} at byte {error.start})")
        return [], report
    if not conllu_path.is_file():
        report.drop("unreadable_file", f"{conllu_path}: missing (every <DOC>.v2.json needs its <DOC>.conllu)")
        return [], report
    try:
        sentences = _conllu_sentences(conllu_path)
    except (ConlluFormatError, UnicodeDecodeError) as error:
        report.drop("unreadable_file", str(error))
        return [], report
    if not isinstance(document, dict) or not isinstance(document.get("relations"), list):
        report.drop("unreadable_file", f"{v2_path}:1: expected a JSON object with a 'relations' list")
        return [], report
    instances = []
    for relation in document["relations"]:
        reason, found = check(relation, sentences, lang)
        if reason is not None:
            report.drop(reason, found)
            continue
        sentence, e1, e2, label = found
        for case, example in _kept_cases(relation, sentence, (e1, e2)).items():
            report.note(case, example)
        instances.append(
            RelationInstance(
                sentence=sentence,
                e1=e1,
                e2=e2,
                label=label,
                doc_id=doc_id,
                sent_id=str(relation["sent_id"]),
                relation_id=str(relation.get("relation-id", "")),
                lang=lang,
                split=split,
            )
        )
    report.kept = len(instances)
    return instances, report


def read_split(
    root: str | Path, lang: str, split: str, protocol: str = "strict"
) -> tuple[list[RelationInstance], list[FileReport]]:
    """All documents of one language and split, in file-name order (deterministic)."""
    check_processed_dir(root, [lang], [split])
    instances: list[RelationInstance] = []
    reports = []
    for v2_path in sorted(split_dir(root, lang, split).glob("*.v2.json")):
        found, report = read_document(v2_path, lang, split, protocol)
        instances.extend(found)
        reports.append(report)
    return instances, reports


def write_instances(instances: Iterable[RelationInstance], path: str | Path) -> int:
    """One JSON object per line (UTF-8, not ASCII-escaped); returns the number written."""
    count = 0
    with atomic_write(path) as handle:
        for instance in instances:
            handle.write(json.dumps(asdict(instance), ensure_ascii=False) + "\n")
            count += 1
    return count


def parse_json_line(line: str, record_class: type, where: str, what: str):
    """``record_class(**fields)`` of one JSON-lines line; a line that is not one fails naming ``where``
    (``file:line``) and ``what`` it should be."""
    try:
        return record_class(**json.loads(line))
    except json.JSONDecodeError as error:  # its "line 1" is the line's, not the file's
        raise ValueError(f"{where}: not {what} (malformed JSON at column {error.colno}: {error.msg})") from None
    except TypeError as error:
        raise ValueError(f"{where}: not {what} ({error})") from None


def read_instances(path: str | Path, labels: Iterable[str] | None = None) -> list[RelationInstance]:
    """Read a file :func:`write_instances` wrote; a bad line, or a label outside ``labels`` (when
    given), fails naming ``file:line``."""
    path = Path(path)
    allowed = None if labels is None else list(labels)
    instances = []
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            instance = parse_json_line(line, RelationInstance, f"{path}:{lineno}", "a relation instance")
            if allowed is not None and instance.label not in allowed:
                raise ValueError(
                    f"{path}:{lineno}: label {instance.label!r} is not one of the {len(allowed)} relation "
                    f"labels ({', '.join(allowed)})"
                )
            instances.append(instance)
    return instances


def data_label(synthetic: bool) -> str:
    """What the ``data`` column of the tables says: synthetic data can never pass for ACE 2005."""
    return "SYNTHETIC (not ACE 2005)" if synthetic else "ACE 2005 (ACE05-Processor)"


def stats_table(reports: Iterable[FileReport], synthetic: bool = False) -> pd.DataFrame:
    """One row per (lang, split): ``data, lang, split, kept``, one column per drop reason and one
    per kept case (:data:`KEPT_CASES`)."""
    rows: dict[tuple[str, str], Counter] = {}
    for report in reports:
        counts = rows.setdefault((report.lang, report.split), Counter())
        counts["kept"] += report.kept
        counts.update(report.dropped)
        counts.update(report.cases)
    records = [
        {
            "data": data_label(synthetic),
            "lang": lang,
            "split": split,
            "kept": counts["kept"],
            **{reason: counts[reason] for reason in (*DROP_REASONS, *KEPT_CASES)},
        }
        for (lang, split), counts in rows.items()
    ]
    return pd.DataFrame(records, columns=["data", "lang", "split", "kept", *DROP_REASONS, *KEPT_CASES])


def problems_table(reports: Iterable[FileReport]) -> pd.DataFrame:
    """One row per file that dropped anything or kept a case of :data:`KEPT_CASES`: counts per
    reason and case, and its first examples."""
    records = [
        {
            "lang": r.lang,
            "split": r.split,
            "file": r.path,
            **{reason: r.dropped[reason] for reason in DROP_REASONS},
            **{case: r.cases[case] for case in KEPT_CASES},
            "examples": " | ".join(r.examples),
        }
        for r in reports
        if r.dropped or r.cases
    ]
    return pd.DataFrame(records, columns=["lang", "split", "file", *DROP_REASONS, *KEPT_CASES, "examples"])


def compare_with_paper(stats: pd.DataFrame) -> pd.DataFrame:
    """``[data,] lang, split, kept, paper, difference`` for every (lang, split) of ``stats`` the paper reports."""
    frame = stats[[c for c in ("data", "lang", "split", "kept") if c in stats.columns]].copy()
    frame["paper"] = [PAPER_KEPT.get((lang, split)) for lang, split in zip(frame["lang"], frame["split"])]
    frame = frame.dropna(subset=["paper"]).astype({"paper": int})
    frame["difference"] = frame["kept"] - frame["paper"]
    return frame.reset_index(drop=True)


def describe_comparison(comparison: pd.DataFrame) -> str:
    """A short text naming the (lang, split) whose kept count differs from the paper's."""
    differing = comparison[comparison["difference"] != 0]
    if differing.empty:
        return f"kept counts equal the paper's for all {len(comparison)} language/split pairs"
    listed = ", ".join(f"{r.lang}/{r.split} {r.kept} vs {r.paper} ({r.difference:+d})" for r in differing.itertuples())
    return f"kept counts differ from the paper's (ours vs paper) for {len(differing)} of {len(comparison)}: {listed}"


def instances_path(out_dir: str | Path, lang: str, split: str) -> Path:
    return Path(out_dir) / f"{lang}.{split}.jsonl"


def ingest(
    root: str | Path,
    out_dir: str | Path,
    languages: Iterable[str] = tuple(LANGUAGE_DIRS),
    splits: Iterable[str] = SPLITS,
    protocol: str = "strict",
) -> pd.DataFrame:
    """Write ``<lang>.<split>.jsonl``, ``stats.tsv``, ``problems.tsv`` and ``paper_comparison.tsv``,
    the mentions read under ``protocol`` (:data:`PROTOCOLS`).

    The directory is checked completely before anything is read, so a missing split fails
    before any work. Returns the stats table.
    """
    languages, splits = list(languages), list(splits)
    check_processed_dir(root, languages, splits)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reports: list[FileReport] = []
    for lang in languages:
        for split in splits:
            instances, split_reports = read_split(root, lang, split, protocol)
            write_instances(instances, instances_path(out_dir, lang, split))
            reports.extend(split_reports)
    stats = stats_table(reports, synthetic=is_synthetic(root))
    for name, table in (
        ("stats", stats),
        ("problems", problems_table(reports)),
        ("paper_comparison", compare_with_paper(stats)),
    ):
        with atomic_path(out_dir / f"{name}.tsv") as tmp:
            table.to_csv(tmp, sep="\t", index=False)
    return stats


SYNTHETIC_BANNER = (
    "*** SYNTHETIC DATA, NOT ACE 2005 ***: {root} was written by xlie.papers.prompt_xre.ace05_synthetic "
    f"(it holds {SYNTHETIC_MARKER}); its counts and every score made from it say nothing about the paper."
)


PROTOCOL_RULES = {
    "strict": "the strict rule: exactly Arg-1 and Arg-2, by role",
    "authors": "the authors' rule: exactly two arguments, by position",
}


def describe_ingestion(stats: pd.DataFrame, root: str | Path, protocol: str = "strict") -> str:
    """Kept counts next to the paper's per language and split, the drops and kept cases, the
    differing ones named."""
    synthetic = is_synthetic(root)
    comparison = compare_with_paper(stats).set_index(["lang", "split"])
    lines = [SYNTHETIC_BANNER.format(root=root)] if synthetic else []
    lines.append(f"ACE05 relation mentions from {root} (kept by {PROTOCOL_RULES[protocol]}):")
    lines.append(f"  {'lang':<5}{'split':<6}{'kept':>7}{'paper':>7}{'diff':>8}  dropped")
    for row in stats.itertuples(index=False):
        drops = {reason: getattr(row, reason) for reason in DROP_REASONS if getattr(row, reason)}
        dropped = ", ".join(f"{reason} {count}" for reason, count in drops.items()) or "none"
        cases = ", ".join(f"{case} {getattr(row, case)}" for case in KEPT_CASES if getattr(row, case))
        if cases:
            dropped += f"; {cases}"
        paper = comparison["paper"].get((row.lang, row.split))
        paper_text, diff_text = ("-", "-") if paper is None else (str(paper), f"{row.kept - paper:+d}")
        lines.append(f"  {row.lang:<5}{row.split:<6}{row.kept:>7}{paper_text:>7}{diff_text:>8}  {dropped}")
    lines.append(describe_comparison(comparison.reset_index()))
    if synthetic:
        lines.append("(expected: SYNTHETIC data is tiny; the comparison only shows the ingestion ran.)")
    return "\n".join(lines)


def ingest_step(root: str | Path, out_dir: str | Path, protocol: str = "strict") -> str:
    """The workflow's ``ingest_ace05`` step: :func:`ingest`, then the summary for log and stdout."""
    stats = ingest(root, out_dir, protocol=protocol)
    return describe_ingestion(stats, root, protocol)
