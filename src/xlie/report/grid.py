"""One table's grid: per-cell seed statistics laid out as rows (ours, the paper's, ours minus the
paper's, reference rows) and columns (the table's columns, then its averages).

The engine takes per-cell seed statistics (``cell_summary``), the table's layout, the paper's own
numbers (``Reported``), reference rows and per-cell flags, and builds one ``Grid`` that both
renderers draw (``xlie.report.render``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from xlie.report import arrange, notes
from xlie.report.model import (
    CORNER,
    DEFAULT_VARIANT,
    MARK_COPIED,
    MARK_PRINTED_AVG,
    MISSING,
    PLUS_MINUS,
    WITH_SOURCE,
    Cell,
    Grid,
    Layout,
    Row,
    RowKey,
    average_header,
    average_key,
    column_header,
    column_key,
    column_keys,
    column_order,
    group_members,
    is_source_column,
    ordered_variants,
    row_key,
    row_keys,
    row_label,
    signed,
    variant_label,
    with_variant,
)
from xlie.report.reported import Reported, is_copied

CELL = ["method", "variant", "model", "source", "target"]


# ---------------------------------------------------------------------------------------------
# Cell statistics


def _primary_rows(metrics: pd.DataFrame, paper: str, table: str) -> pd.DataFrame:
    sel = metrics[(metrics["paper"] == paper) & (metrics["table"] == table) & metrics["primary"].astype(bool)]
    if sel.empty:
        raise ValueError(f"no primary metric rows for paper={paper!r} table={table!r}")
    sel = with_variant(sel)
    # Two primary rows for one cell and seed (another metric) would be silently averaged.
    keys = [*CELL, "seed"]
    dup = sel.duplicated(keys, keep=False)
    if dup.any():
        raise ValueError(
            f"{paper}/{table}: several primary rows per ({', '.join(keys)}):\n"
            + sel.loc[dup, keys + ["metric"]].to_string()
        )
    return sel


def cell_summary(metrics: pd.DataFrame, paper: str, table: str) -> pd.DataFrame:
    """Per (method, variant, model, source, target) seed statistics of the primary metric, x100.

    Columns: method, variant, model, source, target, mean, std (sample, ddof=1; NaN for one seed), n,
    ``baseline`` (the task's floor baseline, x100) when the metrics carry it and ``dev_score``
    (the mean source-dev score of model selection, as stored) when they carry it. Rows are in
    first-appearance order."""
    sel = _primary_rows(metrics, paper, table)
    scaled = sel.assign(value=sel["value"].astype(float) * 100)
    aggs = {"mean": ("value", "mean"), "std": ("value", lambda v: v.std(ddof=1)), "n": ("value", "count")}
    if "floor_baseline" in scaled:
        scaled["baseline"] = scaled["floor_baseline"].astype(float) * 100
        aggs["baseline"] = ("baseline", "mean")
    if "dev_score" in scaled:
        scaled["dev_score"] = scaled["dev_score"].astype(float)
        aggs["dev_score"] = ("dev_score", "mean")
    return scaled.groupby(CELL, sort=False).agg(**aggs).reset_index()


def _fmt(mean: float, std: float = math.nan, n: int = 1) -> str:
    if pd.isna(mean):
        return MISSING
    if n >= 2 and not pd.isna(std):
        return f"{mean:.1f}{PLUS_MINUS}{std:.1f}"
    return f"{mean:.1f}"


def _avg(values) -> float:
    # Any missing column makes the average undefined rather than silently partial.
    values = pd.Series(values, dtype=float)
    return math.nan if values.empty or values.isna().any() else float(values.mean())


# ---------------------------------------------------------------------------------------------
# Columns and their averages


@dataclass
class _Columns:
    layout: Layout
    keys: list[str]  # the data columns in display order
    avg_over: list[str]  # what Avg averages
    groups: dict[str, list[str]]  # group -> the columns its average covers

    @classmethod
    def of(cls, summ: pd.DataFrame, layout: Layout, groups: dict[str, str] | None) -> _Columns:
        keys = column_order(layout, summ["col"])
        sources = set(summ["source"].astype(str))
        avg_over = [c for c in keys if not (layout.exclude_source and is_source_column(layout, c, sources))] or keys
        group_cols: dict[str, list[str]] = {}
        if layout.groups:  # explicit groups, over the columns named (the source too, if named)
            group_cols = group_members(layout, keys)
        else:
            for col, name in (groups or {}).items():
                if col in avg_over:
                    group_cols.setdefault(name, []).append(col)
        if layout.average_with_source and avg_over != keys:
            group_cols = {WITH_SOURCE: list(keys), **group_cols}
        return cls(layout, keys, avg_over, group_cols)

    @property
    def has_avg(self) -> bool:
        # A table of a single column has no Avg column (it would repeat the column).
        return len(self.keys) > 1 or bool(self.groups)

    @property
    def avg_keys(self) -> list[str]:
        return [average_key()] + [average_key(name) for name in self.groups] if self.has_avg else []

    @property
    def avg_headers(self) -> list[str]:
        if not self.has_avg:
            return []
        return [average_header(self.layout)] + [average_header(self.layout, name) for name in self.groups]

    @property
    def avg_members(self) -> list[list[str]]:
        return [self.avg_over, *self.groups.values()][: len(self.avg_keys)]

    def averages(self, values: dict[str, float]) -> list[float]:
        return [_avg([values.get(c, math.nan) for c in members]) for members in self.avg_members]

    def headers(self) -> list[str]:
        return [column_header(self.layout, c) for c in self.keys] + self.avg_headers


# ---------------------------------------------------------------------------------------------
# The grid


def build_grid(
    summary: pd.DataFrame,
    *,
    layout: Layout = Layout(),
    groups: dict[str, str] | None = None,
    reference: pd.DataFrame | None = None,
    reported: Reported | None = None,
    flags: pd.DataFrame | None = None,
    display: dict | None = None,
    model_order: list[str] | None = None,
    method_order: list[str] | None = None,
    variant_order: dict[str, list[str]] | None = None,
    unranked: set[str] | frozenset[str] = frozenset(),
    relative_improvement: list[dict] | None = None,
    row_groups: dict[str, list[str]] | None = None,
    delta_column: dict | None = None,
) -> Grid:
    """Lay out one table.

    ``summary``: cell_summary rows. ``groups``: column key -> group name (group averages; the
    layout's explicit ``groups`` replace them).
    ``reference``: secondary reference rows (row, [source,] target, value[, source_note]) shown italic.
    ``reported``: the paper's numbers, shown italic with ``Δ`` rows (ours - paper).
    ``flags``: (method, [variant,] model, source, target, marks) marks per cell.
    ``variant_order``: method -> its variants in row order. ``unranked``: row keys never bold
    (a test-set-selected row is the best by construction, not by merit).
    ``relative_improvement``: notes of rows' relative gains over a reported row (see
    notes.relative_improvement_note). ``row_groups``: group name -> variants, each group's rows
    gathered under a heading (``arrange.group_rows``). ``delta_column``: a column of each row minus
    one row (``arrange.add_delta_column``).
    A table of a single column has no Avg column (it would repeat the column). In a table of one
    model, a variant's row reads its variant name alone ("Prompt_7", as the paper prints it).
    """
    summ = with_variant(summary)
    summ["col"] = column_keys(layout, summ)
    summ["rowkey"] = row_keys(summ)
    columns = _Columns.of(summ, layout, groups)
    cols = columns.keys

    # Rows grouped by model (a rule between models), methods in config order within a model,
    # a method's variants in config order, rows selected from them last.
    models = list(dict.fromkeys([*(model_order or []), *summ["model"]]))
    methods = list(dict.fromkeys([*(method_order or []), *summ["method"]]))
    present = set(summ["rowkey"])
    ordered = [
        rk
        for mo in models
        for me in methods
        for va in ordered_variants(me, summ.loc[summ["method"] == me, "variant"], variant_order)
        if (rk := RowKey(me, mo, va)).key in present
    ]
    stat = summ.set_index(["rowkey", "col"])
    marks = _cell_marks(flags, layout)
    our_means = {
        rk.key: {c: float(stat.at[(rk.key, c), "mean"]) if (rk.key, c) in stat.index else math.nan for c in cols}
        for rk in ordered
    }
    our_avgs = {k: columns.averages(v) for k, v in our_means.items()}
    best = _best_per_column(ordered, unranked, marks, cols, our_means, our_avgs, len(columns.avg_keys))
    one_model = len({rk.model for rk in ordered}) == 1

    def label(rk: RowKey) -> str:
        if one_model and rk.variant != DEFAULT_VARIANT:
            return variant_label(display, rk.method, rk.variant)
        return row_label(display, rk.method, rk.model, rk.variant)

    def our_cell(rk: RowKey, j: int, value: float, text: str, mark: str = "") -> Cell:
        bold = rk.key not in unranked and not mark and j in best and not pd.isna(value) and round(value, 1) == best[j]
        return Cell(text, bold=bold, marks=mark)

    sections: list[list[Row]] = []
    for model in models:
        section = []
        for rk in (r for r in ordered if r.model == model):
            cells = []
            for j, c in enumerate(cols):
                if (rk.key, c) in stat.index:
                    s = stat.loc[(rk.key, c)]
                    mark = marks.get((rk.key, c), "")
                    cells.append(our_cell(rk, j, s["mean"], _fmt(s["mean"], s["std"], int(s["n"])), mark))
                else:
                    cells.append(Cell(MISSING))
            cells += [our_cell(rk, len(cols) + k, v, _fmt(v)) for k, v in enumerate(our_avgs[rk.key])]
            section.append(Row(Cell(label(rk)), cells, kind="ours", key=rk.key))
        if section:
            sections.append(section)
    # One row per model and several models: one section, not a rule under every row.
    if all(len(s) == 1 for s in sections):
        sections = [[s[0] for s in sections]]
    grid_notes: list[str] = []
    paper_rows: dict[str, tuple[str, dict[str, float]]] = {}
    if reported is not None and not reported.values.empty:
        rep_sections, paper_rows = _reported_sections(
            reported, columns, ordered, our_means, our_avgs, label, grid_notes
        )
        sections += rep_sections
    if reference is not None and not reference.empty:
        sections.append(_reference_section(reference, columns))
    if relative_improvement:
        # A row with flagged cells carries their marks into the note: its gain measures nothing either.
        ours_shown = {}
        for rk in ordered:
            row_marks = "".join(sorted({m for c in cols for m in marks.get((rk.key, c), "")}))
            values = {**our_means[rk.key], **dict(zip(columns.avg_keys, our_avgs[rk.key]))}
            ours_shown[rk.key] = (f"ours {label(rk)}{row_marks}", values)
        shown_headers = dict(zip(cols + columns.avg_keys, columns.headers()))
        grid_notes += [
            notes.relative_improvement_note(spec, ours_shown, paper_rows, shown_headers)
            for spec in relative_improvement
        ]
    grid = _ordered_averages(Grid(CORNER, columns.headers(), sections, grid_notes), columns)
    if delta_column:
        shown_headers = dict(zip(cols + columns.avg_keys, columns.headers()))
        ours_values = {k: {**v, **dict(zip(columns.avg_keys, our_avgs[k]))} for k, v in our_means.items()}
        paper_values = {name: values for name, (_, values) in paper_rows.items()}
        compare = reported.compare if reported is not None else {}
        arrange.add_delta_column(grid, delta_column, shown_headers, ours_values, paper_values, compare, label)
    if row_groups:
        arrange.group_rows(grid, row_groups, reported.compare if reported is not None else {})
    return grid


def _cell_marks(flags: pd.DataFrame | None, layout: Layout) -> dict[tuple[str, str], str]:
    """(row key, column key) -> the marks of a flagged cell."""
    if flags is None or flags.empty:
        return {}
    return {
        (row_key(f.method, f.variant, f.model), column_key(layout, f.source, f.target)): f.marks
        for f in with_variant(flags).itertuples(index=False)
        if f.marks
    }


def _best_per_column(ordered, unranked, marks, cols, our_means, our_avgs, n_avgs) -> dict[int, float]:
    """Best per column (higher is better) among our rows, when there is a choice. Flagged cells
    (fallbacks, no better than the floor baseline) measure nothing: never "best"; a row with a
    flagged cell is left out of the best average too."""
    ranked = [rk for rk in ordered if rk.key not in unranked]
    if len(ranked) < 2:
        return {}
    table_values = []
    for rk in ranked:
        flagged = [bool(marks.get((rk.key, c))) for c in cols]
        cells = [math.nan if f else v for f, v in zip(flagged, our_means[rk.key].values())]
        table_values.append(cells + ([math.nan] * n_avgs if any(flagged) else our_avgs[rk.key]))
    best = {}
    for j in range(len(cols) + n_avgs):
        column = [row[j] for row in table_values if not pd.isna(row[j])]
        if column:
            best[j] = max(round(v, 1) for v in column)
    return best


def _reported_sections(reported: Reported, columns: _Columns, ordered, our_means, our_avgs, label, grid_notes):
    """The paper's rows (italic; a printed average marked where its own cells average otherwise) and
    the Δ rows (ours minus the paper). Returns (sections, reported row -> (label, values shown))."""
    rep, cols = reported.values, columns.keys
    section = []
    rep_means: dict[str, dict[str, float]] = {}
    rep_avgs: dict[str, list[float]] = {}  # per average column: printed, else the row's mean
    # Per average column, what a Δ row subtracts: an average over the columns ours averages.
    delta_bases: dict[str, list[float]] = {}
    recomputed: dict[str, set[int]] = {}  # per row, the averages whose Δ base is the mean of its cells
    printed_avgs: dict[str, set[str]] = {}  # the average keys the paper prints, per row
    mismatches = []
    for name in dict.fromkeys(rep["row"]):
        vals = rep[rep["row"] == name].set_index("column")["value"]
        printed_avgs[name] = set(columns.avg_keys) & set(vals.index)
        rep_means[name] = {c: float(vals[c]) if c in vals.index else math.nan for c in cols}
        cells = [Cell(_fmt(v), italic=True) for v in rep_means[name].values()]
        rep_avgs[name], delta_bases[name], recomputed[name] = [], [], set()
        averaged = zip(columns.avg_keys, columns.avg_headers, columns.averages(rep_means[name]))
        for k, (key, header, mean_value) in enumerate(averaged):
            # Printed: shown as printed, marked where the paper's own cells average otherwise.
            shown = float(vals[key]) if key in vals.index else mean_value
            cells.append(Cell(_fmt(shown), italic=True))
            rep_avgs[name].append(shown)
            # A Δ of an average compares the same columns on both sides: against the printed
            # average unless the paper's own cells show that it averages other columns (then
            # against the mean of its cells in ours); with some cells unknown, the printed one.
            delta_bases[name].append(shown)
            if key in vals.index and not pd.isna(mean_value) and round(mean_value, 1) != round(shown, 1):
                delta_bases[name][-1] = mean_value
                recomputed[name].add(k)
                cells[-1].marks = MARK_PRINTED_AVG
                members = columns.avg_members[k]
                of = "row" if k == 0 else ", ".join(column_header(columns.layout, c) for c in members) + " cells"
                mismatches.append(notes.printed_average_note(header, shown, name, of, mean_value))
        copied = is_copied(rep.loc[rep["row"] == name, "source"].iloc[0])
        header_cell = Cell(name, italic=True, marks=MARK_COPIED if copied else "")
        section.append(Row(header_cell, cells, kind="paper", key=name))
    grid_notes += [notes.reported_note(rep), *mismatches]
    diffs = []
    compared: dict[str, None] = {}  # headers of the averages the Δ rows compare, in order
    against_cells: list[tuple[str, str]] = []  # (average header, paper row): Δ against its cells' mean
    for ours in (rk.key for rk in ordered if reported.paper_data):  # in our row order
        theirs = reported.compare.get(ours)
        if theirs not in rep_means:
            continue
        cells = [Cell(signed(our_means[ours][c] - rep_means[theirs][c])) for c in cols]
        # Avg: against the paper's printed one (else its row mean); a group average only where
        # the paper prints it (blank otherwise).
        for k, (key, our, base) in enumerate(zip(columns.avg_keys, our_avgs[ours], delta_bases[theirs])):
            if k > 0 and key not in printed_avgs[theirs]:
                cells.append(Cell(""))
                continue
            cells.append(Cell(signed(our - base)))
            compared.setdefault(columns.avg_headers[k])
            if k in recomputed[theirs]:
                against_cells.append((columns.avg_headers[k], theirs))
        diffs.append(Row(Cell(f"\u0394 {label(RowKey.parse(ours))} \u2212 {theirs}"), cells, kind="delta", key=ours))
    if diffs:
        grid_notes.append(notes.delta_note(list(compared), against_cells))
    if not reported.paper_data:
        grid_notes.append(notes.ORIENTATION_NOTE)
    paper_rows = {
        name: (f"{name} (reported)", {**rep_means[name], **dict(zip(columns.avg_keys, rep_avgs[name]))})
        for name in rep_means
    }
    return [section] + ([diffs] if diffs else []), paper_rows


def _reference_section(reference: pd.DataFrame, columns: _Columns) -> list[Row]:
    """Secondary reference rows, italic. Rows that name their source map onto pair (or renamed)
    columns; others by target."""
    cols = columns.keys
    col = column_keys(columns.layout, reference) if "source" in reference else reference["target"].astype(str)
    ref = reference.assign(col=col)
    ref = ref[ref["col"].isin(cols)]
    if ref.duplicated(["row", "col"]).any():
        raise ValueError("duplicate (row, target) in reference values")
    section = []
    for name in dict.fromkeys(reference["row"]):
        vals = ref[ref["row"] == name].set_index("col")["value"].astype(float)
        values = {c: float(vals[c]) if c in vals.index else math.nan for c in cols}
        cells = [Cell(_fmt(v), italic=True) for v in [*values.values(), *columns.averages(values)]]
        section.append(Row(Cell(str(name), italic=True), cells))
    return section


def _ordered_averages(grid: Grid, columns: _Columns) -> Grid:
    """Average keys listed in layout.order set the order of the average columns (e.g. Avg unseen
    before Avg all); they stay after the data columns."""
    n, avg_keys = len(columns.keys), columns.avg_keys
    rank = {key: i for i, key in enumerate(columns.layout.order)}
    order = sorted(range(len(avg_keys)), key=lambda k: (rank.get(avg_keys[k], len(rank)), k))
    if order != list(range(len(avg_keys))):
        grid.headers = grid.headers[:n] + [grid.headers[n + k] for k in order]
        for row in grid.rows():
            row.cells = row.cells[:n] + [row.cells[n + k] for k in order]
    grid.avg_start = n if avg_keys else None
    return grid
