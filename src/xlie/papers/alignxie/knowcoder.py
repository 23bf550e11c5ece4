"""Reading KnowCoder's released prompts back into a type inventory: what its class definitions say
(name, parent, description, examples, roles, head and tail types) and which EAE triggers it gives.

Independent of the renderer (xlie.papers.alignxie.schema), so a golden test can check that rendering the
inventory read from a KnowCoder prompt gives that prompt back, and a tool can build a schema from
KnowCoder's data. Regular expressions are fine here: the input is KnowCoder's own prompts, not
model output.
"""

from __future__ import annotations

import json
import re

from xlie.papers.alignxie.schema import KIND_OF_TASK, TypeDef

BASE_OF_KIND = {"entity": "Entity", "relation": "Relation", "event": "Event"}


def task_of_prompt(prompt: str) -> str:
    if "Entity Objects" in prompt:
        return "ner"
    if "Relation Objects" in prompt:
        return "re"
    return "eae" if "\tdef __init__(self, trigger: str):" in prompt else "ed"


def split_examples(text: str, task: str) -> tuple:
    """Undo the renderer's joining of a docstring's examples (any split that re-joins to the same text will do)."""
    if task in ("ed", "eae"):
        return tuple(text.removesuffix(", ").split(", ")) if text else ()
    if task == "re":
        return tuple(tuple(pair.split(", ", 1)) for pair in text[1:-1].split("), (")) if text else ()
    return tuple(text.split(", ")) if text else ()


def class_blocks(prompt: str) -> list[tuple[str, TypeDef]]:
    """(the class's source block, its TypeDef) for every non-base class a prompt defines."""
    task = task_of_prompt(prompt)
    kind = KIND_OF_TASK[task]
    blocks = []
    for block in prompt.split('"""\nThis is an object-oriented')[0].split("\n\n"):
        head = re.match(r"class (\w+)\((\w+)\):", block)
        if head is None:
            continue  # a base class
        name, parent = head.groups()
        description = re.search(r"\tDescription: (.*)\n", block).group(1)
        examples = re.search(r"Examples: (.*)\n", block)
        fields = {}
        if task == "ed":
            fields["roles"] = tuple(json.loads(re.search(r"arg_names = (\[.*\])", block).group(1)))
        if task == "eae":
            fields["roles"] = tuple(re.findall(r"\t\t(\w+): List\[ Entity \]", block))
        if task == "re":
            h, t = re.search(r"head_entity: ([\w |]+), tail_entity: ([\w |]+)\)", block).groups()
            fields.update(head_types=tuple(h.split(" | ")), tail_types=tuple(t.split(" | ")))
        typedef = TypeDef(
            kind=kind,
            name=name,
            description=description,
            examples=split_examples(examples.group(1) if examples else "", task),
            parent="" if parent == BASE_OF_KIND[kind] else parent,
            **fields,
        )
        blocks.append((block, typedef))
    return blocks
