"""Code-style information extraction (AlignXIE): NER, RE, ED and EAE as Python code.

One task, ``codeie``, whose evaluation targets are *sets*: a MultiCoNER-style language (``en``,
``de``, ... converted to code-style JSONL by the ``convert_multiconer`` rule) or a configured IE
benchmark (``data.codeie.benchmarks``: JSONL already in code style). A training source is a
*mixture* (``data.codeie.mixtures``, e.g. ``enzh: [en, zh]``): the train splits of its sets, as
AlignXIE's phase 2 tunes one model on Chinese and English IE data and evaluates it everywhere.
So one trained model serves every table of the paper, NER languages and benchmarks alike.

Every line of a set: ``{"id", "sentence", "task", "output"}``, ``output`` the gold in KnowCoder's
code style with English class names. The prompt is the schema's class definitions and the
instruction (``xlie.papers.alignxie.schema.render_query``). Scores: micro P/R/F1 on strings
(``xlie.papers.alignxie.scorer``), and KnowCoder's evaluation beside them (``*_knowcoder``,
``xlie.papers.alignxie.knowcoder_protocol``); the model's text is parsed with ``ast``, never
executed. The floor a model must beat is a training lexicon: every training span (or trigger)
found in the test sentence, with its most frequent class.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from itertools import zip_longest
from pathlib import Path

from xlie.pipeline.provenance import file_sha256
from xlie.pipeline.runtime import atomic_write

from xlie.papers.alignxie.paths import SETS_DIR, TIP_PATH, set_path  # where the data rules write (one place)


@dataclass(frozen=True)
class CodeExample:
    id: str
    sentence: str
    task: str  # ner | re | ed | eae
    output: str  # gold, code style
    query: str  # class definitions + instruction + sentence (KnowCoder's "Input")
    schema: str = ""  # the set's type inventory (path): the classes KnowCoder's outlier filter allows


@dataclass(frozen=True)
class GoldItem:
    task: str
    sentence: str
    records: tuple
    schema: str = ""  # as CodeExample.schema ("": the knowcoder scores check no class)


@dataclass
class CodePrediction:
    """The model's raw outputs (parsed only when scored) and counts of what was not clean."""

    outputs: list[str]
    counts: dict[str, int]


@lru_cache(maxsize=None)
def read_schema(path: str):
    """The type inventory (YAML, ``Schema.from_dict`` format), read once per process; errors name the file."""
    from xlie.papers.alignxie.data_steps import load_schema

    return load_schema(path)


def gold_records(output: str, task: str, where: str) -> tuple:
    """The records of a gold output; gold that does not parse is a data error (file:line)."""
    from xlie.papers.alignxie.parser import parse_output

    parsed = parse_output(output, task)
    if parsed.failed or parsed.rejected:
        raise ValueError(f"{where}: the gold 'output' is not code-style {task} ({parsed.error})")
    return tuple(parsed.records)


def read_set(path: Path, schema_path: str) -> list[CodeExample]:
    """One code-style JSONL file; a bad line raises naming the file and line."""
    from xlie.papers.alignxie.parser import Event
    from xlie.papers.alignxie.schema import KIND_OF_TASK, TASKS, render_query
    from xlie.papers.alignxie.scorer import read_jsonl

    schema = read_schema(schema_path)
    examples = []
    for number, record in read_jsonl(path, ("id", "sentence", "task", "output")):
        where = f"{path}:{number}"
        task, sentence, output = record["task"], record["sentence"], record["output"]
        if task not in TASKS:
            raise ValueError(f"{where}: task {task!r} is not one of {', '.join(TASKS)}")
        if not isinstance(sentence, str) or not isinstance(output, str):
            raise ValueError(f"{where}: 'sentence' and 'output' must be strings")
        records = gold_records(output, task, where)
        unknown = sorted({r.type for r in records} - schema.class_names(KIND_OF_TASK[task]))
        if unknown:
            raise ValueError(f"{where}: class(es) {unknown} are not in the schema {schema_path}")
        # EAE is given its triggers (KnowCoder): they are part of the query, not of the answer.
        triggers = [(r.trigger, r.type) for r in records if isinstance(r, Event)] if task == "eae" else []
        # EAE defines the sentence's event classes only (KnowCoder), the other tasks the whole schema.
        names = list(dict.fromkeys(t for _, t in triggers)) if task == "eae" else None
        query = render_query(schema, task, sentence, names=names, triggers=triggers)
        examples.append(CodeExample(str(record["id"]), sentence, task, output, query, schema_path))
    return examples


def _lexicon(train: list[CodeExample]) -> dict[str, dict[str, str]]:
    """task -> training span (NER) or trigger (ED) -> its most frequent class."""
    seen: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for example in train:
        if example.task in ("ner", "ed"):
            for r in gold_records(example.output, example.task, example.id):
                seen[example.task][r.span if example.task == "ner" else r.trigger][r.type] += 1
    return {task: {s: c.most_common(1)[0][0] for s, c in spans.items()} for task, spans in seen.items()}


def _lexicon_output(lexicon: dict[str, dict[str, str]], item: GoldItem) -> list:
    from xlie.papers.alignxie.parser import Entity, Event

    found = [(s, t) for s, t in lexicon.get(item.task, {}).items() if s and s in item.sentence]
    if item.task == "ner":
        return [Entity(t, s) for s, t in found]
    if item.task == "ed":
        return [Event(t, s) for s, t in found]
    return []  # RE and EAE: the lexicon predicts nothing


def _scores(gold: list[GoldItem], records: list[list]) -> dict:
    """The strict scores, and KnowCoder's beside them (``*_knowcoder``, xlie.papers.alignxie.knowcoder_protocol)."""
    from xlie.papers.alignxie.knowcoder_protocol import KnowCoderScorer
    from xlie.papers.alignxie.parser import ParseResult
    from xlie.papers.alignxie.scorer import Scorer

    if len(gold) != len(records):
        raise ValueError(f"{len(gold)} gold instances but {len(records)} predicted")
    tasks = sorted({g.task for g in gold})
    if len(tasks) > 1:
        raise ValueError(f"one set mixes IE tasks {tasks}: a set has one task (score them as separate sets)")
    scorer = Scorer(tasks[0] if tasks else "ner")
    knowcoder = KnowCoderScorer(tasks[0] if tasks else "ner")
    for item, predicted in zip(gold, records):
        parsed = predicted if isinstance(predicted, ParseResult) else ParseResult(list(predicted))
        scorer.add(list(item.records), parsed, item.sentence)
        knowcoder.add(list(item.records), parsed, item.sentence, _schema_of(item))
    result, theirs = scorer.result(), knowcoder.result()
    scores = {k: result[k] for k in ("f1", "precision", "recall")}
    scores |= {f"{k}_knowcoder": theirs[k] for k in ("f1", "precision", "recall")}
    return {**scores, "primary": scores["f1"], "primary_name": "f1"}


def _schema_of(item: GoldItem):
    return read_schema(item.schema) if item.schema else None


def _parse_all(gold: list[GoldItem], outputs: list[str]) -> list:
    from xlie.papers.alignxie.parser import parse_output

    return [parse_output(text, item.task) for item, text in zip(gold, outputs)]


def _example_stats(gold: GoldItem, predicted: str):
    """(true positives, predicted, gold) of one example: the verdict bootstrap's additive statistics."""
    from xlie.papers.alignxie.parser import parse_output
    from xlie.papers.alignxie.scorer import Scorer

    scorer = Scorer(gold.task)
    scorer.add(list(gold.records), parse_output(predicted, gold.task), gold.sentence)
    return (scorer.tp, scorer.tp + scorer.fp, scorer.tp + scorer.fn)


def _example_stats_knowcoder(gold: GoldItem, predicted: str):
    """As _example_stats, counted as KnowCoder's evaluation counts (its F1 is 2 TP / (predicted + gold) too)."""
    from xlie.papers.alignxie.knowcoder_protocol import KnowCoderScorer
    from xlie.papers.alignxie.parser import parse_output

    return KnowCoderScorer(gold.task).counts(
        list(gold.records), parse_output(predicted, gold.task), gold.sentence, _schema_of(gold)
    )


@dataclass(frozen=True)
class CodeIETask:
    name: str
    description: str
    kind: str = "codeie"
    primary_metric: str = "f1"
    baseline_name: str = "Training lexicon"
    baseline_how: str = (
        "every training entity span or event trigger found in the sentence, with its most frequent class"
    )
    predictions_file: str = "predictions.jsonl"  # one JSON line per sentence (write_predictions)

    # ------------------------------------------------------------------ where the data is
    def data_options(self, config: dict) -> dict:
        codeie = config["data"]["codeie"]
        return {
            "sets_dir": SETS_DIR,
            "schema": codeie["schema"],
            "benchmarks": codeie.get("benchmarks", {}),
            "mixtures": codeie.get("mixtures", {}),
            "alignment_data": TIP_PATH,
        }

    def _files(self, data: dict, split: str, name: str) -> list[tuple[Path, str]]:
        """(file, schema) pairs of a set, or of every set of a mixture (train/dev only)."""
        if name in data["mixtures"]:
            return [pair for member in data["mixtures"][name] for pair in self._files(data, split, member)]
        benchmark = data["benchmarks"].get(name)
        if benchmark is not None:
            return [(Path(benchmark["path"].format(split=split)), benchmark["schema"])]
        return [(Path(set_path(name, split, data["sets_dir"])), data["schema"])]

    def input_files(self, config: dict, split: str, langs: list[str]) -> list[str]:
        data = self.data_options(config)
        files = [(str(path), schema) for lang in langs for path, schema in self._files(data, split, lang)]
        # The alignment instances are the tip variant's input (paths.alignment_inputs), not the task's.
        return list(dict.fromkeys([p for p, _ in files] + [s for _, s in files]))

    def validate_file(self, path: str, config: dict) -> list[str] | None:
        """One local input read as the jobs read it, before any job is scheduled: a type inventory
        (YAML), or a code-style JSONL set (UTF-8 JSON objects with id/sentence/task/output, gold that
        parses, classes of its schema, a benchmark's own task, at least one example); errors name
        file:line. A set's verdict rests on its schema too."""
        from xlie.papers.alignxie.scorer import read_jsonl

        data = self.data_options(config)
        benchmarks = data["benchmarks"]
        if path in {data["schema"], *(b["schema"] for b in benchmarks.values())}:
            read_schema(path)
            return None
        name, benchmark = next(
            (
                (n, b)
                for n, b in benchmarks.items()
                if any(b["path"].format(split=s) == path for s in ("train", "dev", "test"))
            ),
            (None, {}),
        )
        schema = benchmark.get("schema", data["schema"])
        if not read_set(Path(path), schema):
            raise ValueError(f"{path}:1: holds no examples (expected one JSON object per line)")
        wanted = benchmark.get("task")
        for number, record in read_jsonl(Path(path), ("task",)) if wanted else ():
            if record["task"] != wanted:
                raise ValueError(
                    f"{path}:{number}: a {record['task']!r} example, but data.codeie.benchmarks.{name}.task is {wanted!r}"
                )
        return [schema]

    def known_names(self, config: dict, role: str) -> set[str]:
        """Sources are training mixtures; targets are sets (MultiCoNER languages and benchmarks)."""
        codeie = config.get("data", {}).get("codeie", {})
        sets = set(codeie.get("multiconer", {}).get("languages", [])) | set(codeie.get("benchmarks", {}))
        return set(codeie.get("mixtures", {})) if role == "source" else sets

    def eval_split(self, config: dict) -> str:
        return "test"

    def load(self, data: dict, split: str, lang: str):
        files = self._files(data, split, lang)
        # A mixture interleaves its sets (round robin), so that a cap on training sentences
        # (max_train_sentences) keeps every set, not the first one alone.
        per_file = [read_set(path, schema) for path, schema in files]
        examples = [e for group in zip_longest(*per_file) for e in group if e is not None]
        wanted = (data["benchmarks"].get(lang) or {}).get("task")
        wrong = sorted({e.task for e in examples} - {wanted}) if wanted else []
        if wrong:
            raise ValueError(
                f"{files[0][0]}: holds {wrong} examples, but data.codeie.benchmarks.{lang}.task is {wanted!r}"
            )
        identity = {
            "source": "local",
            "files": {str(p): file_sha256(p) for p, _ in files},
            "schema": sorted({s for _, s in files}),
            "instances": len(examples),
        }
        return examples, identity

    def method_kwargs(self, data: dict) -> dict:
        return {"alignment_data": data["alignment_data"]}

    # ------------------------------------------------------------------ scoring
    def gold(self, examples):
        return [GoldItem(e.task, e.sentence, gold_records(e.output, e.task, e.id), e.schema) for e in examples]

    def predicted(self, prediction):
        return prediction.outputs

    def score(self, gold, predicted) -> dict:
        return _scores(list(gold), _parse_all(list(gold), list(predicted)))

    def floor_baseline(self, train, gold) -> dict:
        lexicon = _lexicon(train)
        return {**_scores(list(gold), [_lexicon_output(lexicon, g) for g in gold]), "label": self.baseline_name}

    def counts(self, examples) -> dict:
        return {"sentences": len(examples)}

    def write_predictions(self, path, examples, predicted) -> None:
        """Lines ``{"id", "task", "sentence", "gold", "output", "schema"}``: the model's raw text as it came
        (``schema``: the set's type inventory, for the knowcoder scores); a valid ``--predictions`` file
        of ``python -m xlie score-ie`` (the set's JSONL is its ``--gold``)."""
        with atomic_write(path) as handle:
            for example, text in zip(examples, predicted, strict=True):
                record = {
                    "id": example.id,
                    "task": example.task,
                    "sentence": example.sentence,
                    "gold": example.output,
                    "output": text,
                    "schema": example.schema,
                }
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def read_predictions(self, path):
        from xlie.papers.alignxie.scorer import read_jsonl

        gold, predicted = [], []
        for number, record in read_jsonl(Path(path), ("id", "task", "sentence", "gold", "output")):
            gold.append(
                GoldItem(
                    record["task"],
                    record["sentence"],
                    gold_records(record["gold"], record["task"], f"{path}:{number}"),
                    record.get("schema", ""),
                )
            )
            predicted.append(record["output"])
        return gold, predicted

    def example_scorer(self, metric: str):
        from xlie.report.verdict import ExampleScorer, f1_from_counts

        if metric == "f1_knowcoder":
            return ExampleScorer("f1_knowcoder", _example_stats_knowcoder, f1_from_counts)
        return ExampleScorer("f1", _example_stats, f1_from_counts) if metric == "f1" else None


CODEIE = CodeIETask("codeie", "Code-style IE (AlignXIE): NER/RE/ED/EAE as Python objects, micro F1 on strings")
