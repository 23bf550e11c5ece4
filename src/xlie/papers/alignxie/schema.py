"""A type inventory rendered as KnowCoder-style Python classes, prompts and gold code.

AlignXIE (after KnowCoder) writes every entity, relation and event type as a Python class with a
docstring (description, examples) and asks the model to instantiate objects of those classes for a
sentence. One English class serves every language: dataset labels in any language ("PER", "人物",
"persona") map onto it through the label table, which is what "aligning the schema" means here.

The exact layout (tabs, blank lines, the trailing ", " after event examples, the instruction
sentences) reproduces the prompts of KnowCoder's released SFT data (sft/data/example_data in
ICT-GoKnow/KnowCoder); tests compare them byte for byte.
"""

from __future__ import annotations

import json
import keyword
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

TASKS = ("ner", "re", "ed", "eae")
# Which kind of type each task instantiates.
KIND_OF_TASK = {"ner": "entity", "re": "relation", "ed": "event", "eae": "event"}
KINDS = ("entity", "relation", "event")
# The base classes each task's prompt defines itself: a type may not reuse these names.
BASES_OF_TASK = {"ner": ("Entity",), "re": ("Entity", "Relation"), "ed": ("Event",), "eae": ("Entity", "Event")}
RESERVED = {"entity": {"Entity"}, "relation": {"Entity", "Relation"}, "event": {"Entity", "Event"}}

SYSTEM_PROMPT = (
    "You are a highly skilled assistant at digesting and extracting information from textual content. "
    "Below is an input containing standard type definitions and textual content. "
    "Please complete it with the extracted information in the form of structured code."
)
# KnowCoder's chat template (sft/src/llmtuner/data/template.py, "KnowCoder"): system, "\n", then this.
QUERY_TEMPLATE = "Input:\n{query}\nOutput:\n"

BASE_CLASS_CODE = {
    "Entity": 'class Entity:\n\t"""\n\tThe base class for all entities.\n\t"""\n'
    "\tdef __init__(self, name: str):\n\t\tself.name = name\n",
    "Relation": 'class Relation:\n\t"""\n\tThe base class for all relations.\n\t"""\n'
    "\tdef __init__(self, head_entity: Entity, tail_entity: Entity):\n"
    "\t\tself.head_entity = head_entity\n\t\tself.tail_entity = tail_entity\n",
    # ED's base keeps the role names of each event type; EAE's base only the trigger (KnowCoder's two forms).
    "Event:ed": 'class Event:\n\t"""\n\tThe base class for all events.\n\t"""\n'
    "\tdef __init__(self, trigger: str, arg_names, *args):\n\t\tself.trigger = trigger\n"
    "\t\tself.arguments = {}\n\t\tfor arg_name, arg_values in zip(arg_names, args):\n"
    "\t\t\tself.arguments[arg_name] = arg_values\n",
    "Event:eae": 'class Event:\n\t"""\n\tThe base class for all events.\n\t"""\n'
    "\tdef __init__(self, trigger: str):\n\t\tself.trigger = trigger\n",
}

INSTRUCTIONS = {
    "ner": "This is an object-oriented programming task: some Entity Classes are defined above. "
    "Please instantiate all the corresponding Entity Objects in the following sentence.",
    "re": "This is an object-oriented programming task: some Relation Classes and related Entity Classes "
    "are defined above. Please instantiate all the corresponding Relation Objects in the following sentence.",
    "ed": "This is an object-oriented programming task: some Event Classes are defined above. "
    "Please instantiate all the corresponding Event Objects in the following sentence.",
    "eae": "This is an object-oriented programming task: some Event Classes are defined above. "
    "Please instantiate all the corresponding Event Objects in the following sentence.",
}
# EAE gives the triggers; KnowCoder joins several with "; " (its generate_prompt.py, commented-out code).
EAE_TRIGGER_NOTE = " It is important to note that the triggers of the events are confirmed as follows: {notes}."


class SchemaError(ValueError):
    """A type inventory that cannot be rendered or a label that maps onto no class."""


@dataclass(frozen=True)
class TypeDef:
    """One entity, relation or event type: an English class name and what the prompt says about it.

    examples: entity mentions (entity), (head, tail) pairs (relation), trigger words (event).
    labels: dataset labels, in any language, that mean this type.
    """

    kind: str
    name: str
    description: str = ""
    examples: tuple = ()
    labels: tuple[str, ...] = ()
    parent: str = ""
    roles: tuple[str, ...] = ()  # events only
    head_types: tuple[str, ...] = ("Entity",)  # relations only
    tail_types: tuple[str, ...] = ("Entity",)

    @property
    def base(self) -> str:
        return self.parent or {"entity": "Entity", "relation": "Relation", "event": "Event"}[self.kind]


def _label_key(label: str) -> str:
    # Labels compare case-insensitively ("organization" is Organization, as in KnowCoder's data).
    return label.strip().casefold()


def _check_identifier(what: str, name: object, allow_keyword: bool = False) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise SchemaError(f"{what} {name!r} is not a valid Python identifier")
    if keyword.iskeyword(name) and not allow_keyword:
        raise SchemaError(
            f"{what} {name!r} is a Python keyword: model output using it would not parse (rename it, e.g. {name + '_'!r})"
        )
    if not name.isascii():
        raise SchemaError(f"{what} {name!r} is not an English (ASCII) class name; map the label onto one with 'labels'")


@dataclass(frozen=True)
class Schema:
    """A validated type inventory with its label table (label in any language -> English class)."""

    types: tuple[TypeDef, ...]
    label_table: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # kind -> label key -> class

    @classmethod
    def from_types(cls, types: Iterable[TypeDef]) -> "Schema":
        types = tuple(types)
        table: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        seen: dict[str, set[str]] = {kind: set() for kind in KINDS}
        for t in types:
            if t.kind not in KINDS:
                raise SchemaError(f"type {t.name!r}: kind {t.kind!r} is not one of {', '.join(KINDS)}")
            _check_identifier(f"{t.kind} type name", t.name)
            if t.parent:
                _check_identifier(f"parent of {t.kind} type {t.name!r}", t.parent)
            if t.name in RESERVED[t.kind]:
                raise SchemaError(f"{t.kind} type name {t.name!r} clashes with a base class of its prompt")
            if t.name in seen[t.kind]:
                raise SchemaError(f"duplicate {t.kind} class name {t.name!r}")
            seen[t.kind].add(t.name)
            for role in t.roles:
                # A keyword role ("from" in KnowCoder's own data) is fine in ED's arg_names list; EAE rejects it.
                _check_identifier(f"role of event type {t.name!r}", role, allow_keyword=True)
            if len(set(t.roles)) != len(t.roles):
                raise SchemaError(f"event type {t.name!r} lists a role twice: {list(t.roles)}")
            for annotation in (*t.head_types, *t.tail_types):
                _check_identifier(f"head/tail entity type of relation {t.name!r}", annotation)
            for label in (t.name, *t.labels):
                if not isinstance(label, str) or not label.strip():
                    raise SchemaError(f"{t.kind} type {t.name!r} has an empty or non-string label {label!r}")
                key = _label_key(label)
                if table[t.kind].get(key, t.name) != t.name:
                    raise SchemaError(
                        f"label {label!r} maps onto two {t.kind} classes: {table[t.kind][key]!r} and {t.name!r}"
                    )
                table[t.kind][key] = t.name
        return cls(types=types, label_table=table)

    @classmethod
    def from_dict(cls, data: Mapping, source: str = "schema") -> "Schema":
        """Read {"entities": [...], "relations": [...], "events": [...]}; each item a TypeDef's fields."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"{source}: expected a mapping with entities/relations/events, got {type(data).__name__}")
        unknown = set(data) - {"entities", "relations", "events"}
        if unknown:
            raise SchemaError(f"{source}: unknown key(s) {sorted(unknown)}; expected entities, relations, events")
        types = []
        for key, kind in (("entities", "entity"), ("relations", "relation"), ("events", "event")):
            for i, item in enumerate(data.get(key) or []):
                where = f"{source}: {key}[{i}]"
                if not isinstance(item, Mapping) or "name" not in item:
                    raise SchemaError(f"{where}: expected a mapping with at least 'name'")
                allowed = {"name", "description", "examples", "labels", "parent"}
                allowed |= {"roles"} if kind == "event" else set()
                allowed |= {"head_types", "tail_types"} if kind == "relation" else set()
                extra = set(item) - allowed
                if extra:
                    raise SchemaError(f"{where} ({item['name']!r}): unknown key(s) {sorted(extra)}")
                examples = item.get("examples") or ()
                if kind == "relation":
                    if any(not isinstance(e, (list, tuple)) or len(e) != 2 for e in examples):
                        raise SchemaError(f"{where} ({item['name']!r}): relation examples must be [head, tail] pairs")
                    examples = tuple(tuple(e) for e in examples)
                fields = {k: tuple(v) for k, v in item.items() if k in {"labels", "roles", "head_types", "tail_types"}}
                types.append(
                    TypeDef(
                        kind=kind,
                        name=item["name"],
                        description=item.get("description") or "",
                        examples=tuple(examples),
                        parent=item.get("parent") or "",
                        **fields,
                    )
                )
        try:
            return cls.from_types(types)
        except SchemaError as err:
            raise SchemaError(f"{source}: {err}") from None

    def of_kind(self, kind: str) -> tuple[TypeDef, ...]:
        return tuple(t for t in self.types if t.kind == kind)

    def get(self, kind: str, name: str) -> TypeDef:
        for t in self.of_kind(kind):
            if t.name == name:
                return t
        raise SchemaError(f"no {kind} class named {name!r} in the schema")

    def class_names(self, kind: str) -> set[str]:
        return {t.name for t in self.of_kind(kind)}

    def english_class(self, kind: str, label: str) -> str:
        """The English class a dataset label (any language) maps onto; SchemaError naming it if none."""
        name = self.label_table.get(kind, {}).get(_label_key(label)) if isinstance(label, str) else None
        if name is None:
            raise SchemaError(f"{kind} label {label!r} has no English class: add it to the 'labels' of one {kind} type")
        return name

    def check_labels(self, kind: str, labels: Iterable[str], source: str = "data") -> None:
        """Fail once, naming every label of a dataset that maps onto no class."""
        missing = sorted({lab for lab in labels if _label_key(lab) not in self.label_table.get(kind, {})})
        if missing:
            raise SchemaError(f"{source}: {kind} label(s) with no English class: {missing}")


# ---------------------------------------------------------------- class definitions


def _docstring(lines: Sequence[str]) -> str:
    return '\t"""\n' + "".join(f"\t{line}\n" for line in lines) + '\t"""\n'


def _trigger_examples(t: TypeDef) -> str:
    return "".join(f"{e}, " for e in t.examples)


def class_code(t: TypeDef, task: str) -> str:
    """One class definition in KnowCoder's SFT layout for `task` (ED and EAE lay events out differently)."""
    head = f"class {t.name}({t.base}):\n"
    if task == "ner":
        return head + _docstring([f"Description: {t.description}", f"Examples: {', '.join(t.examples)}"]) + "\tpass\n"
    if task == "re":
        pairs = ", ".join(f"({h}, {tl})" for h, tl in t.examples)
        return (
            head
            + _docstring([f"Description: {t.description}", f"Examples: {pairs}"])
            + f"\tdef __init__(self, head_entity: {' | '.join(t.head_types)}, tail_entity: {' | '.join(t.tail_types)}):\n"
            + "\t\tsuper().__init__(head_entity = head_entity, tail_entity = tail_entity)\n"
        )
    if task == "ed":
        return (
            head
            + _docstring([f"Description: {t.description}", f"Examples: {_trigger_examples(t)}"])
            + "\tdef __init__(self, trigger: str, *args):\n"
            + f"\t\targ_names = {json.dumps(list(t.roles), ensure_ascii=False)}\n"
            + "\t\tsuper().__init__(trigger = trigger, arg_names = arg_names, *args)\n"
        )
    if task == "eae":
        for role in t.roles:
            _check_identifier(f"EAE role of event type {t.name!r}", role)
        params = [f"\t\ttrigger: str, # Examples: {_trigger_examples(t)}"] + [
            f"\t\t{r}: List[ Entity ]," for r in t.roles
        ]
        params[-1] = params[-1].removesuffix(",") if t.roles else params[-1]
        return (
            head
            + _docstring([f"Description: {t.description}"])
            + "\tdef __init__(\n\t\tself,\n"
            + "".join(p + "\n" for p in params)
            + "\t):\n\t\tsuper().__init__(trigger = trigger)\n"
            + "".join(f"\t\tself.{r} = {r}\n" for r in t.roles)
        )
    raise SchemaError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")


def _check_task(task: str) -> str:
    if task not in TASKS:
        raise SchemaError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    return KIND_OF_TASK[task]


def class_definitions(schema: Schema, task: str, names: Sequence[str] | None = None) -> str:
    """The base classes of the task, then the chosen types (all of the task's kind by default)."""
    kind = _check_task(task)
    chosen = schema.of_kind(kind) if names is None else tuple(schema.get(kind, n) for n in names)
    bases = [BASE_CLASS_CODE[f"Event:{task}" if b == "Event" else b] for b in BASES_OF_TASK[task]]
    return "".join(code + "\n" for code in [*bases, *(class_code(t, task) for t in chosen)])


def instruction(task: str, triggers: Sequence[tuple[str, str]] = ()) -> str:
    """The docstring instruction; for EAE, `triggers` are (trigger, event class) pairs given to the model."""
    _check_task(task)
    text = INSTRUCTIONS[task]
    if task == "eae" and triggers:
        notes = "; ".join(f'"{trigger}" is the trigger of event type "{name}"' for trigger, name in triggers)
        text += EAE_TRIGGER_NOTE.format(notes=notes)
    return text


def render_query(
    schema: Schema,
    task: str,
    sentence: str,
    names: Sequence[str] | None = None,
    triggers: Sequence[tuple[str, str]] = (),
) -> str:
    """Class definitions + instruction + `sentence = "..."`: the query KnowCoder's template wraps.

    The sentence goes in verbatim between double quotes, as in KnowCoder's data (the model was
    trained on that form), even when it contains quotes or newlines.
    """
    return (
        class_definitions(schema, task, names)
        + f'"""\n{instruction(task, triggers)}\n"""\n'
        + f'sentence = "{sentence}"\n'
    )


def render_prompt(query: str, system: str = SYSTEM_PROMPT) -> str:
    """The full model input: system prompt, "\\n", then "Input:\\n{query}\\nOutput:\\n"."""
    body = QUERY_TEMPLATE.format(query=query)
    return f"{system}\n{body}" if system else body


# ---------------------------------------------------------------- gold code (model completions)


def py_string(text: str) -> str:
    """A double-quoted Python string literal for `text` that ast reads back unchanged.

    JSON escapes (\\" \\\\ \\n \\uXXXX) are all valid Python escapes, so json.dumps is one.
    """
    return json.dumps(text, ensure_ascii=False)


def _results(items: Sequence[str]) -> str:
    return "results = [\n" + ",\n".join(f"\t{item}" for item in items) + "\n]" if items else "results = []"


def ner_code(entities: Iterable[tuple[str, str]]) -> str:
    """entities: (class, span) pairs -> `results = [\\n\\tPerson("..."),\\n...]`."""
    return _results([f"{name}({py_string(span)})" for name, span in entities])


def re_code(relations: Iterable[tuple[str, str, str]], head_type: str = "Entity", tail_type: str = "Entity") -> str:
    """relations: (head, relation class, tail) triples."""
    return _results([f"{rel}({head_type}({py_string(h)}), {tail_type}({py_string(t)}))" for h, rel, t in relations])


def ed_code(events: Iterable[tuple[str, str]]) -> str:
    """events: (trigger, event class) pairs -> `results = [\\n\\tEducation("school")\\n]`."""
    return _results([f"{name}({py_string(trigger)})" for trigger, name in events])


def eae_code(events: Iterable[tuple[str, str, Sequence[tuple[str, str]]]]) -> str:
    """events: (event class, trigger, [(role, argument), ...]); roles in order of first appearance."""
    items = []
    for name, trigger, arguments in events:
        by_role: dict[str, list[str]] = {}
        for role, argument in arguments:
            by_role.setdefault(role, []).append(f"Entity({py_string(argument)})")
        parts = [f"trigger = {py_string(trigger)}"] + [f"{r} = [{', '.join(a)}]" for r, a in by_role.items()]
        items.append(f"{name}({', '.join(parts)})")
    return _results(items)
