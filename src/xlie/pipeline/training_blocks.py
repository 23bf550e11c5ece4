"""A paper's ``training:`` blocks, typed by its methods' ``Params`` fields when the config is resolved.

``papers.<paper>.training.<block>`` names a method implementation (the ``params_key`` of a
registered method) and sets fields of its ``Params`` dataclass, besides the workflow's own
``max_train_sentences`` and ``by_task`` ({task: overrides}). Each value is read as its field's
annotated type here, once, before any job's params are built: ``--config`` hands nested values
over as strings (``learning_rate: 0.002`` arrives as ``'0.002'``) and PyYAML reads ``2e-3`` as a
string, while a job's params must not depend on how a value was spelt. Errors name the config key.
"""

from __future__ import annotations

from xlie.pipeline.config import ConfigError, did_you_mean
from xlie.pipeline.params import read_as

# A training block's keys that the workflow handles itself (the rest goes to the method).
WORKFLOW_FIELDS = {"max_train_sentences": "int | None"}


def _typed_entries(entries: dict, fields: dict[str, str], key: str, block: str) -> dict:
    """A block's (or one ``by_task`` entry's) values read as their fields' types."""
    typed = {}
    for name, value in entries.items():
        annotation = WORKFLOW_FIELDS.get(name) or fields.get(name)
        if annotation is None:
            hint = did_you_mean(name, fields)
            raise ConfigError(
                f"config key {key}.{name}: not a parameter of {block}{hint}; known: {', '.join(sorted(fields))}"
            )
        try:
            typed[name] = read_as(annotation, value)
        except ValueError as error:
            raise ConfigError(f"config key {key}.{name}: {error}") from None
    return typed


def _typed_by_task(by_task, fields: dict[str, str], key: str, block: str, tasks: list[str]) -> dict:
    if not isinstance(by_task, dict) or not all(isinstance(v, dict) for v in by_task.values()):
        raise ConfigError(f"config key {key}: expected task -> {{parameter: value}}, got {by_task!r}")
    for task in by_task:
        if task not in tasks:
            raise ConfigError(f"config key {key}.{task}: unknown task; known: {', '.join(tasks)}")
    return {task: _typed_entries(values, fields, f"{key}.{task}", block) for task, values in by_task.items()}


def type_training_blocks(config: dict) -> None:
    """Every ``papers.<paper>.training.<block>`` (changed in place) with its values read as the types of
    its method's Params fields; unknown blocks, fields and tasks fail naming the key."""
    from xlie.pipeline.registry import all_methods, known_tasks, load_papers, param_fields

    load_papers(config)
    specs = {spec.params_key: spec for spec in all_methods().values()}
    for paper, paper_cfg in (config.get("papers") or {}).items():
        training = paper_cfg.get("training") or {}
        for block, values in training.items():
            key = f"papers.{paper}.training.{block}"
            if block not in specs:
                hint = did_you_mean(block, specs)
                raise ConfigError(
                    f"config key {key}: no method implementation {block!r}{hint}; known: {', '.join(sorted(specs))}"
                )
            fields = param_fields(specs[block])
            plain = {name: value for name, value in values.items() if name != "by_task"}
            typed = _typed_entries(plain, fields, key, block)
            if "by_task" in values:
                typed["by_task"] = _typed_by_task(values["by_task"], fields, f"{key}.by_task", block, known_tasks())
            training[block] = {name: typed[name] for name in values}  # in the config's order
