"""Result tables: one layout engine for every paper, rendered to LaTeX (booktabs) and HTML.

The engine takes per-cell seed statistics (``cell_summary``), the table's layout (columns are
target languages, source->target pairs or datasets; optionally transposed), the paper's own
numbers (reported rows) and per-cell flags, and builds one ``Grid`` that both renderers draw.
Wide grids are split into blocks of columns at the largest font (10, 9 or 8 pt) that keeps the
number of blocks smallest, instead of shrinking the whole table with ``\\resizebox``.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import jinja2
import pandas as pd

DEMO_PREFIX = "DEMO (tiny random-init models on small samples; not comparable to the papers):"
MISSING = "--"
PLUS_MINUS = "\u00b1"  # kept renderer-neutral in the grid; latex_escape turns it into $\pm$
CORNER = "Method / model"
AVG = "Avg"

# Cell marks, explained in the caption when they occur.
MARK_DEGENERATE = "\u2020"  # dagger: too many fallback / unparsed / truncated predictions
MARK_AT_BASELINE = "\u2021"  # double dagger: does not beat the majority-label baseline
MARK_PRINTED_AVG = "*"  # a paper's printed average differs from the mean of its printed row
MARK_COPIED = "\u00a7"  # section sign: a reported row the paper copied from other work

# A method without variants has the variant "default": its rows read and key exactly as before
# variants existed ("<method>/<model>", "<Method> / <Model>").
DEFAULT_VARIANT = "default"
# Rows derived from a method's variants (config variant_selection), never run variants themselves.
ORACLE_VARIANT = "oracle"  # per column, the best variant on the TEST set (what Prompt-XRE printed)
DEV_VARIANT = "dev"  # per source language, the variant with the best source-dev score
SELECTION_VARIANTS = (ORACLE_VARIANT, DEV_VARIANT)
_ROW_KEY = re.compile(r"^(?P<method>[^/\[\]]+)(?:\[(?P<variant>[^/\[\]]+)\])?/(?P<model>[^/\[\]]+)$")

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    PLUS_MINUS: r"$\pm$",
    "\u2212": "$-$",
    "\u0394": r"$\Delta$",
    "\u2192": r"$\to$",
    MARK_DEGENERATE: r"\textsuperscript{\dag}",
    MARK_AT_BASELINE: r"\textsuperscript{\ddag}",
    MARK_COPIED: r"\textsuperscript{\S}",
    **{c: "\\" + c for c in "&%$#_{}"},
}
# One pass over the text, so the braces introduced by \textbackslash{} are never re-escaped.
_LATEX_RE = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIALS))
_BAD_LABEL = re.compile(r"[\\{}%#&~^$\s]")

# Font sizes of the standard 10pt classes: \normalsize, \small, \footnotesize (never below 8 pt).
FONT_COMMANDS = {10.0: r"\normalsize", 9.0: r"\small", 8.0: r"\footnotesize"}
TABCOLSEP_PT = 6.0


def latex_escape(text: str) -> str:
    """Escape the LaTeX specials ``\\ & % $ # _ { } ~ ^`` (and ``±`` -> ``$\\pm$``, marks)."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIALS[m.group(0)], str(text))


@functools.cache
def latex_environment() -> jinja2.Environment:
    """The single Jinja2 environment for LaTeX templates (built once)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("xlie", "templates"),
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        line_statement_prefix="%%",
        line_comment_prefix="%#",
        trim_blocks=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["latex_escape"] = latex_escape
    return env


@functools.cache
def html_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("xlie", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


# ---------------------------------------------------------------------------------------------
# Row keys: (method, variant, model)


def with_variant(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a string ``variant`` column right after ``method``: metrics written before
    variants existed (no column) and empty values read as ``default``."""
    variant = frame["variant"] if "variant" in frame else pd.Series(DEFAULT_VARIANT, index=frame.index)
    # A variant "1" read back from CSV is the integer 1 (or 1.0 beside NaN): a name, not a number.
    variant = variant.map(lambda v: DEFAULT_VARIANT if pd.isna(v) or v == "" else
                          str(int(v)) if isinstance(v, float) and float(v).is_integer() else str(v))  # fmt: skip
    out = frame.drop(columns=["variant"], errors="ignore")
    position = list(out.columns).index("method") + 1 if "method" in out else 0
    out.insert(position, "variant", variant.to_numpy())
    return out


def row_key(method: str, variant: str, model: str) -> str:
    """``<method>/<model>`` for the default variant, else ``<method>[<variant>]/<model>`` (the keys of
    ``reported.compare`` and ``paired_tests``)."""
    variant = str(variant)
    return f"{method}/{model}" if variant == DEFAULT_VARIANT else f"{method}[{variant}]/{model}"


def parse_row_key(key: str) -> tuple[str, str, str]:
    """(method, variant, model) of a row key (see row_key)."""
    match = _ROW_KEY.match(str(key))
    if not match:
        raise ValueError(f"row key {key!r} is not '<method>/<model>' or '<method>[<variant>]/<model>'")
    return match["method"], match["variant"] or DEFAULT_VARIANT, match["model"]


def row_keys(frame: pd.DataFrame) -> pd.Series:
    """The row key of every row of a metrics or summary frame."""
    framed = with_variant(frame)
    return pd.Series([row_key(me, va, mo) for me, va, mo in zip(framed["method"], framed["variant"], framed["model"])],
                     index=frame.index, dtype=object)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Cell statistics


def _primary_rows(metrics: pd.DataFrame, paper: str, table: str) -> pd.DataFrame:
    sel = metrics[
        (metrics["paper"] == paper) & (metrics["table"] == table) & metrics["primary"].astype(bool)
    ]
    if sel.empty:
        raise ValueError(f"no primary metric rows for paper={paper!r} table={table!r}")
    sel = with_variant(sel)
    # Two primary rows for one cell and seed (another metric) would be silently averaged.
    keys = ["method", "variant", "model", "source", "target", "seed"]
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
    ``baseline`` (the majority-label baseline, x100) when the metrics carry it and ``dev_score``
    (the mean source-dev score of model selection, as stored) when they carry it. Rows are in
    first-appearance order."""
    sel = _primary_rows(metrics, paper, table)
    scaled = sel.assign(value=sel["value"].astype(float) * 100)
    keys = ["method", "variant", "model", "source", "target"]
    aggs = {"mean": ("value", "mean"), "std": ("value", lambda v: v.std(ddof=1)), "n": ("value", "count")}
    if "majority_baseline" in scaled:
        scaled["baseline"] = scaled["majority_baseline"].astype(float) * 100
        aggs["baseline"] = ("baseline", "mean")
    if "dev_score" in scaled:
        scaled["dev_score"] = scaled["dev_score"].astype(float)
        aggs["dev_score"] = ("dev_score", "mean")
    return scaled.groupby(keys, sort=False).agg(**aggs).reset_index()


def seed_summary(metrics: pd.DataFrame, paper: str, table: str) -> pd.DataFrame:
    """Per (method, model, target) seed statistics of a single-source table (see cell_summary)."""
    summ = cell_summary(metrics, paper, table)
    if summ["source"].nunique() > 1:
        raise ValueError(f"{paper}/{table}: several source languages; use cell_summary")
    return summ[["method", "model", "target", "mean", "std", "n"]]


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
# Layout


@dataclass(frozen=True)
class Layout:
    """How a table is laid out (config: ``papers.<paper>.tables.<table>.layout``)."""

    columns: str = "target"  # target | pair | dataset
    orientation: str = "auto"  # columns: languages across; transposed: languages down; auto: what fits a page
    height_pt: float = 550.0  # the height a float may take (article's \textheight is 550 pt)
    float_env: str = "table"  # table (one column) | table* (full width)
    width_pt: float = 345.0  # the width the float must fit (article's \textwidth)
    exclude_source: bool = True  # zero-shot averages leave out the source language / monolingual pairs
    group_averages: bool = True  # Avg per language family beside Avg (target columns only)
    order: tuple[str, ...] = ()  # column keys in display order (default: first appearance)
    # (natural key, key) pairs: rename a column so it matches the reported TSV (zh -> wmt17_enzh).
    column_keys: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # (key, header text) pairs: a column's printed header
    # (name, column keys) pairs: explicit averages ("Avg <name>") replacing the language families.
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def from_config(cls, cfg: dict | None) -> Layout:
        cfg = dict(cfg or {})
        if "float" in cfg:
            cfg["float_env"] = cfg.pop("float")
        if "order" in cfg:
            cfg["order"] = tuple(cfg["order"])
        for name in ("column_keys", "headers"):  # tuples: a Layout stays hashable
            if name in cfg:
                cfg[name] = tuple((str(k), str(v)) for k, v in dict(cfg[name]).items())
        if "groups" in cfg:
            cfg["groups"] = tuple((str(k), tuple(str(c) for c in v)) for k, v in dict(cfg["groups"]).items())
        return cls(**cfg)


AVG_KEY = "avg"  # the column key of the plain average (the reported TSV's column for a printed Avg)


def average_key(group: str | None = None) -> str:
    """The column key of an average: ``avg``, or ``avg_<group>`` for a group's (the reported TSV's
    ``column`` for a printed one, and what ``headers`` and ``relative_improvement`` name)."""
    return AVG_KEY if group is None else f"{AVG_KEY}_{group.lower()}"


def average_header(layout: Layout, group: str | None = None) -> str:
    """What an average column is headed: ``layout.headers[<average key>]``, else ``Avg`` / ``Avg <group>``."""
    default = AVG if group is None else f"{AVG} {group}"
    return dict(layout.headers).get(average_key(group), default)


def group_members(layout: Layout, cols: list[str]) -> dict[str, list[str]]:
    """The explicit average groups (``layout.groups``): group -> its column keys that the table has."""
    return {name: [c for c in members if c in cols] for name, members in layout.groups}


def column_key(layout: Layout, source: str, target: str) -> str:
    natural = f"{source}-{target}" if layout.columns == "pair" else str(target)
    return dict(layout.column_keys).get(natural, natural)


def column_header(layout: Layout, key: str) -> str:
    if key in dict(layout.headers):
        return dict(layout.headers)[key]
    if layout.columns == "pair":
        return "-".join(part.capitalize() for part in key.split("-"))
    return key


def column_order(layout: Layout, keys) -> list[str]:
    """Column keys in display order: ``layout.order``, else first appearance (pairs: monolingual first)."""
    cols = list(dict.fromkeys(keys))
    if layout.order:
        unknown = [c for c in cols if c not in layout.order]
        return [c for c in layout.order if c in cols] + unknown
    if layout.columns == "pair":  # monolingual pairs first, as the papers print them
        return sorted(cols, key=lambda c: c.split("-")[0] != c.split("-")[1])
    return cols


PAIR_SETS = ("all", "monolingual", "crosslingual")


def select_pairs(frame: pd.DataFrame, pairs: str = "all") -> pd.DataFrame:
    """The rows of a metrics (or summary) frame whose (source, target) pair a table shows: ``all``,
    ``monolingual`` (source == target: Prompt-XRE's Table III) or ``crosslingual`` (Table IV)."""
    if pairs not in PAIR_SETS:
        raise ValueError(f"pairs must be one of {', '.join(PAIR_SETS)}, not {pairs!r}")
    if pairs == "all":
        return frame
    same = frame["source"].astype(str) == frame["target"].astype(str)
    out = frame[same if pairs == "monolingual" else ~same]
    if out.empty:
        raise ValueError(f"no {pairs} (source, target) pairs in the table's cells")
    return out


def _is_source_column(layout: Layout, key: str, sources: set[str]) -> bool:
    if layout.columns == "pair":
        src, _, tgt = key.partition("-")
        return src == tgt
    return layout.columns == "target" and key in sources


@dataclass
class Cell:
    text: str
    bold: bool = False
    italic: bool = False
    marks: str = ""


@dataclass
class Row:
    header: Cell
    cells: list[Cell]


@dataclass
class Grid:
    """What a reader sees: headers, sections of rows (a rule between sections), notes."""

    corner: str
    headers: list[str]
    sections: list[list[Row]]
    notes: list[str] = field(default_factory=list)
    # Index of the first average column (None: the first header starting "Avg", as before headers
    # of averages were configurable).
    avg_start: int | None = None

    def transposed(self, corner: str) -> Grid:
        rows = [r for s in self.sections for r in s]
        data_sections = [[Row(Cell(h), [r.cells[j] for r in rows])] for j, h in enumerate(self.headers)]
        avg_start = self.avg_start if self.avg_start is not None else next(
            (j for j, h in enumerate(self.headers) if h.startswith(AVG)), len(self.headers))
        sections = [[s[0] for s in data_sections[:avg_start]], [s[0] for s in data_sections[avg_start:]]]
        # Row labels become column headers, broken after "/" so that they are no wider than the numbers.
        headers = [(r.header.text + r.header.marks).replace(" / ", " /\n") for r in rows]
        return Grid(corner, headers, [s for s in sections if s], self.notes)

    def frame(self) -> pd.DataFrame:
        """The cells' text as a DataFrame (index: row headers, columns: headers)."""
        rows = [r for s in self.sections for r in s]
        frame = pd.DataFrame([[c.text for c in r.cells] for r in rows],
                             index=[r.header.text for r in rows], columns=self.headers)  # fmt: skip
        return frame


@dataclass
class Reported:
    """The paper's own numbers for one table (rows as the paper prints them)."""

    values: pd.DataFrame  # columns: row, column, value, source
    compare: dict[str, str] = field(default_factory=dict)  # our row key -> reported row name


def read_reported(path, paper: str, table: str) -> pd.DataFrame:
    """Rows of ``resources/reported/<paper>.tsv`` for one table (columns: row, column, value, source).

    Errors name the file and line."""
    path = Path(path)
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    expected = ["paper", "table", "row", "column", "value", "source"]
    if list(frame.columns) != expected:
        raise ValueError(f"{path}:1: header must be {' '.join(expected)}, found {' '.join(frame.columns)}")
    for i, value in enumerate(frame["value"], start=2):
        try:
            float(value)
        except ValueError:
            raise ValueError(f"{path}:{i}: value {value!r} is not a number") from None
    frame["column"] = frame["column"].str.strip().str.lower()
    dup = frame.duplicated(["paper", "table", "row", "column"], keep=False)
    if dup.any():
        line = int(dup.to_numpy().nonzero()[0][0]) + 2
        raise ValueError(f"{path}:{line}: duplicate (paper, table, row, column)")
    sel = frame[(frame["paper"] == paper) & (frame["table"] == table)]
    return sel.assign(value=sel["value"].astype(float))[["row", "column", "value", "source"]].reset_index(drop=True)


@dataclass(frozen=True)
class RowKey:
    method: str
    model: str
    variant: str = DEFAULT_VARIANT

    @property
    def key(self) -> str:
        return row_key(self.method, self.variant, self.model)

    @classmethod
    def parse(cls, key: str) -> RowKey:
        method, variant, model = parse_row_key(key)
        return cls(method, model, variant)


def _display(names: dict | None, kind: str, raw: str) -> str:
    return str(((names or {}).get(kind) or {}).get(raw, raw))


def variant_label(display: dict | None, method: str, variant: str) -> str:
    """What a row of a method's variant is called: ``display.variants.<method>.<variant>``, else the
    method's name with the variant (selection rows say how they select)."""
    named = (((display or {}).get("variants") or {}).get(method) or {}).get(str(variant))
    if named:
        return str(named)
    base = _display(display, "methods", method)
    if variant == ORACLE_VARIANT:
        return f"{base} (oracle)"
    if variant == DEV_VARIANT:
        return f"{base} (dev-selected)"
    return f"{base} {variant}"


def row_label(display: dict | None, method: str, model: str, variant: str = DEFAULT_VARIANT) -> str:
    if str(variant) == DEFAULT_VARIANT:
        return f"{_display(display, 'methods', method)} / {_display(display, 'models', model)}"
    return f"{variant_label(display, method, variant)} / {_display(display, 'models', model)}"


def key_label(display: dict | None, key: str) -> str:
    """The row label of a row key."""
    method, variant, model = parse_row_key(key)
    return row_label(display, method, model, variant)


def is_copied(source: str) -> bool:
    """Whether a reported row's source says the paper copied it from other work (not its own run)."""
    return bool(re.search(r"\bcopied\b", str(source), re.IGNORECASE))


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
    relative_improvement_note).
    A table of a single column has no Avg column (it would repeat the column). In a table of one
    model, a variant's row reads its variant name alone ("Prompt_7", as the paper prints it).
    """
    summ = with_variant(summary)
    summ["col"] = [column_key(layout, s, t) for s, t in zip(summ["source"], summ["target"])]
    summ["rowkey"] = row_keys(summ)
    cols = column_order(layout, summ["col"])
    sources = set(summ["source"].astype(str))
    avg_cols = [c for c in cols if not (layout.exclude_source and _is_source_column(layout, c, sources))] or cols
    group_cols: dict[str, list[str]] = {}
    if layout.groups:  # explicit groups, over the columns named (the source too, if named)
        group_cols = group_members(layout, cols)
    else:
        for col, name in (groups or {}).items():
            if col in avg_cols:
                group_cols.setdefault(name, []).append(col)

    # Rows grouped by model (a rule between models), methods in config order within a model,
    # a method's variants in config order, rows selected from them last.
    models = list(dict.fromkeys(model_order or [])) + [m for m in dict.fromkeys(summ["model"]) if m not in (model_order or [])]
    methods = list(dict.fromkeys(method_order or [])) + [m for m in dict.fromkeys(summ["method"]) if m not in (method_order or [])]

    def variants_of(method: str) -> list[str]:
        seen = list(dict.fromkeys(summ.loc[summ["method"] == method, "variant"]))
        listed = [str(v) for v in (variant_order or {}).get(method, [])]
        run = [v for v in dict.fromkeys([DEFAULT_VARIANT, *listed, *seen]) if v not in SELECTION_VARIANTS]
        return run + [v for v in SELECTION_VARIANTS if v in seen]

    present = set(summ["rowkey"])
    ordered = [rk for mo in models for me in methods for va in variants_of(me)
               if (rk := RowKey(me, mo, va)).key in present]  # fmt: skip

    stat = summ.set_index(["rowkey", "col"])
    marks = {}
    if flags is not None and not flags.empty:
        for f in with_variant(flags).itertuples(index=False):
            if f.marks:
                marks[(row_key(f.method, f.variant, f.model), column_key(layout, f.source, f.target))] = f.marks

    def mean(rk: str, col: str) -> float:
        return float(stat.at[(rk, col), "mean"]) if (rk, col) in stat.index else math.nan

    has_avg = len(cols) > 1 or bool(group_cols)
    avg_keys = [average_key()] + [average_key(name) for name in group_cols] if has_avg else []
    avg_headers = [average_header(layout)] + [average_header(layout, name) for name in group_cols] if has_avg else []
    avg_members = [avg_cols, *group_cols.values()][:len(avg_keys)]

    def averages(values: dict[str, float]) -> list[float]:
        if not avg_headers:
            return []
        return [_avg([values.get(c, math.nan) for c in avg_cols])] + [
            _avg([values.get(c, math.nan) for c in members]) for members in group_cols.values()
        ]

    our_means = {rk.key: {c: mean(rk.key, c) for c in cols} for rk in ordered}
    our_avgs = {k: averages(v) for k, v in our_means.items()}
    # Best per column (higher is better) in bold, among our rows, when there is a choice.
    # Flagged cells (fallbacks, no better than the majority label) measure nothing: never "best".
    # A row with a flagged cell is left out of the best average too.
    best: dict[int, float] = {}
    ranked = [rk for rk in ordered if rk.key not in unranked]
    if len(ranked) >= 2:
        table_values = []
        for rk in ranked:
            flagged = [bool(marks.get((rk.key, c))) for c in cols]
            cells = [math.nan if f else v for f, v in zip(flagged, our_means[rk.key].values())]
            table_values.append(cells + ([math.nan] * len(avg_headers) if any(flagged) else our_avgs[rk.key]))
        for j in range(len(cols) + len(avg_headers)):
            column = [row[j] for row in table_values if not pd.isna(row[j])]
            if column:
                best[j] = max(round(v, 1) for v in column)

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
                    cells.append(our_cell(rk, j, s["mean"], _fmt(s["mean"], s["std"], int(s["n"])), marks.get((rk.key, c), "")))
                else:
                    cells.append(Cell(MISSING))
            cells += [our_cell(rk, len(cols) + k, v, _fmt(v)) for k, v in enumerate(our_avgs[rk.key])]
            section.append(Row(Cell(label(rk)), cells))
        if section:
            sections.append(section)
    # One row per model and several models: one section, not a rule under every row.
    if all(len(s) == 1 for s in sections):
        sections = [[s[0] for s in sections]]
    notes: list[str] = []

    if reported is not None and not reported.values.empty:
        rep = reported.values
        rep_rows = list(dict.fromkeys(rep["row"]))
        section = []
        rep_means: dict[str, dict[str, float]] = {}
        rep_avgs: dict[str, list[float]] = {}  # per average column: printed, else the row's mean
        printed_avgs: dict[str, set[str]] = {}  # the average keys the paper prints, per row
        for name in rep_rows:
            vals = rep[rep["row"] == name].set_index("column")["value"]
            printed_avgs[name] = set(avg_keys) & set(vals.index)
            rep_means[name] = {c: float(vals[c]) if c in vals.index else math.nan for c in cols}
            cells = [Cell(_fmt(v), italic=True) for v in rep_means[name].values()]
            avg_cells, rep_avgs[name] = [], []
            for k, (key, header, mean_value) in enumerate(zip(avg_keys, avg_headers, averages(rep_means[name]))):
                if key not in vals.index:
                    avg_cells.append(Cell(_fmt(mean_value), italic=True))
                    rep_avgs[name].append(mean_value)
                    continue
                # Printed: shown as printed, marked where the paper's own cells average otherwise.
                printed = float(vals[key])
                avg_cells.append(Cell(_fmt(printed), italic=True))
                rep_avgs[name].append(printed)
                if not pd.isna(mean_value) and round(mean_value, 1) != round(printed, 1):
                    avg_cells[-1].marks = MARK_PRINTED_AVG
                    of = "row" if k == 0 else ", ".join(column_header(layout, c) for c in avg_members[k]) + " cells"
                    notes.append(f"{MARK_PRINTED_AVG} The paper prints {header} {printed:.1f} for {name}; "
                                 f"the mean of its printed {of} is {mean_value:.1f}.")  # fmt: skip
            copied = is_copied(rep.loc[rep["row"] == name, "source"].iloc[0])
            section.append(Row(Cell(name, italic=True, marks=MARK_COPIED if copied else ""), cells + avg_cells))
        sections.append(section)
        notes.insert(0, reported_note(rep))
        diffs = []
        compared: dict[str, None] = {}  # headers of the averages the Δ rows compare, in order
        for ours in (rk.key for rk in ordered):  # in our row order
            theirs = reported.compare.get(ours)
            if theirs not in rep_means:
                continue
            values = [our_means[ours][c] - rep_means[theirs][c] for c in cols]
            cells = [Cell(MISSING if pd.isna(v) else f"{v:+.1f}".replace("-", "\u2212")) for v in values]
            # Avg: against the paper's printed one, else its row mean; a group average only where
            # the paper prints it (blank otherwise).
            for k, (key, our, theirs_avg) in enumerate(zip(avg_keys, our_avgs[ours], rep_avgs[theirs])):
                if k > 0 and key not in printed_avgs[theirs]:
                    cells.append(Cell(""))
                    continue
                cells.append(Cell(MISSING if pd.isna(our - theirs_avg) else f"{our - theirs_avg:+.1f}".replace("-", "\u2212")))
                compared.setdefault(avg_headers[k])
            diffs.append(Row(Cell(f"\u0394 {label(RowKey.parse(ours))} \u2212 {theirs}"), cells))
        if diffs:
            sections.append(diffs)
            notes.append("\u0394 rows: ours minus the paper, per cell"
                         + (f" ({', '.join(compared)}: our average minus the paper's printed one)." if compared else "."))

    if reference is not None and not reference.empty:
        # Rows that name their source map onto pair (or renamed) columns; others by target.
        ref = reference.assign(col=[column_key(layout, s, t) for s, t in zip(reference["source"], reference["target"])]
                               if "source" in reference else reference["target"].astype(str))  # fmt: skip
        ref = ref[ref["col"].isin(cols)]
        if ref.duplicated(["row", "col"]).any():
            raise ValueError("duplicate (row, target) in reference values")
        section = []
        for name in dict.fromkeys(reference["row"]):
            vals = ref[ref["row"] == name].set_index("col")["value"].astype(float)
            values = {c: float(vals[c]) if c in vals.index else math.nan for c in cols}
            cells = [Cell(_fmt(v), italic=True) for v in values.values()]
            cells += [Cell(_fmt(v), italic=True) for v in averages(values)]
            section.append(Row(Cell(str(name), italic=True), cells))
        sections.append(section)

    if relative_improvement:
        # A row with flagged cells carries their marks into the note: its gain measures nothing either.
        row_marks = {rk.key: "".join(sorted({m for c in cols for m in marks.get((rk.key, c), "")})) for rk in ordered}
        ours_shown = {rk.key: (f"ours {label(rk)}{row_marks[rk.key]}", {**our_means[rk.key], **dict(zip(avg_keys, our_avgs[rk.key]))})
                      for rk in ordered}  # fmt: skip
        paper_shown = {}
        if reported is not None and not reported.values.empty:
            paper_shown = {name: (f"{name} (reported)", {**rep_means[name], **dict(zip(avg_keys, rep_avgs[name]))})
                           for name in rep_means}  # fmt: skip
        shown_headers = dict(zip(cols + avg_keys, [column_header(layout, c) for c in cols] + avg_headers))
        notes += [relative_improvement_note(spec, ours_shown, paper_shown, shown_headers) for spec in relative_improvement]

    headers = [column_header(layout, c) for c in cols] + avg_headers
    # Average keys listed in layout.order set the order of the average columns (AlignXIE prints
    # Avg unseen before Avg all); they stay after the data columns.
    rank = {key: i for i, key in enumerate(layout.order)}
    avg_order = sorted(range(len(avg_keys)), key=lambda k: (rank.get(avg_keys[k], len(rank)), k))
    if avg_order != list(range(len(avg_keys))):
        n = len(cols)
        headers = headers[:n] + [headers[n + k] for k in avg_order]
        for section in sections:
            for row in section:
                row.cells = row.cells[:n] + [row.cells[n + k] for k in avg_order]
    return Grid(CORNER, headers, sections, notes, avg_start=len(cols) if avg_headers else None)


def reported_note(rep: pd.DataFrame) -> str:
    """Where the italic reported rows come from. Several sources: which rows each covers, and rows
    the paper copied from other work marked (they are not the paper's runs)."""
    sources = list(dict.fromkeys(rep["source"].astype(str)))
    if len(sources) == 1:
        return f"Italic rows: the paper's numbers ({sources[0]})."
    parts = []
    for source in sources:
        names = list(dict.fromkeys(rep.loc[rep["source"].astype(str) == source, "row"]))
        parts.append(f"{', '.join(names)}: {source}")
    text = f"Italic rows: the paper's numbers ({'; '.join(parts)})."
    if any(is_copied(s) for s in sources):
        text += (f" {MARK_COPIED} Copied by the paper from other work, not run by its authors: other code, "
                 "preprocessing and protocols, so not a like-for-like comparison.")  # fmt: skip
    return text


def _decimals(value: float) -> int:
    """Decimals of a number as the paper printed it (the shortest repr: 39.53 -> 2, 30.4 -> 1; a
    printed trailing zero is lost, 37.20 -> 1, which only widens the rounding interval)."""
    text = repr(float(value))
    return 0 if "e" in text else len(text.partition(".")[2].rstrip("0"))


def relative_improvement_note(spec: dict, ours: dict[str, tuple[str, dict[str, float]]],
                              paper: dict[str, tuple[str, dict[str, float]]], headers: dict[str, str]) -> str:  # fmt: skip
    """``Relative improvement on <column> over <row> (reported x): <row> +p% (a/x − 1); ...``.

    ``spec`` (config ``relative_improvement`` entry): ``column`` (a column or average key),
    ``over`` (a reported row name), ``rows`` (our row keys and/or reported row names) and optional
    ``stated`` (row -> the gain in % the paper states): shown beside ours, and said to be within
    the rounding of the printed numbers or not. ``ours`` (by row key) and ``paper`` (by reported
    row name): row -> (label, column key -> the value the table shows, unrounded)."""
    column, over = str(spec["column"]), str(spec["over"])
    where = "config key relative_improvement"
    if column not in headers:
        raise ValueError(f"{where}: column {column!r} is not a column of the table ({', '.join(headers)})")
    if over not in paper:
        raise ValueError(f"{where}: over {over!r} is not a reported row of the table ({', '.join(paper) or 'none'})")
    base = paper[over][1][column]
    if pd.isna(base) or base <= 0:
        raise ValueError(f"{where}: the reported {over!r} has no positive {headers[column]} to divide by")
    stated = {str(k): float(v) for k, v in (spec.get("stated") or {}).items()}
    parts = []
    for row in spec["rows"]:
        if row not in ours and row not in paper:
            raise ValueError(f"{where}: row {row!r} is neither one of our rows of the table ({', '.join(ours)}) "
                             "nor a reported row")  # fmt: skip
        name, row_values = ours[row] if row in ours else paper[row]
        value = row_values[column]
        if pd.isna(value):
            parts.append(f"{name} {MISSING} (no {headers[column]})")
            continue
        text = f"{name} {(value / base - 1) * 100:+.2f}% ({value:.2f}/{base:.2f} \u2212 1"
        if row in stated:
            # The interval the gain can take given the printed numbers' rounding (half a last digit).
            half_v, half_b = (0.5 * 10 ** -_decimals(v) for v in (value, base))
            low, high = ((value - half_v) / (base + half_b) - 1) * 100, ((value + half_v) / (base - half_b) - 1) * 100
            within = "within" if low <= stated[row] <= high else "outside"
            text += (f"; the paper states {stated[row]:+.2f}%, {within} the rounding of the printed numbers "
                     f"({low:+.2f}% to {high:+.2f}%)")  # fmt: skip
        parts.append(text + ")")
    return f"Relative improvement on {headers[column]} over {over} (reported {base:.2f}): {'; '.join(parts)}."


def table_frame(
    metrics: pd.DataFrame,
    *,
    paper: str,
    table: str,
    reference: pd.DataFrame | None = None,
    groups: dict[str, str] | None = None,
    **grid_options,
) -> pd.DataFrame:
    """The formatted strings shown in the table (index = row headers, columns = headers).

    Cells use a Unicode plus-minus (``12.3±0.4``); latex_escape renders it as ``$\\pm$``.
    ``frame.attrs["n_reference"]`` counts the trailing reference rows."""
    grid = build_grid(cell_summary(metrics, paper, table), groups=groups, reference=reference, **grid_options)
    frame = grid.frame()
    frame.attrs["n_reference"] = 0 if reference is None else reference["row"].nunique()
    return frame


# ---------------------------------------------------------------------------------------------
# Fitting the page: font size and blocks of columns


@functools.cache
def _roman_width_em(text: str) -> float:
    """Width of ``text`` in Computer Modern Roman 10 (Latin Modern's metrics), in em, measured with
    the cmr10 font matplotlib ships: a table's width is known before LaTeX sets it."""
    import os

    import matplotlib
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    if not text:
        return 0.0
    font = FontProperties(fname=os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "cmr10.ttf"), size=10)
    for glyph, same_width in ((PLUS_MINUS, "+"), ("\u2212", "+"), ("\u0394", "O"), ("\u2192", "+")):
        text = text.replace(glyph, same_width)  # math glyphs cmr10 lacks, as a letter of their width
    width, _, _ = TextToPath().get_text_width_height_descent(text, font, ismath=False)
    return width / 10


# Smaller design sizes are relatively wider (cmr8 digits 0.531 em, cmr9 0.514 em, cmr10 0.5 em).
DESIGN_SIZE_WIDTH = {10.0: 1.0, 9.0: 1.028, 8.0: 1.062}


def _text_width_em(cell: Cell) -> float:
    widest = max(_roman_width_em(line) for line in cell.text.split("\n"))
    return widest * (1.15 if cell.bold else 1.0) + 0.4 * len(cell.marks)  # marks are superscripts


def column_widths_em(grid: Grid) -> tuple[float, list[float]]:
    """(row-header width, data column widths) in em."""
    rows = [r for s in grid.sections for r in s]
    header_w = max([_text_width_em(Cell(grid.corner))] + [_text_width_em(r.header) for r in rows])
    widths = []
    for j, h in enumerate(grid.headers):
        widths.append(max([_text_width_em(Cell(h))] + [_text_width_em(r.cells[j]) for r in rows]))
    return header_w, widths


@dataclass(frozen=True)
class Fit:
    font_pt: float
    blocks: list[list[int]]  # data-column indices of each block
    natural_width_pt: float  # the whole table in one block at 10 pt
    tabcolsep_pt: float = TABCOLSEP_PT

    @property
    def font_command(self) -> str:
        return FONT_COMMANDS[self.font_pt]

    def block_width_pt(self, header_em: float, widths_em: list[float], block: list[int]) -> float:
        pad = 2 * self.tabcolsep_pt
        em = self.font_pt * DESIGN_SIZE_WIDTH[self.font_pt]
        return header_em * em + pad + sum(widths_em[j] * em + pad for j in block)


SAFETY = 0.97  # leave 3% of the width for what the estimate misses (kerning, rule widths)


def fit_grid(grid: Grid, width_pt: float) -> Fit:
    """The font (10, 9 or 8 pt), column padding (6 or 4 pt) and column blocks that fit ``width_pt``:
    fewest blocks first, then the largest font, then the wider padding. A column too wide even
    alone at 8 pt still gets its own block."""
    header_em, widths_em = column_widths_em(grid)
    width_pt = width_pt * SAFETY
    natural = Fit(10.0, [], 0.0).block_width_pt(header_em, widths_em, list(range(len(widths_em))))

    def blocks_at(fit: Fit) -> list[list[int]]:
        blocks: list[list[int]] = [[]]
        for j in range(len(widths_em)):
            if blocks[-1] and fit.block_width_pt(header_em, widths_em, blocks[-1] + [j]) > width_pt:
                blocks.append([])
            blocks[-1].append(j)
        return blocks

    options = [Fit(size, [], natural, sep) for size in FONT_COMMANDS for sep in (TABCOLSEP_PT, 4.0)]
    best = min(options, key=lambda f: (len(blocks_at(f)), -f.font_pt, -f.tabcolsep_pt))
    greedy = blocks_at(best)
    # Same number of blocks with the columns spread evenly, when that still fits.
    balanced = _balanced(len(widths_em), len(greedy))
    fits = all(best.block_width_pt(header_em, widths_em, b) <= width_pt for b in balanced)
    return replace(best, blocks=balanced if fits else greedy)


def _balanced(n: int, k: int) -> list[list[int]]:
    base, extra = divmod(n, k)
    out, start = [], 0
    for i in range(k):
        size = base + (1 if i < extra else 0)
        out.append(list(range(start, start + size)))
        start += size
    return out


def _block_grid(grid: Grid, columns: list[int]) -> Grid:
    sections = [[Row(r.header, [r.cells[j] for j in columns]) for r in s] for s in grid.sections]
    return replace(grid, headers=[grid.headers[j] for j in columns], sections=sections)


# ---------------------------------------------------------------------------------------------
# Rendering


def _latex_header(text: str) -> str:
    lines = [latex_escape(line) for line in text.split("\n")]
    if len(lines) == 1:
        return lines[0]
    return r"\begin{tabular}[b]{@{}r@{}}" + r" \\ ".join(lines) + r"\end{tabular}"


def _latex_cell(cell: Cell) -> str:
    text = latex_escape(cell.text)
    if cell.italic and cell.text:
        text = rf"\textit{{{text}}}"
    if cell.bold:
        text = rf"\textbf{{{text}}}"
    if cell.marks:
        text += "".join(
            r"\textsuperscript{*}" if m == MARK_PRINTED_AVG else latex_escape(m) for m in cell.marks
        )
    return text


def caption_with_notes(caption: str, notes: list[str], demo: bool) -> str:
    text = caption.strip()
    if demo:
        text = f"{DEMO_PREFIX} {text}"
    for note in notes:
        if text and not text.endswith((".", "!", "?")):
            text += "."
        text = f"{text} {note}"
    return text


def height_pt(grid: Grid, fit: Fit) -> float:
    """Estimated height of the tabulars: rows at 1.2 x the font size, rules and gaps between blocks."""
    rows = 1 + sum(len(s) for s in grid.sections)
    return len(fit.blocks) * (rows * 1.2 * fit.font_pt + 4 * (len(grid.sections) + 2)) + 10 * (len(fit.blocks) - 1)


def oriented(grid: Grid, layout: Layout) -> tuple[Grid, Fit]:
    """The grid in the layout's orientation, with its fit. ``auto``: languages across when that fits
    the page height, else languages down when that does, else whichever is shorter."""
    if layout.orientation == "columns":
        return grid, fit_grid(grid, layout.width_pt)
    down = grid.transposed("Language")
    if layout.orientation == "transposed":
        return down, fit_grid(down, layout.width_pt)
    across_fit, down_fit = fit_grid(grid, layout.width_pt), fit_grid(down, layout.width_pt)
    if height_pt(grid, across_fit) <= layout.height_pt:
        return grid, across_fit
    if height_pt(down, down_fit) <= layout.height_pt or height_pt(down, down_fit) < height_pt(grid, across_fit):
        return down, down_fit
    return grid, across_fit


def pages(grid: Grid, fit: Fit, max_height_pt: float) -> list[tuple[Grid, list[list[int]]]]:
    """Split a table taller than a page into floats: whole blocks of columns per float when one
    block fits, else runs of rows (languages down) with every block. Sections are kept."""
    if height_pt(grid, fit) <= max_height_pt:
        return [(grid, fit.blocks)]
    one = replace(fit, blocks=fit.blocks[:1])
    if len(fit.blocks) > 1 and height_pt(grid, one) <= max_height_pt:
        per = max(1, int((max_height_pt + 10) // (height_pt(grid, one) + 10)))
        return [(grid, fit.blocks[i:i + per]) for i in range(0, len(fit.blocks), per)]
    n_blocks, n_sections = len(fit.blocks), len(grid.sections)
    per_block = (max_height_pt - 10 * (n_blocks - 1)) / n_blocks - 4 * (n_sections + 2)
    rows_per_page = max(1, int(per_block // (1.2 * fit.font_pt)) - 1)  # less the header row
    tagged = [(k, row) for k, section in enumerate(grid.sections) for row in section]
    out = []
    for start in range(0, len(tagged), rows_per_page):
        chunk = tagged[start:start + rows_per_page]
        sections = [[row for k, row in chunk if k == key] for key in dict.fromkeys(k for k, _ in chunk)]
        out.append((replace(grid, sections=sections), fit.blocks))
    return out


def render_grid_latex(grid: Grid, *, caption: str, label: str, layout: Layout = Layout()) -> str:
    if _BAD_LABEL.search(label):
        raise ValueError(f"label {label!r} must not contain spaces or LaTeX specials")
    grid, fit = oriented(grid, layout)
    floats = []
    for number, (part, block_columns) in enumerate(pages(grid, fit, layout.height_pt)):
        blocks = []
        for columns in block_columns:
            block = _block_grid(part, columns)
            blocks.append({
                "colspec": "l" + "r" * len(columns),
                "corner": latex_escape(block.corner),
                "headers": [_latex_header(h) for h in block.headers],
                "sections": [[{"header": _latex_cell(r.header), "cells": [_latex_cell(c) for c in r.cells]} for r in s]
                             for s in block.sections],
            })  # fmt: skip
        floats.append(latex_environment().get_template("results_table.tex.j2").render(
            float_env=layout.float_env,
            caption=latex_escape(caption),
            label=label,
            continued=number > 0,
            font=fit.font_command,
            font_pt=fit.font_pt,
            tabcolsep=f"{fit.tabcolsep_pt:g}pt",
            blocks=blocks,
        ))  # fmt: skip
    return "\n\n".join(f.rstrip("\n") for f in floats) + "\n"


def render_grid_html(grid: Grid, *, caption: str, layout: Layout = Layout()) -> str:
    """An HTML fragment styled like the LaTeX table (see templates/results_table.html.j2)."""
    if layout.orientation == "transposed":
        grid = grid.transposed("Language")
    return html_environment().get_template("results_table.html.j2").render(grid=grid, caption=caption)


def render_table(
    metrics: pd.DataFrame,
    *,
    paper: str,
    table: str,
    caption: str,
    label: str,
    reference: pd.DataFrame | None = None,
    groups: dict[str, str] | None = None,
    demo: bool = False,
    layout: Layout = Layout(),
    **grid_options,
) -> str:
    """A booktabs float for one paper table, sized to fit ``layout.width_pt``."""
    if _BAD_LABEL.search(label):
        raise ValueError(f"label {label!r} must not contain spaces or LaTeX specials")
    grid = build_grid(cell_summary(metrics, paper, table), layout=layout, groups=groups, reference=reference,
                      **grid_options)  # fmt: skip
    notes = list(grid.notes)
    if reference is not None and not reference.empty:
        ref_notes = []
        if "source_note" in reference.columns:
            ref_notes = list(dict.fromkeys(str(n).strip() for n in reference["source_note"].dropna() if str(n).strip()))
        note = "; ".join(ref_notes) or "reference values"
        notes.append(f"Italic rows: {note}" + ("" if note.endswith(".") else "."))
    return render_grid_latex(grid, caption=caption_with_notes(caption, notes, demo), label=label, layout=layout)


HTML_STYLE = """
body { font-family: "Latin Modern Roman", "CMU Serif", Georgia, serif; margin: 1.5em; }
figure.xlie-table { margin: 0 0 2em 0; }
figure.xlie-table figcaption { max-width: 60em; margin-bottom: .6em; line-height: 1.35; }
figure.xlie-table table { border-collapse: collapse; border-top: 2px solid #000; border-bottom: 2px solid #000;
  font-variant-numeric: tabular-nums; }
figure.xlie-table thead th { border-bottom: 1px solid #000; padding: .25em .6em; text-align: right; font-weight: normal; }
figure.xlie-table tbody + tbody { border-top: 1px solid #000; }
figure.xlie-table th.rowhead { text-align: left; font-weight: normal; white-space: nowrap; }
figure.xlie-table td { text-align: right; padding: .15em .6em; white-space: nowrap; }
figure.xlie-table .ref { font-style: italic; }
figure.xlie-table .best { font-weight: bold; }
"""


def html_page(title: str, fragments: list[str]) -> str:
    """A standalone HTML page holding table fragments (for the report)."""
    from html import escape

    body = "\n".join(fragments)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{HTML_STYLE}</style></head><body>\n{body}\n</body></html>\n")  # fmt: skip


LATEX_PREAMBLE = (
    "\\documentclass{article}\n"
    # Scalable Type 1 fonts only: T1 without lmodern makes pdflatex embed Type 3 bitmaps, which
    # venues' PDF checks reject; without lmodern installed, OT1 Computer Modern is Type 1 too.
    "\\IfFileExists{lmodern.sty}{\\usepackage[T1]{fontenc}\\usepackage{lmodern}}{}\n"
    "\\usepackage[utf8]{inputenc}\n"
    "\\usepackage{booktabs}\n"
    # Room for the demo's long captions (the notes a table carries): a4 with 2 cm margins, captions
    # one size smaller. The fragments themselves are fitted to the venue widths, not to this page.
    "\\IfFileExists{geometry.sty}{\\usepackage[a4paper,margin=2cm]{geometry}}{}\n"
    "\\IfFileExists{caption.sty}{\\usepackage[font=small]{caption}}{}\n"
)


def write_latex_document(fragments: list[str], path) -> Path:
    """Write a compilable article holding the table fragments (Type 1 fonts only)."""
    from xlie.pipeline.runtime import atomic_write_text

    path = Path(path)
    body = "\n\n".join(f.strip() for f in fragments)
    atomic_write_text(path, f"{LATEX_PREAMBLE}\\begin{{document}}\n\n{body}\n\n\\end{{document}}\n")
    return path
