"""The metric registry: every metric a table can show has one name, one caption and one implementation;
a table with ``metric: authors`` shows each row in the metric its method's authors used, and its
companion float shows every row in one metric."""

import json

import pytest

from xlie.pipeline.config import ConfigError
from xlie.pipeline.grid import _check_table
from xlie.pipeline.jobs import add_authors_metric
from xlie.pipeline.methods import Prediction
from xlie.pipeline.registry import FAMILY_KIND, all_methods, known_metrics, metric_spec, resolve, task_type
from xlie.report.collect import collect_table_metrics
from xlie.report.compose import compose_table
from xlie.report.render import render_grid_latex


def test_every_authors_metric_is_registered_for_every_task_its_method_serves():
    tasks_of_kind = {}
    for task in {m.task for m in known_metrics()}:
        tasks_of_kind.setdefault(task_type(task).kind, []).append(task)
    checked = 0
    for (method, _), spec in all_methods().items():
        if not spec.authors_metric:
            continue
        for kind in spec.task_kinds:
            for task in tasks_of_kind.get(kind, []):
                metric = metric_spec(task, spec.authors_metric)
                assert metric is not None, (method, task, spec.authors_metric)
                if metric.function:
                    resolve(metric.function)  # the implementation exists
                checked += 1
    assert checked


def test_every_registered_metric_has_a_caption_and_no_name_twice():
    names = [(m.task, m.name) for m in known_metrics()]
    assert len(names) == len(set(names))
    assert all(m.caption and m.caption[0].islower() for m in known_metrics())


def test_a_table_metric_is_checked_against_the_task_s_metrics():
    table = {"task": "panx", "targets": ["en"], "models": [], "methods": [], "metric": "f1_strcit"}
    with pytest.raises(ConfigError, match=r"papers.topro.tables.t.metric: 'f1_strcit'.*did you mean 'f1_strict'"):
        _check_table("papers.topro.tables.t", table, {}, {"data": {}})
    table = {**table, "metric": "authors", "companion_metric": "accuracy_x"}
    with pytest.raises(ConfigError, match=r"companion_metric: 'accuracy_x'"):
        _check_table("papers.topro.tables.t", table, {}, {"data": {}})


def test_authors_metric_by_function_with_its_floor(monkeypatch):
    """A method's authors' metric that the task's score lacks is computed by the registered function,
    on the real predictions (with the raw outputs) and on the floor baseline's predictions."""
    from xlie.pipeline import registry

    calls = []

    def fake(examples, predicted, outputs):
        calls.append((predicted, outputs))
        return 0.25 if outputs else 0.5

    task = task_type("panx")
    spec = registry.MetricSpec("panx", "fake_metric", "x", "m:f")
    monkeypatch.setitem(registry._METRICS, ("panx", "fake_metric"), spec)
    monkeypatch.setattr(registry, "resolve", lambda path: fake)
    scores, floor = {"f1": 0.1}, {"f1": 0.0}
    examples = [type("S", (), {"words": ["a", "b"], "tags": ["O", "B-PER"]})()]
    train = [type("S", (), {"words": ["c"], "tags": ["O"]})()]
    prediction = Prediction([["O", "O"]], outputs=["O: a $$ O: b"])
    add_authors_metric("fake_metric", task, scores, floor, examples, prediction, train)
    assert scores == {"f1": 0.1, "fake_metric": 0.25, "authors_metric": "fake_metric"}
    assert floor == {"f1": 0.0, "fake_metric": 0.5}
    assert calls == [([["O", "O"]], ["O: a $$ O: b"]), ([["O", "O"]], None)]


def _write_cell(root, run, target, scores, floor):
    cell = root / run / "eval" / target
    cell.mkdir(parents=True)
    payload = {"scores": {**scores, "primary": scores["f1"], "primary_name": "f1"}, "floor_baseline": floor}
    (cell / "metrics.json").write_text(json.dumps(payload))


def test_a_table_in_the_authors_metrics_with_its_companion(tmp_path):
    runs = tmp_path / "runs"
    cells = []
    for method, authors, value in (("vanilla", "accuracy", 0.9), ("topro", None, 0.4)):
        for target, shift in (("en", 0.05), ("de", 0.0)):
            run = f"{method}-run"
            scores = {"f1": value - 0.3 + shift, "accuracy": value + shift}
            if authors:
                scores["authors_metric"] = authors
            _write_cell(runs, run, target, scores, {"f1": 0.0, "accuracy": 0.7})
            cells.append(
                dict(
                    paper="topro",
                    table="t",
                    task="panx",
                    model="mbert",
                    method=method,
                    variant="default",
                    source="en",
                    target=target,
                    seed=1,
                    run=run,
                )
            )
    csv = tmp_path / "t.csv"
    frame = collect_table_metrics(cells, str(runs), "authors", str(csv))
    shown = frame[frame["primary"]]
    assert dict(zip(shown["method"] + "/" + shown["target"], shown["metric"])) == {
        "vanilla/en": "accuracy",
        "vanilla/de": "accuracy",
        "topro/en": "f1",
        "topro/de": "f1",
    }
    options = {
        "table": {
            "task": "panx",
            "models": ["mbert"],
            "methods": ["vanilla", "topro"],
            "targets": ["en", "de"],
            "metric": "authors",
            "companion_metric": "f1",
            "layout": {"average_with_source": True, "group_averages": False},
            "caption": "A table.",
        },
        "display": {},
        "reporting": {},
        "demo": False,
    }
    composed = compose_table(options, str(csv), paper="topro", table="t")
    main, companion = composed.floats
    assert "token accuracy (every word's tag, O included) for vanilla / mbert; entity-level F1" in main.caption
    assert main.grid.headers == ["en", "de", "Avg", "Avg incl. source"]
    values = main.grid.frame()
    assert (
        values.loc["vanilla / mbert", "Avg"] == "90.0" and values.loc["vanilla / mbert", "Avg incl. source"] == "92.5"
    )
    assert values.loc["topro / mbert", "de"] == "10.0"
    assert "mean over all columns, the source included" in main.caption
    # The companion: every row in seqeval F1, no paper rows, no verdict.
    assert companion.label == "tab:topro-t-f1" and "no paper numbers, no verdict" in companion.caption
    assert "Metric: entity-level F1 (seqeval, default conlleval-style mode" in companion.caption
    assert companion.grid.frame().loc["vanilla / mbert", "de"] == "60.0"
    assert "\\toprule" in render_grid_latex(companion.grid, caption=companion.caption, label=companion.label)


def test_families_of_registered_methods_are_known():
    assert all(family in FAMILY_KIND for spec in all_methods().values() for family in spec.families)
