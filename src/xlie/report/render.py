"""Drawing a grid: LaTeX (booktabs floats, fitted to the page by ``xlie.report.fit``) and HTML
fragments styled alike, captions, and the documents that hold them."""

from __future__ import annotations

import functools
import re
from html import escape
from pathlib import Path

import jinja2

from xlie.report.fit import block_grid, oriented, pages
from xlie.report.model import (
    MARK_AT_BASELINE,
    MARK_COPIED,
    MARK_DEGENERATE,
    MARK_PRINTED_AVG,
    PLUS_MINUS,
    Cell,
    Grid,
    Layout,
)

DEMO_PREFIX = "DEMO (tiny random-init models on small samples; not comparable to the papers):"

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    PLUS_MINUS: r"$\pm$",
    "\u2212": "$-$",
    "\u0394": r"$\Delta$",
    "\u2192": r"$\to$",
    # Marks in math mode: the text-mode \dag, \ddag and \S come from the TS1 companion font,
    # which without lmodern or cm-super is a Type 3 bitmap; the math symbols are Type 1 anywhere.
    MARK_DEGENERATE: r"$^{\dagger}$",
    MARK_AT_BASELINE: r"$^{\ddagger}$",
    MARK_COPIED: r"$^{\S}$",
    **{c: "\\" + c for c in "&%$#_{}"},
}
# One pass over the text, so the braces introduced by \textbackslash{} are never re-escaped.
_LATEX_RE = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIALS))
_BAD_LABEL = re.compile(r"[\\{}%#&~^$\s]")


def latex_escape(text: str) -> str:
    """Escape the LaTeX specials ``\\ & % $ # _ { } ~ ^`` (and ``±`` -> ``$\\pm$``, marks)."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIALS[m.group(0)], str(text))


@functools.cache
def latex_environment() -> jinja2.Environment:
    """The single Jinja2 environment for LaTeX templates (built once)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("xlie.report", "templates"),
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
        loader=jinja2.PackageLoader("xlie.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def caption_with_notes(caption: str, notes: list[str], demo: bool) -> str:
    """The caption, the demo's warning first, each note a sentence after it."""
    text = caption.strip()
    if demo:
        text = f"{DEMO_PREFIX} {text}"
    for note in notes:
        if text and not text.endswith((".", "!", "?")):
            text += "."
        text = f"{text} {note}"
    return text


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
        text += "".join(r"\textsuperscript{*}" if m == MARK_PRINTED_AVG else latex_escape(m) for m in cell.marks)
    return text


def _latex_block(grid: Grid, columns: list[int]) -> dict:
    block = block_grid(grid, columns)
    return {
        "colspec": "l" + "r" * len(columns),
        "corner": latex_escape(block.corner),
        "headers": [_latex_header(h) for h in block.headers],
        "sections": [
            [
                {"header": _latex_cell(r.header), "cells": [_latex_cell(c) for c in r.cells], "heading": r.heading}
                for r in s
            ]
            for s in block.sections
        ],
        "width": 1 + len(columns),
    }


def render_grid_latex(grid: Grid, *, caption: str, label: str, layout: Layout = Layout()) -> str:
    """Booktabs floats of a grid sized to fit ``layout.width_pt`` (blocks of columns, then floats)."""
    if _BAD_LABEL.search(label):
        raise ValueError(f"label {label!r} must not contain spaces or LaTeX specials")
    grid, fit = oriented(grid, layout)
    template = latex_environment().get_template("results_table.tex.j2")
    floats = [
        template.render(
            float_env=layout.float_env,
            caption=latex_escape(caption),
            label=label,
            continued=number > 0,
            font=fit.font_command,
            font_pt=fit.font_pt,
            tabcolsep=f"{fit.tabcolsep_pt:g}pt",
            blocks=[_latex_block(part, columns) for columns in block_columns],
        )
        for number, (part, block_columns) in enumerate(pages(grid, fit, layout.height_pt))
    ]
    return "\n\n".join(f.rstrip("\n") for f in floats) + "\n"


def render_grid_html(grid: Grid, *, caption: str, layout: Layout = Layout()) -> str:
    """An HTML fragment styled like the LaTeX table (see templates/results_table.html.j2)."""
    if layout.orientation == "transposed":
        grid = grid.transposed("Language")
    return html_environment().get_template("results_table.html.j2").render(grid=grid, caption=caption)


HTML_STYLE = """
body { font-family: "Latin Modern Roman", "CMU Serif", Georgia, serif; margin: 1.5em; }
figure.xlie-table { margin: 0 0 2em 0; }
figure.xlie-table figcaption { max-width: 60em; margin-bottom: .6em; line-height: 1.35; }
figure.xlie-table table { border-collapse: collapse; border-top: 2px solid #000; border-bottom: 2px solid #000;
  font-variant-numeric: tabular-nums; }
figure.xlie-table thead th { border-bottom: 1px solid #000; padding: .25em .6em; text-align: right; font-weight: normal; }
figure.xlie-table tbody + tbody { border-top: 1px solid #000; }
figure.xlie-table th.rowhead { text-align: left; font-weight: normal; white-space: nowrap; }
figure.xlie-table th.heading { text-align: left; font-weight: normal; font-style: italic; padding-top: .35em; }
figure.xlie-table td { text-align: right; padding: .15em .6em; white-space: nowrap; }
figure.xlie-table .ref { font-style: italic; }
figure.xlie-table .best { font-weight: bold; }
"""


def html_page(title: str, fragments: list[str]) -> str:
    """A standalone HTML page holding table fragments (for the report)."""
    body = "\n".join(fragments)
    head = f"<meta charset='utf-8'><title>{escape(title)}</title><style>{HTML_STYLE}</style>"
    return f"<!doctype html><html><head>{head}</head><body>\n{body}\n</body></html>\n"


LATEX_PREAMBLE = (
    "\\documentclass{article}\n"
    # Scalable Type 1 fonts only: T1 without lmodern makes pdflatex embed Type 3 bitmaps, which
    # venues' PDF checks reject; without lmodern installed, OT1 Computer Modern is Type 1 too (and
    # the marks are math symbols: the text ones would come from a bitmap TS1 font).
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
