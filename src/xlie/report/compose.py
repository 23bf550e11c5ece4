"""One table from its config to what a reader sees: the one place that decides a table's rows
(ours, selected variants, the paper's, reference rows) and its caption's notes, in order.

A table's jobs read nothing but their options (:func:`table_options`, the jobs' Snakemake params):
editing any of them reruns that table's jobs alone. Papers add rows (registry hook
``reference_rows``) and plots (hook ``table_plots``) without this module naming them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from xlie.pipeline.registry import hooks, resolve, task_type
from xlie.report import notes
from xlie.report.comparison import paired_grid, verdict_frame, verdict_grid, verdict_settings
from xlie.report.flags import cell_flags
from xlie.report.grid import build_grid, cell_summary
from xlie.report.model import Grid, Layout, select_pairs, with_variant
from xlie.report.render import caption_with_notes
from xlie.report.reported import Reported, read_reported
from xlie.report.selection import select_variants
from xlie.report.verdict import verdict_summary

# Plot names the workflow makes itself (results/plots/<paper>_<table>_<suffix>.png): a paper's own
# plots take other suffixes.
RESERVED_SUFFIXES = ("heatmap",)


def table_options(config: dict, paper: str, table: str, *, references: bool = True) -> dict:
    """Every config value a table's jobs read: its config, display names, reporting settings, the
    demo flag and (with ``references``) the reference rows papers add to it (hook
    ``reference_rows``: each a ``function`` and the ``options`` it reads)."""
    table_cfg = config["papers"][paper]["tables"][table]
    options = {
        "table": table_cfg,
        "display": config.get("display", {}),
        "reporting": config.get("reporting", {}),
        "demo": config["demo"],
    }
    if references:
        added = [reference for hook in hooks("reference_rows") for reference in hook(config, paper, table_cfg)]
        options.update({"references": added} if added else {})
    return options


def paper_options(config: dict) -> dict:
    """Every config value a paper's diagnostics job reads."""
    return {"display": config.get("display", {}), "reporting": config.get("reporting", {}), "demo": config["demo"]}


def extra_plots(config: dict, tables) -> dict[tuple[str, str, str], dict]:
    """(paper, table, suffix) -> the plot a paper's hook ``table_plots`` asks for that table:
    ``{"suffix", "function": "module:attr", "caption"}``; ``tables``: (paper, table) pairs."""
    plots = {}
    for paper, table in tables:
        for hook in hooks("table_plots"):
            for plot in hook(paper, config["papers"][paper]["tables"][table]):
                if plot["suffix"] in RESERVED_SUFFIXES or (paper, table, plot["suffix"]) in plots:
                    raise ValueError(f"{paper}/{table}: a second plot with suffix {plot['suffix']!r} ({hook})")
                plots[(paper, table, plot["suffix"])] = dict(plot)
    return plots


# ---------------------------------------------------------------------------------------------
# Rows


def table_rows(options: dict, metrics_csv: str) -> tuple[pd.DataFrame, list[str], set[str]]:
    """A table's metrics as its rows show them: only the (source, target) pairs it shows (``pairs``),
    with the rows selected from a method's variants (``variant_selection``). Returns (frame, caption
    notes of the selection, row keys never bold)."""
    table_cfg = options["table"]
    frame = select_pairs(with_variant(pd.read_csv(metrics_csv)), table_cfg.get("pairs", "all"))
    selection = table_cfg.get("variant_selection")
    if not selection:
        return frame, [], set()
    return select_variants(
        frame,
        selection,
        layout=Layout.from_config(table_cfg.get("layout")),
        display=options.get("display", {}),
        variant_order=table_cfg.get("variants", {}).get(selection["method"], []),
    )


def family_groups(frame: pd.DataFrame) -> dict[str, str]:
    """Target language -> its family group (the group averages of a table of target languages)."""
    from xlie.pipeline.languages import LANGUAGES, family_group

    return {t: family_group(t) for t in frame["target"].astype(str).unique() if t in LANGUAGES}


def baseline_description(tasks: set[str]) -> tuple[str, str]:
    """(row name, what it predicts) of the tasks' floor baseline, as their task type states it."""
    described = {(task_type(t).baseline_name, task_type(t).baseline_how) for t in tasks}
    if len(described) == 1:
        return described.pop()
    return "Baseline", "per task: " + "; ".join(how for _, how in sorted(described))


def baseline_reference(frame: pd.DataFrame) -> pd.DataFrame:
    """The task's floor baseline per target (e.g. the majority label, as its task type names it) as a reference row."""
    primary = frame[frame["primary"].astype(bool)]
    # Per (source, target): the floor is computed from the training (source) language's data.
    per_cell = primary.groupby(["source", "target"], sort=False)["floor_baseline"].mean() * 100
    name, how = baseline_description(set(primary["task"]))
    return pd.DataFrame(
        {
            "row": name,
            "source": per_cell.index.get_level_values(0),
            "target": per_cell.index.get_level_values(1),
            "value": per_cell.values,
            "source_note": f"the {name[0].lower() + name[1:]} baseline ({how})",
        }
    )


def secondary_rows(options: dict, frame: pd.DataFrame) -> tuple[pd.DataFrame | None, list[str]]:
    """The italic rows under ours: the task's floor baseline, then the reference rows papers add to
    this table (``options["references"]``). Returns (rows or None, their caption sentences)."""
    parts = [baseline_reference(frame)] if frame["floor_baseline"].notna().any() else []
    sentences = []
    for reference in options.get("references", []):
        rows, sentence = resolve(reference["function"])(reference["options"], frame)
        parts += [rows] if rows is not None else []
        sentences += [sentence] if sentence else []
    return (pd.concat(parts, ignore_index=True) if parts else None), sentences


def metrics_shown(frame: pd.DataFrame) -> dict[str, list[tuple[str, str, str]]]:
    """Metric shown -> the (method, variant, model) rows showing it (one metric, unless the table
    shows each row in its authors' metric: ``metric: authors``)."""
    shown = with_variant(frame[frame["primary"].astype(bool)])
    rows = shown.drop_duplicates(["metric", "method", "variant", "model"])
    by_metric: dict[str, list[tuple[str, str, str]]] = {}
    for metric, method, variant, model in zip(rows["metric"], rows["method"], rows["variant"], rows["model"]):
        by_metric.setdefault(str(metric), []).append((str(method), str(variant), str(model)))
    return by_metric


def metric_label(options: dict, frame: pd.DataFrame) -> str:
    """A plot's axis label of the metric (rows in different metrics: the caption says which)."""
    shown = list(metrics_shown(frame))
    if len(shown) > 1:
        return "each row's authors' metric (%)"
    return f"{notes.metric_name(options.get('display', {}), shown[0], options['table']['task'])} (%)"


def short_title(options: dict, paper: str, table: str) -> str:
    """The caption's first clause (before ':' or ','), short enough for a plot title."""
    caption = options["table"].get("caption") or f"{paper} {table}"
    return caption.split(":")[0].strip()


# ---------------------------------------------------------------------------------------------
# The table and its companions


@dataclass
class Float:
    """One float to render: a grid, its full caption, its label and layout."""

    grid: Grid
    caption: str
    label: str
    layout: Layout


@dataclass
class ComposedTable:
    floats: list[Float]  # the table, then its companions (verdict, paired tests)
    verdicts: pd.DataFrame | None  # the verdict table's rows (written beside the LaTeX)


def _grid(table_cfg: dict, summary, layout, groups, flags, display, unranked, **rows) -> Grid:
    """The table's grid of our rows in its config's order, with ``rows`` (reference, reported...)."""
    return build_grid(
        summary,
        layout=layout,
        groups=groups,
        flags=flags,
        display=display,
        model_order=table_cfg["models"],
        method_order=table_cfg["methods"],
        variant_order=table_cfg.get("variants"),
        unranked=unranked,
        row_groups=table_cfg.get("row_groups"),
        delta_column=table_cfg.get("delta_column"),
        **rows,
    )


def _notes(options, frame, summary, layout, groups, grid, flags, selection_notes=()) -> list[str]:
    """A float's caption notes, in order: metric, seeds, averages, bold, selection, grid, flags."""
    display, reporting, task = options.get("display", {}), options.get("reporting", {}), options["table"]["task"]
    data_and_averages = len(grid.headers) - (1 if options["table"].get("delta_column") else 0)
    average = [notes.average_note(layout, summary, groups)] if data_and_averages > 1 else []  # one column: no Avg
    return [
        notes.metric_note(display, metrics_shown(frame), task),
        notes.seeds_note(summary, display),
        *average,
        notes.BOLD_NOTE,
        *selection_notes,
        *grid.notes,
        *notes.flag_notes(flags, reporting, baseline_description(set(frame["task"]))[0]),
    ]


def companion_float(
    options: dict, frame: pd.DataFrame, paper: str, table: str, caption: str, groups: dict, unranked: set[str]
) -> Float:
    """The table's rows again in ``companion_metric`` (one metric for every row, e.g. seqeval where the
    table shows each row in its authors' metric): ours and the floor baseline only, no paper rows,
    no Δ, no verdict, so that a reader compares the methods on one definition."""
    table_cfg, display, reporting = options["table"], options.get("display", {}), options.get("reporting", {})
    metric = table_cfg["companion_metric"]
    if metric not in set(frame["metric"]):
        raise ValueError(f"{paper}/{table}: companion_metric {metric!r} is not in the cells' metrics.json")
    frame = frame.assign(primary=frame["metric"] == metric)
    layout = Layout.from_config(table_cfg.get("layout"))
    summary = cell_summary(frame, paper, table)
    flags = cell_flags(frame, reporting)
    baseline = baseline_reference(frame) if frame["floor_baseline"].notna().any() else None
    grid = _grid(table_cfg, summary, layout, groups, flags, display, unranked, reference=baseline)
    caption_notes = _notes(options, frame, summary, layout, groups, grid, flags)
    caption_notes += [notes.reference_note(baseline)] if baseline is not None else []
    sentence = f"The same cells in one metric for every row ({notes.metric_name(display, metric, table_cfg['task'])})"
    return Float(
        grid,
        caption_with_notes(f"{caption} {sentence}: no paper numbers, no verdict.", caption_notes, False),
        f"tab:{paper}-{table}-{metric}",
        layout,
    )


def compose_table(options: dict, metrics_csv: str, *, paper: str, table: str) -> ComposedTable:
    """One table (and its verdict and paired-test companions): rows, grid and captions."""
    table_cfg, display, reporting = options["table"], options.get("display", {}), options.get("reporting", {})
    frame, selection_notes, unranked = table_rows(options, metrics_csv)
    layout = Layout.from_config(table_cfg.get("layout"))
    summary = cell_summary(frame, paper, table)
    # Explicit layout groups replace the language families.
    by_family = layout.columns == "target" and layout.group_averages and not layout.groups
    groups = family_groups(frame) if by_family else {}
    flags = cell_flags(frame, reporting)
    reference, reference_sentences = secondary_rows(options, frame)
    reported = None
    if table_cfg.get("reported"):
        values = read_reported(table_cfg["reported"]["file"], paper, table)
        reported = Reported(
            values,
            dict(table_cfg["reported"].get("compare", {})),
            paper_data=table_cfg["reported"].get("paper_data", True),
        )
    grid = _grid(
        table_cfg,
        summary,
        layout,
        groups,
        flags,
        display,
        unranked,
        reference=reference,
        reported=reported,
        relative_improvement=table_cfg.get("relative_improvement"),
    )
    caption = " ".join(filter(None, [table_cfg.get("caption") or f"{paper} {table}", table_cfg.get("caption_note")]))
    caption_notes = _notes(options, frame, summary, layout, groups, grid, flags, selection_notes)
    if reference is not None:
        caption_notes.append(notes.reference_note(reference))
    caption_notes += reference_sentences

    settings = verdict_settings(reporting)
    companions, verdicts = [], None
    # No verdict where our cells are not on the paper's data (its rows are then for orientation).
    if reported is not None and reported.compare and reported.paper_data:
        verdicts = verdict_frame(frame, reported, layout, settings, display)
        outcome = verdict_summary(verdicts)
        caption_notes.append(notes.verdict_note(outcome, settings))
        label = f"tab:{paper}-{table}-verdict"
        companions.append(
            Float(
                verdict_grid(verdicts, layout, settings.confidence),
                notes.verdict_caption(caption, outcome, settings),
                label,
                Layout(),
            )
        )
    if table_cfg.get("paired_tests"):
        # Two rows are compared on one metric: the companion's when the rows differ in theirs.
        same = (
            frame.assign(primary=frame["metric"] == table_cfg["companion_metric"])
            if table_cfg.get("companion_metric")
            else frame
        )
        paired = paired_grid(same, table_cfg["paired_tests"], layout, settings, display)
        if paired is not None:
            companions.append(
                Float(
                    paired,
                    notes.paired_caption(
                        caption,
                        settings,
                        " / ".join(notes.metric_name(display, m, table_cfg["task"]) for m in metrics_shown(same)),
                    ),
                    f"tab:{paper}-{table}-paired",
                    layout,
                )
            )
    if table_cfg.get("companion_metric"):
        companions.append(companion_float(options, frame, paper, table, caption, groups, unranked))
    demo = options["demo"]
    main = Float(grid, caption_with_notes(caption, caption_notes, demo), f"tab:{paper}-{table}", layout)
    for companion in companions:
        companion.caption = caption_with_notes(companion.caption, [], demo)
    return ComposedTable([main, *companions], verdicts)
