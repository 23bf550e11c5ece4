"""The schema renderer against KnowCoder's own prompts and outputs (golden files), and its errors."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from xlie.papers.alignxie.knowcoder import class_blocks, task_of_prompt
from xlie.papers.alignxie.schema import (
    Schema,
    SchemaError,
    TypeDef,
    class_definitions,
    eae_code,
    ed_code,
    ner_code,
    re_code,
    render_prompt,
    render_query,
)

HERE = Path(__file__).resolve().parent
SAMPLE = HERE / "data" / "knowcoder" / "example_data_sample.jsonl"
SHARED = HERE.parents[1] / "shared" / "data" / "reference" / "knowcoder" / "example_data.jsonl"


def inventory_from_prompt(prompt: str) -> tuple[str, list[TypeDef], list[tuple[str, str]]]:
    """(task, the classes a KnowCoder prompt defines, the EAE (trigger, event class) notes it gives)."""
    triggers = re.findall(r'"([^"]*)" is the trigger of event type "(\w+)"', prompt)
    return task_of_prompt(prompt), [t for _, t in class_blocks(prompt)], [(t, n) for t, n in triggers]


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def gold_code(record: dict, task: str, schema: Schema) -> str:
    if task == "ner":
        return ner_code((schema.english_class("entity", e["type"]), e["name"]) for e in record["entities"])
    if task == "re":
        return re_code((r["head"]["name"], r["type"], r["tail"]["name"]) for r in record["relations"])
    if task == "ed":
        return ed_code((e["trigger"], e["type"]) for e in record["events"])
    return eae_code(
        (e["type"], e["trigger"], [(a["role"], a["name"]) for a in e.get("arguments", [])]) for e in record["events"]
    )


def check_golden(path: Path) -> int:
    checked = 0
    for i, record in enumerate(_records(path)):
        prompt, expected_output = record["one-stage"]["zero-shot"]["prompt"], record["one-stage"]["output"]
        task, types, triggers = inventory_from_prompt(prompt)
        schema = Schema.from_types(types)
        names = [t.name for t in types]
        if task == "eae" and any(r == "from" for t in types for r in t.roles):
            # KnowCoder's own data has a role named `from`: its outputs could not be parsed back.
            with pytest.raises(SchemaError, match="'from' is a Python keyword"):
                render_query(schema, task, record["sentence"], names, triggers)
            continue
        assert render_query(schema, task, record["sentence"], names, triggers) == prompt, f"{path} line {i + 1}"
        assert gold_code(record, task, schema) == expected_output, f"{path} line {i + 1}"
        checked += 1
    return checked


def test_golden_shipped_sample():
    assert check_golden(SAMPLE) == 4  # EAE, ED, RE, NER; the fifth is the `from` example


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data/reference/knowcoder is absent (fresh clone)")
def test_golden_shared_reference():
    assert check_golden(SHARED) == 8


def test_ner_labels_in_any_language_map_onto_one_class():
    schema = Schema.from_dict(
        {
            "entities": [
                {"name": "Person", "labels": ["PER", "人物", "persona"]},
                {"name": "Location", "labels": ["LOC"]},
            ]
        }
    )
    assert {schema.english_class("entity", lab) for lab in ["PER", "人物", "Persona", "person"]} == {"Person"}
    # Labels written in different languages render the same gold code.
    assert ner_code([(schema.english_class("entity", "人物"), "奥巴马")]) == 'results = [\n\tPerson("奥巴马")\n]'
    with pytest.raises(SchemaError, match="'ORG' has no English class"):
        schema.english_class("entity", "ORG")
    with pytest.raises(SchemaError, match=r"label\(s\) with no English class: \['MISC', 'ORG'\]"):
        schema.check_labels("entity", ["PER", "ORG", "MISC", "LOC"])


@pytest.mark.parametrize(
    "inventory, message",
    [
        ({"entities": [{"name": "Person"}, {"name": "Person"}]}, "duplicate entity class name 'Person'"),
        ({"entities": [{"name": "Tv Show"}]}, "'Tv Show' is not a valid Python identifier"),
        ({"entities": [{"name": "2Person"}]}, "'2Person' is not a valid Python identifier"),
        ({"entities": [{"name": "class"}]}, "'class' is a Python keyword"),
        ({"entities": [{"name": "人物"}]}, "'人物' is not an English"),
        ({"entities": [{"name": "Entity"}]}, "clashes with a base class"),
        ({"events": [{"name": "Attack", "roles": ["attacker", "bad role"]}]}, "'bad role' is not a valid Python"),
        ({"entities": [{"name": "Person", "labels": ["X"]}, {"name": "Org", "labels": ["x"]}]}, "maps onto two"),
        ({"entities": [{"name": "Person", "colour": "red"}]}, r"unknown key\(s\) \['colour'\]"),
        ({"relations": [{"name": "LocatedIn", "examples": [["a", "b", "c"]]}]}, r"\[head, tail\] pairs"),
    ],
)
def test_schema_errors_name_the_culprit(inventory, message):
    with pytest.raises(SchemaError, match=message):
        Schema.from_dict(inventory, source="inventory.json")


def test_same_name_in_different_kinds_is_allowed():
    # KnowCoder's NER data has an entity class `Event`; event classes live in other prompts.
    schema = Schema.from_dict({"entities": [{"name": "Award"}, {"name": "Event"}], "events": [{"name": "Award"}]})
    assert "class Event(Entity):" in class_definitions(schema, "ner")


def test_rendered_definitions_are_python_and_prompt_wraps_query():
    schema = Schema.from_dict(
        {
            "entities": [{"name": "Person", "description": "A human.", "examples": ["Obama"]}],
            "relations": [{"name": "WorkFor", "examples": [["Ann", "ACME"]], "head_types": ["Person"]}],
            "events": [{"name": "Attack", "examples": ["bombed"], "roles": ["attacker", "target"]}],
        }
    )
    for task in ("ner", "re", "ed", "eae"):
        ast.parse(class_definitions(schema, task))  # well-formed Python (parsed, never run)
    query = render_query(schema, "ner", "Obama spoke.")
    assert query.endswith('sentence = "Obama spoke."\n')
    prompt = render_prompt(query)
    assert prompt.startswith("You are a highly skilled assistant") and prompt.endswith(f"Input:\n{query}\nOutput:\n")


def test_gold_code_escapes_quotes_and_newlines():
    code = ner_code([("Work", 'the "Wall"\nII \\ x')])
    value = ast.parse(code).body[0].value.elts[0].args[0].value
    assert value == 'the "Wall"\nII \\ x'
    assert ed_code([]) == "results = []"


BANK = SHARED.parent


def _bank_types(kind: str, task: str) -> list[TypeDef]:
    """KnowCoder's class-definition bank (eval/src/class_defs) read with ast (never run)."""
    bank = json.loads((BANK / f"{task if task in ('ed', 'eae') else kind}_class_defs.json").read_text())
    types = []
    for name, code in bank.items():
        node = ast.parse(code.replace("\t", "    ")).body[0]
        if not node.bases:
            continue  # the base class itself
        parent = ast.unparse(node.bases[0])
        init = next((n for n in node.body if isinstance(n, ast.FunctionDef)), None)
        fields = {}
        if task == "re":
            annotations = {a.arg: ast.unparse(a.annotation) for a in init.args.args if a.annotation}
            fields = {f"{side}_types": tuple(annotations[f"{side}_entity"].split(" | ")) for side in ("head", "tail")}
        elif task == "ed":
            assign = next(n for n in init.body if isinstance(n, ast.Assign))
            fields = {"roles": tuple(ast.literal_eval(assign.value))}  # a list of string literals: data
        elif task == "eae":
            fields = {"roles": tuple(a.arg for a in init.args.args[2:])}
        types.append(TypeDef(kind=kind, name=name, parent=parent, **fields))
    return types


@pytest.mark.skipif(not (BANK / "eae_class_defs.json").exists(), reason="../shared/data/reference/knowcoder is absent")
@pytest.mark.parametrize("task", ["ner", "re", "ed", "eae"])
def test_knowcoder_class_bank_loads_and_renders(task):
    kind = {"ner": "entity", "re": "relation", "ed": "event", "eae": "event"}[task]
    types = _bank_types(kind, task)
    assert len(types) >= 13
    rendered = ast.parse(class_definitions(Schema.from_types(types), task).replace("\t", "    "))
    classes = {n.name: n for n in rendered.body if isinstance(n, ast.ClassDef)}
    for t in types:  # every class comes back with its parent, roles and argument types
        node = classes[t.name]
        assert ast.unparse(node.bases[0]) == t.base
        code = ast.unparse(node)
        assert all(role in code for role in t.roles)
        if task == "re":
            assert all(annotation in code for annotation in (*t.head_types, *t.tail_types))
