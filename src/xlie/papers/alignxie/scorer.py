"""Micro precision/recall/F1 on strings for code-style IE (KnowCoder's conventions): the `strict` protocol.

KnowCoder's own evaluation, bug for bug (names normalised, ACE parent types, duplicates counted, its
outlier filter), is the `knowcoder` protocol: xlie.papers.alignxie.knowcoder_protocol.

What is compared, per instance (spans are strings, not offsets):
    NER  (entity class, span)
    RE   (head, relation class, tail)          entity classes of head and tail are not checked
    ED   (trigger, event class)
    EAE  (event class, role, argument)         one tuple per argument of each event

Duplicates: counted as a multiset. A tuple predicted k times where the gold has it g times gives
min(k, g) true positives and k - min(k, g) false positives. (KnowCoder counts every copy of a
correct prediction as a true positive — its dedup step is dead code — which can put TP above the
gold count.) `dedupe=True` turns both sides into sets per instance instead.

Outlier filter (optional; after KnowCoder's --filter_outlier, stricter for ED and EAE): before
matching, drop predicted items whose spans do not occur in the sentence (and RE pairs whose head
equals the tail), and, when a schema is given, items whose class is not in it (and EAE arguments
whose role the event class lacks).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from xlie.papers.alignxie.parser import Entity, Event, ParseResult, Relation, Tally, parse_output
from xlie.papers.alignxie.schema import KIND_OF_TASK, TASKS, Schema


def tuples(records: list, task: str) -> list[tuple]:
    """The compared tuples of parsed records (see the module docstring)."""
    if task == "ner":
        return [(r.type, r.span) for r in records if isinstance(r, Entity)]
    if task == "re":
        return [(r.head, r.type, r.tail) for r in records if isinstance(r, Relation)]
    if task == "ed":
        return [(r.trigger, r.type) for r in records if isinstance(r, Event)]
    if task == "eae":
        return [(r.type, role, arg) for r in records if isinstance(r, Event) for role, arg in r.arguments]
    raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")


def filter_outliers(records: list, task: str, sentence: str, schema: Schema | None = None) -> list:
    """Predicted records without spans outside the sentence or classes outside the schema."""
    known = schema.class_names(KIND_OF_TASK[task]) if schema is not None else None
    kept = []
    for r in records:
        if known is not None and r.type not in known:
            continue
        if task == "ner" and r.span and r.span in sentence:
            kept.append(r)
        elif task == "re" and r.head and r.tail and r.head != r.tail and r.head in sentence and r.tail in sentence:
            kept.append(r)
        elif task == "ed" and r.trigger and r.trigger in sentence:
            kept.append(r)
        elif task == "eae":
            roles = set(schema.get("event", r.type).roles) if schema is not None else None
            arguments = tuple(
                (role, arg) for role, arg in r.arguments if arg and arg in sentence and (roles is None or role in roles)
            )
            kept.append(Event(r.type, r.trigger, arguments))
    return kept


@dataclass
class Scorer(Tally):
    """Accumulates instances, then reports micro P/R/F1 with the counts behind them."""

    outliers: bool = False  # apply filter_outliers to predictions
    schema: Schema | None = None  # classes (and EAE roles) the outlier filter allows
    dedupe: bool = False
    fp: int = 0
    fn: int = 0

    def add(self, gold: list, prediction: ParseResult, sentence: str = "") -> None:
        """One instance: the gold records and the parse of the model's output."""
        predicted = prediction.records
        if self.outliers:
            predicted = filter_outliers(predicted, self.task, sentence, self.schema)
        gold_tuples, pred_tuples = Counter(tuples(gold, self.task)), Counter(tuples(predicted, self.task))
        if self.dedupe:
            gold_tuples, pred_tuples = Counter(set(gold_tuples)), Counter(set(pred_tuples))
        tp = sum((gold_tuples & pred_tuples).values())
        self.tp += tp
        self.fp += sum(pred_tuples.values()) - tp
        self.fn += sum(gold_tuples.values()) - tp
        self.count_output(prediction)

    def result(self) -> dict:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "task": self.task,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            **self.output_counts(),
        }


# ---------------------------------------------------------------- scoring files


PROTOCOLS = ("strict", "knowcoder")  # score_files' protocol choices


class InputFileError(ValueError):
    """A malformed gold or prediction file; the message names the file and line."""


def read_jsonl(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    """(line number, object) for each non-blank line; InputFileError naming file:line otherwise."""
    rows = []
    try:
        raw_lines = Path(path).read_bytes().splitlines()
    except OSError as err:
        raise InputFileError(f"{path}: cannot read: {err.strerror or err}") from None
    for number, raw in enumerate(raw_lines, start=1):
        where = f"{path}:{number}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InputFileError(f"{where}: not UTF-8 ({err.reason} at byte {err.start})") from None
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputFileError(f"{where}: bad JSON: {err.msg} (column {err.colno})") from None
        if not isinstance(row, dict):
            raise InputFileError(f"{where}: expected a JSON object, got {type(row).__name__}")
        missing = [key for key in required if key not in row]
        if missing:
            raise InputFileError(f"{where}: missing key(s) {missing}; each line needs {list(required)}")
        if "id" in required and (not isinstance(row["id"], (str, int)) or isinstance(row["id"], bool)):
            raise InputFileError(f"{where}: 'id' must be a string or an integer, got {json.dumps(row['id'])}")
        rows.append((number, row))
    return rows


def _by_id(rows: list[tuple[int, dict]], path: Path) -> dict:
    seen: dict = {}
    for number, row in rows:
        if row["id"] in seen:
            raise InputFileError(f"{path}:{number}: id {row['id']!r} already on line {seen[row['id']][0]}")
        seen[row["id"]] = (number, row)
    return seen


def score_files(
    task: str,
    gold_path: Path,
    predictions_path: Path,
    *,
    outliers: bool = False,
    schema: Schema | None = None,
    dedupe: bool = False,
    protocol: str = "strict",
    upper_types: dict | None = None,
) -> dict:
    """Score PRED lines {"id", "output"} against GOLD lines {"id", "sentence", "output"} (code style).

    protocol: "strict" (this module: `outliers`, `schema`, `dedupe` apply) or "knowcoder"
    (xlie.papers.alignxie.knowcoder_protocol: KnowCoder's eval.sh, outlier filter always on against
    the sentence and `schema`; `upper_types` is its wikidata_upper lookup).

    A gold id with no prediction line scores as an empty prediction (all its gold tuples are false
    negatives; counted in "missing_predictions", not as a parse failure). A prediction id absent
    from the gold, a duplicate id, or a gold output that does not parse cleanly is a malformed file.
    Whatever a prediction's "output" holds (any text, or not text at all) is scored, never fatal.
    """
    gold = _by_id(read_jsonl(gold_path, ("id", "sentence", "output")), gold_path)
    predictions = _by_id(read_jsonl(predictions_path, ("id", "output")), predictions_path)
    for pred_id, (number, _) in predictions.items():
        if pred_id not in gold:
            raise InputFileError(f"{predictions_path}:{number}: id {pred_id!r} is not in {gold_path}")
    if protocol == "knowcoder":
        from xlie.papers.alignxie.knowcoder_protocol import KnowCoderScorer

        scorer = KnowCoderScorer(task, schema=schema, upper_types=upper_types)
    elif protocol == "strict":
        scorer = Scorer(task, outliers=outliers, schema=schema, dedupe=dedupe)
    else:
        raise ValueError(f"unknown scoring protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    missing = 0
    for gold_id, (number, row) in gold.items():
        if not isinstance(row["sentence"], str):
            raise InputFileError(f"{gold_path}:{number}: 'sentence' must be a string")
        parsed_gold = parse_output(row["output"], task)
        if parsed_gold.failed or parsed_gold.rejected:
            raise InputFileError(
                f"{gold_path}:{number}: gold 'output' is not clean code-style {task} output ({parsed_gold.error})"
            )
        if gold_id in predictions:
            prediction = parse_output(predictions[gold_id][1]["output"], task)
        else:
            prediction, missing = ParseResult(), missing + 1
        scorer.add(parsed_gold.records, prediction, row["sentence"])
    return {**scorer.result(), "missing_predictions": missing}
