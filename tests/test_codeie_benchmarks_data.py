"""The demo code-style IE benchmarks (resources/demo/codeie_benchmarks): reproducible, and gold that parses."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from xlie.papers.alignxie.parser import Entity, Event, Relation, parse_output
from xlie.papers.alignxie.schema import KIND_OF_TASK, TASKS, Schema

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "resources" / "demo" / "codeie_benchmarks"
SCRIPT = ROOT / "tools" / "make_demo_codeie_benchmarks.py"
SOURCE = ROOT.parent / "shared" / "data" / "reference" / "knowcoder"
needs_source = pytest.mark.skipif(
    not (SOURCE / "example_data.jsonl").exists(), reason="../shared/data/reference/knowcoder is absent (fresh clone)"
)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _script():
    spec = importlib.util.spec_from_file_location("make_demo_codeie_benchmarks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_source
def test_script_reproduces_the_committed_files(tmp_path):
    _script().main(SOURCE, tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted([Path(t) / "test.jsonl" for t in TASKS] + [Path("schema.yaml")])
    for relative in written:
        assert (tmp_path / relative).read_bytes() == (BENCHMARKS / relative).read_bytes(), relative


def test_every_gold_parses_and_uses_schema_classes():
    schema = Schema.from_dict(yaml.safe_load((BENCHMARKS / "schema.yaml").read_text(encoding="utf-8")))
    counts = {}
    for task in TASKS:
        lines = _lines(BENCHMARKS / task / "test.jsonl")
        counts[task] = len(lines)
        for line in lines:
            assert set(line) == {"id", "sentence", "task", "output"} and line["task"] == task
            parsed = parse_output(line["output"], task)
            assert not parsed.failed and not parsed.rejected and not parsed.truncated, (line["id"], parsed.error)
            assert {r.type for r in parsed.records} <= schema.class_names(KIND_OF_TASK[task]), line["id"]
            for record in parsed.records:
                if task == "eae":
                    assert {role for role, _ in record.arguments} <= set(schema.get("event", record.type).roles)
    assert counts == {"ner": 1, "re": 1, "ed": 7, "eae": 2}


def _expected_records(task: str, items: list) -> list:
    """The records the structured fields of KnowCoder's data mean (independent of the script)."""
    if task == "ner":
        return [Entity(e["type"].title().replace(" ", "").replace("_", ""), e["name"]) for e in items]
    if task == "re":
        return [Relation(r["type"], r["head"]["name"], r["tail"]["name"]) for r in items]
    if task == "ed":
        return [Event(e["type"], e["trigger"]) for e in items]
    return [Event(e["type"], e["trigger"], tuple((a["role"], a["name"]) for a in e["arguments"])) for e in items]


@needs_source
def test_gold_records_match_the_structured_fields():
    source = _lines(SOURCE / "example_data.jsonl")
    field = {"ner": "entities", "re": "relations", "ed": "events", "eae": "events"}
    for task in TASKS:
        for line in _lines(BENCHMARKS / task / "test.jsonl"):
            record = source[int(line["id"].removeprefix("knowcoder-example-")) - 1]
            items = record[field[task]]
            items = ast.literal_eval(items) if isinstance(items, str) else items
            assert line["sentence"] == record["sentence"]
            assert parse_output(line["output"], task).records == _expected_records(task, items), line["id"]
