"""What a result table is made of: row keys (method, variant, model), the layout of its columns, and
the grid of cells both renderers draw.

A row is keyed ``<method>/<model>`` or ``<method>[<variant>]/<model>``; a column by its target
language, its source-target pair or its dataset, renamed and headed as the table's ``layout`` says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

MISSING = "--"
PLUS_MINUS = "\u00b1"  # kept renderer-neutral in the grid; the LaTeX renderer turns it into $\pm$
CORNER = "Method / model"
AVG = "Avg"
AVG_KEY = "avg"  # the column key of the plain average (the reported TSV's column for a printed Avg)

# Cell marks, explained in the caption when they occur.
MARK_DEGENERATE = "\u2020"  # dagger: too many fallback / unparsed / truncated predictions
MARK_AT_BASELINE = "\u2021"  # double dagger: does not beat the task's floor baseline
MARK_PRINTED_AVG = "*"  # a paper's printed average differs from the mean of its printed row
MARK_COPIED = "\u00a7"  # section sign: a reported row the paper copied from other work

# A method without variants has the variant "default": its rows read and key exactly as before
# variants existed ("<method>/<model>", "<Method> / <Model>").
DEFAULT_VARIANT = "default"
# Rows derived from a method's variants (config variant_selection), never run variants themselves.
ORACLE_VARIANT = "oracle"  # per column, the best variant on the TEST set
DEV_VARIANT = "dev"  # per source language, the variant with the best source-dev score
SELECTION_VARIANTS = (ORACLE_VARIANT, DEV_VARIANT)
_ROW_KEY = re.compile(r"^(?P<method>[^/\[\]]+)(?:\[(?P<variant>[^/\[\]]+)\])?/(?P<model>[^/\[\]]+)$")


# ---------------------------------------------------------------------------------------------
# Row keys: (method, variant, model)


def _variant_name(value) -> str:
    if pd.isna(value) or value == "":
        return DEFAULT_VARIANT
    # A variant "1" read back from CSV is the integer 1 (or 1.0 beside NaN): a name, not a number.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def with_variant(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a string ``variant`` column right after ``method``: metrics written before
    variants existed (no column) and empty values read as ``default``."""
    variant = frame["variant"] if "variant" in frame else pd.Series(DEFAULT_VARIANT, index=frame.index)
    out = frame.drop(columns=["variant"], errors="ignore")
    position = list(out.columns).index("method") + 1 if "method" in out else 0
    out.insert(position, "variant", variant.map(_variant_name).to_numpy())
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
    keys = [row_key(me, va, mo) for me, va, mo in zip(framed["method"], framed["variant"], framed["model"])]
    return pd.Series(keys, index=frame.index, dtype=object)


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


def ordered_variants(method: str, seen, variant_order: dict[str, list[str]] | None) -> list[str]:
    """A method's variants in row order: the default, those the config lists, those seen, then the
    rows selected from them."""
    seen = list(dict.fromkeys(seen))
    listed = [str(v) for v in (variant_order or {}).get(method, [])]
    run = [v for v in dict.fromkeys([DEFAULT_VARIANT, *listed, *seen]) if v not in SELECTION_VARIANTS]
    return run + [v for v in SELECTION_VARIANTS if v in seen]


# ---------------------------------------------------------------------------------------------
# Display names


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


# ---------------------------------------------------------------------------------------------
# Columns


@dataclass(frozen=True)
class Layout:
    """How a table is laid out (config: ``papers.<paper>.tables.<table>.layout``)."""

    columns: str = "target"  # target | pair | dataset
    orientation: str = "auto"  # columns: languages across; transposed: languages down; auto: what fits a page
    height_pt: float = 550.0  # the height a float may take (article's \textheight is 550 pt)
    float_env: str = "table"  # table (one column) | table* (full width)
    width_pt: float = 345.0  # the width the float must fit (article's \textwidth)
    exclude_source: bool = True  # zero-shot averages leave out the source language / monolingual pairs
    # With exclude_source: a second Avg over every column, the source included (key avg_with_source),
    # where it is unknown which convention the paper's Avg follows.
    average_with_source: bool = False
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


def average_key(group: str | None = None) -> str:
    """The column key of an average: ``avg``, or ``avg_<group>`` for a group's (the reported TSV's
    ``column`` for a printed one, and what ``headers`` and ``relative_improvement`` name)."""
    return AVG_KEY if group is None else f"{AVG_KEY}_{group.lower()}"


# The group of layout.average_with_source: every column, the source language included.
WITH_SOURCE = "with_source"


def average_header(layout: Layout, group: str | None = None) -> str:
    """What an average column is headed: ``layout.headers[<average key>]``, else ``Avg`` / ``Avg <group>``
    (``Avg incl. source`` for the average with the source language)."""
    default = AVG if group is None else f"{AVG} incl. source" if group == WITH_SOURCE else f"{AVG} {group}"
    return dict(layout.headers).get(average_key(group), default)


def group_members(layout: Layout, cols: list[str]) -> dict[str, list[str]]:
    """The explicit average groups (``layout.groups``): group -> its column keys that the table has."""
    return {name: [c for c in members if c in cols] for name, members in layout.groups}


def column_key(layout: Layout, source: str, target: str) -> str:
    natural = f"{source}-{target}" if layout.columns == "pair" else str(target)
    return dict(layout.column_keys).get(natural, natural)


def column_keys(layout: Layout, frame: pd.DataFrame) -> list[str]:
    """The column key of every row of a metrics or summary frame."""
    return [column_key(layout, s, t) for s, t in zip(frame["source"], frame["target"])]


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


def axis_label(layout: Layout) -> str:
    """What a plot's column axis shows."""
    return {"pair": "source-target pair", "dataset": "dataset"}.get(layout.columns, "target language")


def is_source_column(layout: Layout, key: str, sources: set[str]) -> bool:
    """Whether a column is the source language (a monolingual pair): left out of zero-shot averages."""
    if layout.columns == "pair":
        src, _, tgt = key.partition("-")
        return src == tgt
    return layout.columns == "target" and key in sources


PAIR_SETS = ("all", "monolingual", "crosslingual")


def select_pairs(frame: pd.DataFrame, pairs: str = "all") -> pd.DataFrame:
    """The rows of a metrics (or summary) frame whose (source, target) pair a table shows: ``all``,
    ``monolingual`` (source == target) or ``crosslingual``."""
    if pairs not in PAIR_SETS:
        raise ValueError(f"pairs must be one of {', '.join(PAIR_SETS)}, not {pairs!r}")
    if pairs == "all":
        return frame
    same = frame["source"].astype(str) == frame["target"].astype(str)
    out = frame[same if pairs == "monolingual" else ~same]
    if out.empty:
        raise ValueError(f"no {pairs} (source, target) pairs in the table's cells")
    return out


# ---------------------------------------------------------------------------------------------
# The grid


def signed(value: float) -> str:
    """A difference as a cell shows it: ``+1.2`` / ``\u22121.2`` (a real minus), ``--`` when undefined."""
    return MISSING if pd.isna(value) else f"{value:+.1f}".replace("-", "\u2212")


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
    # A group heading (config row_groups): its header's text across the table, its cells blank.
    heading: bool = False
    # What the row shows, for passes over a built grid (row groups, the Δ column): "ours" (key: our
    # row key), "paper" (key: the reported row's name), "delta" (key: our row key); "" otherwise.
    kind: str = ""
    key: str = ""


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

    def rows(self) -> list[Row]:
        return [r for s in self.sections for r in s]

    def transposed(self, corner: str) -> Grid:
        rows = [r for r in self.rows() if not r.heading]  # a heading names rows, not a language
        data_sections = [[Row(Cell(h), [r.cells[j] for r in rows])] for j, h in enumerate(self.headers)]
        avg_start = self.avg_start
        if avg_start is None:
            avg_start = next((j for j, h in enumerate(self.headers) if h.startswith(AVG)), len(self.headers))
        sections = [[s[0] for s in data_sections[:avg_start]], [s[0] for s in data_sections[avg_start:]]]
        # Row labels become column headers, broken after "/" so that they are no wider than the numbers.
        headers = [(r.header.text + r.header.marks).replace(" / ", " /\n") for r in rows]
        return Grid(corner, headers, [s for s in sections if s], self.notes)

    def frame(self) -> pd.DataFrame:
        """The cells' text as a DataFrame (index: row headers, columns: headers; no group headings)."""
        rows = [r for r in self.rows() if not r.heading]
        return pd.DataFrame(
            [[c.text for c in r.cells] for r in rows], index=[r.header.text for r in rows], columns=self.headers
        )
