"""Passes over a built grid that a table's config asks for: a Δ column (each row minus one row, table
key ``delta_column``) and group headings over its rows (table key ``row_groups``).

Both read what each row shows from ``Row.kind`` and ``Row.key`` (our rows, the paper's rows, the Δ
rows), so they run after ``xlie.report.grid.build_grid`` has laid the rows out.
"""

from __future__ import annotations

from collections.abc import Callable

from xlie.report import notes
from xlie.report.model import MISSING, Cell, Grid, Row, RowKey, parse_row_key, signed

DELTA_HEADER = "\u0394"
CONFIG_DELTA = "config key delta_column"


def _delta_target(spec: dict, headers: dict[str, str]) -> str:
    """The column key the Δ column differences: ``spec["column"]``, else the table's only column,
    else its plain average."""
    column = spec.get("column")
    if column is None:
        column = next(iter(headers)) if len(headers) == 1 else "avg"
    if column not in headers:
        raise ValueError(f"{CONFIG_DELTA}: column {column!r} is not a column of the table ({', '.join(headers)})")
    return str(column)


def add_delta_column(
    grid: Grid,
    spec: dict,
    headers: dict[str, str],
    ours: dict[str, dict[str, float]],
    paper: dict[str, dict[str, float]],
    compare: dict[str, str],
    label: Callable[[RowKey], str],
) -> None:
    """Append a column headed ``spec["header"]`` (default Δ): each of our rows' value in column
    ``spec["column"]`` minus our row ``spec["over"]``'s, and each of the paper's rows minus the
    paper's counterpart of ``over`` (``compare``), as a paper prints a gain over its baseline. The
    ``over`` rows read ``--``; Δ rows (ours minus the paper) and reference rows stay blank.

    ``headers``: column key -> header of the columns shown; ``ours`` (by row key) and ``paper`` (by
    reported row name): column key -> value, averages included."""
    over, header = str(spec["over"]), str(spec.get("header", DELTA_HEADER))
    if over not in ours:
        raise ValueError(f"{CONFIG_DELTA}: over {over!r} is not one of our rows of the table ({', '.join(ours)})")
    column = _delta_target(spec, headers)
    paper_over = compare.get(over) if compare.get(over) in paper else None
    for row in grid.rows():
        if row.kind == "ours":
            text = MISSING if row.key == over else signed(ours[row.key][column] - ours[over][column])
            row.cells.append(Cell(text))
        elif row.kind == "paper" and paper_over is not None:
            difference = paper[row.key][column] - paper[paper_over][column]
            row.cells.append(Cell(MISSING if row.key == paper_over else signed(difference), italic=True))
        else:
            row.cells.append(Cell(""))
    if grid.avg_start is None:
        grid.avg_start = len(grid.headers)  # derived columns after the data columns
    grid.headers.append(header)
    grid.notes.append(notes.delta_column_note(header, headers[column], label(RowKey.parse(over)), paper_over))


def _group_of(row_groups: dict[str, list[str]]) -> dict[str, str]:
    """Variant -> its group; a variant in two groups is an error naming both."""
    group_of: dict[str, str] = {}
    for name, variants in row_groups.items():
        for variant in map(str, variants):
            if variant in group_of:
                raise ValueError(f"config key row_groups: variant {variant!r} is in {group_of[variant]!r} and {name!r}")
            group_of[variant] = str(name)
    return group_of


def group_rows(grid: Grid, row_groups: dict[str, list[str]], compare: dict[str, str]) -> None:
    """Gather each section's rows of a group (``row_groups``: heading -> variants) under a heading
    row, at the place of the group's first row; rows of no group stay where they are. Our rows and
    Δ rows belong to their variant's group, the paper's rows to that of the row they are compared
    with (``compare``: our row key -> reported row name)."""
    group_of = _group_of(row_groups)
    ours_of: dict[str, str] = {}
    for ours, theirs in compare.items():
        ours_of.setdefault(theirs, ours)

    def group(row: Row) -> str | None:
        key = ours_of.get(row.key) if row.kind == "paper" else row.key if row.kind in ("ours", "delta") else None
        return group_of.get(parse_row_key(key)[1]) if key else None

    width = len(grid.headers)
    for index, section in enumerate(grid.sections):
        arranged, done = [], set()
        for row in section:
            name = group(row)
            if name is None:
                arranged.append(row)
            elif name not in done:
                done.add(name)
                arranged.append(Row(Cell(name), [Cell("") for _ in range(width)], heading=True))
                arranged += [r for r in section if group(r) == name]
        grid.sections[index] = arranged
