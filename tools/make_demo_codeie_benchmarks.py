"""Regenerate the demo code-style IE benchmarks in resources/demo/codeie_benchmarks from KnowCoder's example data.

Run once by a maintainer (the files are committed); not part of the workflow:
    python tools/make_demo_codeie_benchmarks.py ../shared/data/reference/knowcoder resources/demo/codeie_benchmarks

KnowCoder's sft/data/example_data.jsonl (ICT-GoKnow/KnowCoder) has 9 sentences, each with its
structured gold (`entities`, `relations` or `events`) and its one-stage prompt and output. The gold
code here is built from the structured fields with xlie's own writers (ner_code, re_code, ed_code,
eae_code) and checked against KnowCoder's output wherever the sentence's own prompt is of that
task, so a mismatch stops the script instead of shipping gold that differs from KnowCoder's.

The class descriptions and examples come from the class definitions inside the example prompts:
the *_class_defs.json files beside example_data.jsonl carry no docstrings and do not define most
of the classes the sentences use (Person, Location, Creator, Education, Marriage, ...). Each
definition read from a prompt must render back byte for byte with xlie's renderer.

The structured fields are JSON lists in the released file; a field stored as a Python-repr string
is read with ast.literal_eval (literals only, nothing is run).
"""

from __future__ import annotations

import ast
import json
import keyword
import re
import sys
from pathlib import Path

import yaml

from xlie.papers.alignxie.knowcoder import class_blocks, task_of_prompt
from xlie.papers.alignxie.schema import (
    TASKS,
    TypeDef,
    class_code,
    eae_code,
    ed_code,
    ner_code,
    re_code,
)

EXAMPLE_DATA = "example_data.jsonl"
FIELD_OF_TASK = {"ner": "entities", "re": "relations", "ed": "events", "eae": "events"}
SCHEMA_KEY = {"entity": "entities", "relation": "relations", "event": "events"}


def rename_role(role: str) -> str:
    # KnowCoder has a role named `from` (Marriage, OrganizationBoardMembership): EAE code using it
    # would not parse, so the schema calls it `from_`, as xlie's SchemaError suggests.
    return role + "_" if keyword.iskeyword(role) else role


def structured(record: dict, key: str, where: str) -> list:
    value = record[key]
    if isinstance(value, str):
        value = ast.literal_eval(value)  # a Python-repr string: literals only
    if not isinstance(value, list):
        raise ValueError(f"{where}: '{key}' is {type(value).__name__}, expected a list")
    return value


def definitions_in_prompt(prompt: str, where: str) -> dict[str, TypeDef]:
    """The classes a KnowCoder prompt defines (not the base classes), each checked to render back exactly."""
    task = task_of_prompt(prompt)
    types = {}
    for block, typedef in class_blocks(prompt):
        if task != "eae" or not any(keyword.iskeyword(r) for r in typedef.roles):  # the renderer refuses those
            if class_code(typedef, task) != block + "\n":
                raise ValueError(f"{where}: class {typedef.name} does not render back to KnowCoder's definition")
        types[typedef.name] = typedef
    return types


def gold_output(task: str, items: list, where: str) -> tuple[str, list[tuple[str, str]]]:
    """The gold code of one sentence and the (kind, class) pairs it uses."""
    if task == "ner":
        # KnowCoder's classes are the types in CamelCase ("organization" -> Organization).
        pairs = [("".join(w[:1].upper() + w[1:] for w in re.split(r"[\s_]+", e["type"])), e["name"]) for e in items]
        return ner_code(pairs), [("entity", name) for name, _ in pairs]
    if task == "re":
        for r in items:
            if r["head"].get("type", "Entity") != "Entity" or r["tail"].get("type", "Entity") != "Entity":
                raise ValueError(f"{where}: typed relation arguments are not supported by this script")
        return re_code((r["head"]["name"], r["type"], r["tail"]["name"]) for r in items), [
            ("relation", r["type"]) for r in items
        ]
    if task == "ed":
        return ed_code((e["trigger"], e["type"]) for e in items), [("event", e["type"]) for e in items]
    return eae_code(
        (e["type"], e["trigger"], [(rename_role(a["role"]), a["name"]) for a in e["arguments"]]) for e in items
    ), [("event", e["type"]) for e in items]


def has_annotation(task: str, record: dict, where: str) -> bool:
    if FIELD_OF_TASK[task] not in record:
        return False
    if task == "eae":
        # Arguments annotated on every event; an event list without them is ED-only gold.
        events = structured(record, "events", where)
        return bool(events) and all("arguments" in e for e in events)
    return True


def build(source: Path) -> tuple[dict[str, list[dict]], dict]:
    """Lines of each task's test.jsonl, and the schema (Schema.from_dict format) of the classes they use."""
    path = source / EXAMPLE_DATA
    lines = {task: [] for task in TASKS}
    definitions: dict[tuple[str, str], TypeDef] = {}
    used: dict[tuple[str, str], dict] = {}
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        where = f"{path}:{number}"
        record = json.loads(text)
        prompt, expected = record["one-stage"]["zero-shot"]["prompt"], record["one-stage"]["output"]
        prompt_task = task_of_prompt(prompt)
        for name, typedef in definitions_in_prompt(prompt, where).items():
            key = (typedef.kind, name)
            if key in definitions and definitions[key] != typedef:
                previous = definitions[key]
                same = (previous.description, previous.examples, previous.roles) == (
                    typedef.description,
                    typedef.examples,
                    typedef.roles,
                )
                if not same:
                    raise ValueError(f"{where}: class {name} is defined differently in an earlier prompt")
            definitions.setdefault(key, typedef)
        for task in TASKS:
            if not has_annotation(task, record, where):
                continue
            output, classes = gold_output(task, structured(record, FIELD_OF_TASK[task], where), where)
            if task == prompt_task and output != expected:
                raise ValueError(f"{where}: the {task} gold built here differs from KnowCoder's output:\n{output}")
            for kind, name in classes:
                used.setdefault((kind, name), {"where": where})
            lines[task].append(
                {"id": f"knowcoder-example-{number}", "sentence": record["sentence"], "task": task, "output": output}
            )
    schema = {key: [] for key in SCHEMA_KEY.values()}
    for kind, name in sorted(used):
        typedef = definitions.get((kind, name))
        if typedef is None:
            raise ValueError(f"{used[(kind, name)]['where']}: no prompt defines the {kind} class {name}")
        item = {"name": name, "description": typedef.description}
        item["examples"] = [list(e) for e in typedef.examples] if kind == "relation" else list(typedef.examples)
        if typedef.parent:
            item["parent"] = typedef.parent
        if kind == "event":
            item["roles"] = [rename_role(r) for r in typedef.roles]
        if kind == "relation":
            item.update(head_types=list(typedef.head_types), tail_types=list(typedef.tail_types))
        schema[SCHEMA_KEY[kind]].append(item)
    return lines, schema


def main(source: Path, target: Path) -> None:
    lines, schema = build(source)
    for task, records in lines.items():
        path = target / task / "test.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        print(f"{path}: {len(records)} sentences")
    text = yaml.safe_dump(schema, sort_keys=False, allow_unicode=True, width=10_000)
    header = "# Classes used by the demo benchmarks; written by tools/make_demo_codeie_benchmarks.py (see README.md).\n"
    (target / "schema.yaml").write_text(header + text, encoding="utf-8")
    print(f"{target / 'schema.yaml'}: " + ", ".join(f"{len(v)} {k}" for k, v in schema.items()))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} KNOWCODER_DIR TARGET_DIR")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
