"""Fitting a grid to the page: its orientation, font size, blocks of columns and floats.

Wide grids are split into blocks of columns at the largest font (10, 9 or 8 pt) that keeps the
number of blocks smallest, instead of shrinking the whole table with ``\\resizebox``; a table
taller than a page continues in further floats. Widths are measured with Computer Modern's
metrics before LaTeX sets the table.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from xlie.report.model import PLUS_MINUS, Cell, Grid, Layout

# Font sizes of the standard 10pt classes: \normalsize, \small, \footnotesize (never below 8 pt).
FONT_COMMANDS = {10.0: r"\normalsize", 9.0: r"\small", 8.0: r"\footnotesize"}
TABCOLSEP_PT = 6.0
# Smaller design sizes are relatively wider (cmr8 digits 0.531 em, cmr9 0.514 em, cmr10 0.5 em).
DESIGN_SIZE_WIDTH = {10.0: 1.0, 9.0: 1.028, 8.0: 1.062}
SAFETY = 0.97  # leave 3% of the width for what the estimate misses (kerning, rule widths)


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


def _text_width_em(cell: Cell) -> float:
    widest = max(_roman_width_em(line) for line in cell.text.split("\n"))
    return widest * (1.15 if cell.bold else 1.0) + 0.4 * len(cell.marks)  # marks are superscripts


def column_widths_em(grid: Grid) -> tuple[float, list[float]]:
    """(row-header width, data column widths) in em."""
    rows = grid.rows()
    # A group heading spans the table: it widens no column.
    header_w = max([_text_width_em(Cell(grid.corner))] + [_text_width_em(r.header) for r in rows if not r.heading])
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


def block_grid(grid: Grid, columns: list[int]) -> Grid:
    """The grid restricted to some data columns (one block)."""
    sections = [[replace(r, cells=[r.cells[j] for j in columns]) for r in s] for s in grid.sections]
    return replace(grid, headers=[grid.headers[j] for j in columns], sections=sections)


def height_pt(grid: Grid, fit: Fit) -> float:
    """Estimated height of the tabulars: rows at 1.2 x the font size, rules and gaps between blocks."""
    rows = 1 + len(grid.rows())
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
        return [(grid, fit.blocks[i : i + per]) for i in range(0, len(fit.blocks), per)]
    n_blocks, n_sections = len(fit.blocks), len(grid.sections)
    per_block = (max_height_pt - 10 * (n_blocks - 1)) / n_blocks - 4 * (n_sections + 2)
    rows_per_page = max(1, int(per_block // (1.2 * fit.font_pt)) - 1)  # less the header row
    tagged = [(k, row) for k, section in enumerate(grid.sections) for row in section]
    out = []
    for start in range(0, len(tagged), rows_per_page):
        chunk = tagged[start : start + rows_per_page]
        sections = [[row for k, row in chunk if k == key] for key in dict.fromkeys(k for k, _ in chunk)]
        out.append((replace(grid, sections=sections), fit.blocks))
    return out
