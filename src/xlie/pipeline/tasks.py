"""Task types: what a config ``task`` (e.g. a dataset of a paper) means to the pipeline.

A task type is ONE registered object that knows everything task-specific the run rules and the
scoring need, so that the grid, the rules and ``xlie.pipeline.jobs`` stay task-general:

- ``kind``: the family of methods that can run it (``tagging``, ``relation``, ...; a method
  declares the kinds it serves, ``xlie.pipeline.methods``);
- ``data_options(config)``: the config values its reader uses (a job's params, so a change reruns);
- ``input_files(config, split, langs)``: the local files a job reads (declared as rule inputs);
- ``eval_split(config)``; ``load(data, split, lang) -> (examples, identity)``;
- ``gold(examples)``, ``predicted(prediction)``, ``score(gold, predicted)`` (``primary`` and
  ``primary_name`` included), ``floor_baseline(train, gold)`` (the floor a score must beat, e.g.
  a majority label; named ``baseline_name`` and described by ``baseline_how``), ``counts(examples)``;
- ``predictions_file``: the file name of a cell's predictions beside its metrics.json
  (``predictions.tsv``, ``predictions.jsonl``), written by ``write_predictions(path, examples,
  predicted)`` and read back by ``read_predictions(path)``;
- ``floor_predictions(train, examples)`` (optional): the floor baseline's predictions, for metrics
  computed by a registered function (``xlie.pipeline.registry.register_metric``) rather than ``score``;
- ``example_scorer(metric)`` (per-example statistics for the bootstrap of the verdict tables);
- ``method_kwargs(data)``: task facts a method needs besides the examples (a label list read
  from data, for instance).

A paper's task types live in its own package and are registered there
(``xlie.pipeline.registry.register_task``); nothing in the pipeline changes for a new one, and a
paper's code never imports another paper's.
"""

from __future__ import annotations

from typing import Protocol


class TaskType(Protocol):
    name: str
    kind: str
    description: str
    baseline_name: str  # the floor every score must beat, as tables name it ("Majority label")
    baseline_how: str  # what that baseline predicts
    predictions_file: str  # a cell's predictions, beside its metrics.json (e.g. "predictions.jsonl")

    def data_options(self, config: dict) -> dict: ...
    def input_files(self, config: dict, split: str, langs: list[str]) -> list[str]: ...
    def eval_split(self, config: dict) -> str: ...
    def load(self, data: dict, split: str, lang: str) -> tuple[list, dict]: ...
    def gold(self, examples: list) -> list: ...
    def predicted(self, prediction) -> list: ...
    def score(self, gold: list, predicted: list) -> dict: ...
    def floor_baseline(self, train: list, gold: list) -> dict: ...
    def counts(self, examples: list) -> dict: ...
    def write_predictions(self, path, examples: list, predicted: list) -> None: ...
    def read_predictions(self, path) -> tuple[list, list]: ...
    def example_scorer(self, metric: str): ...
    def method_kwargs(self, data: dict, split_examples: list | None = None) -> dict: ...
