"""Prompt-XRE's tables as paper.yaml and the presets configure them: Table VI's Δ column, Table V's
headings over the templates, the Δ of an average over the same columns on both sides, no verdict
where the data are not the paper's (the demo), and Type 1 fonts only in the LaTeX. Fake metrics only."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from xlie.pipeline.config import resolve
from xlie.report import arrange
from xlie.report.compose import compose_table, table_options
from xlie.report.grid import build_grid, cell_summary
from xlie.report.jobs import render_table
from xlie.report.model import MARK_AT_BASELINE, MARK_COPIED, MARK_DEGENERATE, Cell, Grid, Layout, Row
from xlie.report.notes import ORIENTATION_NOTE
from xlie.report.render import render_grid_latex, write_latex_document
from xlie.report.reported import Reported

REPO = Path(__file__).resolve().parents[1]
REPORTED = REPO / "src" / "xlie" / "papers" / "prompt_xre" / "reported.tsv"
LANGS = ["en", "zh", "ar"]
TEMPLATES = ["none", *(str(i) for i in range(1, 10))]
MINUS = "\u2212"


@pytest.fixture(scope="module")
def configs() -> dict[str, dict]:
    return {
        preset: resolve({"preset": preset}, REPO / "workflow" / "presets", REPO / "workflow/schemas/config.schema.yaml")
        for preset in ("paper", "demo")
    }


def _score(variant: str) -> float:
    """Test accuracy of a variant in every cell: the baseline 0.50, template i 0.60 + i/100."""
    return 0.50 if variant == "none" else 0.60 + int(variant) / 100


def _metrics(table: str, task: str, variants, pairs) -> pd.DataFrame:
    rows = []
    for variant in variants:
        for source, target in pairs:
            rows.append(
                {"paper": "prompt_xre", "table": table, "task": task, "model": "mbart", "method": "prompt"}
                | {"variant": variant, "source": source, "target": target, "seed": 222}
                | {"metric": "accuracy", "value": _score(variant), "primary": True}
                | {"floor_baseline": 0.05, "dev_score": 0.5}
            )
    return pd.DataFrame(rows)


def _compose(config: dict, table: str, tmp_path: Path, variants=None, render=False):
    config = copy.deepcopy(config)
    table_cfg = config["papers"]["prompt_xre"]["tables"][table]
    table_cfg["reported"]["file"] = str(REPO / table_cfg["reported"]["file"])  # wherever pytest runs
    variants = variants or table_cfg["variants"]["prompt"]
    pairs = [("zh", "zh")] if table == "wmt_xre" else [(s, t) for s in LANGS for t in LANGS]
    csv = tmp_path / f"{table}.csv"
    _metrics(table, table_cfg["task"], variants, pairs).to_csv(csv, index=False)
    options = table_options(config, "prompt_xre", table)
    if render:
        tex, html = tmp_path / f"{table}.tex", tmp_path / f"{table}.html"
        render_table(options, str(csv), paper="prompt_xre", table=table, tex=str(tex), html=str(html))
        return tex.read_text(), html.read_text()
    return compose_table(options, str(csv), paper="prompt_xre", table=table)


def _labels(section: list[Row]) -> list[str]:
    return [("# " if row.heading else "") + row.header.text for row in section]


def test_table_vi_has_the_papers_delta_column(configs, tmp_path):
    composed = _compose(configs["paper"], "wmt_xre", tmp_path)
    main = composed.floats[0]
    grid = main.grid
    assert grid.headers == ["WMT17 En-Zh", "\u0394"]
    ours, paper, deltas, _baseline = grid.sections
    # Ours: each template minus our mBART (0.60 + i/100 against 0.50).
    assert [(r.header.text, r.cells[1].text) for r in ours[:3]] == [
        ("mBART", "--"),
        ("Prompt_1", "+11.0"),
        ("Prompt_3", "+13.0"),
    ]
    # The paper's rows minus the paper's mBART: its printed Δ column, +17.5 ... +17.4.
    printed = ["--", "+17.5", "+17.7", "+18.3", "+17.7", "+18.1", "+17.4"]
    assert [r.cells[1].text for r in paper] == printed and all(r.cells[1].italic for r in paper)
    assert all(r.cells[1].text == "" for r in deltas)  # ours minus the paper: no Δ of Δs
    assert (
        "\u0394 column: each of our rows' WMT17 En-Zh minus mBART's, each of the paper's rows minus its mBART."
        in main.caption
    )
    assert "Avg:" not in main.caption  # one data column: no average
    tex, html = _compose(configs["paper"], "wmt_xre", tmp_path, render=True)
    assert r"WMT17 En-Zh & $\Delta$ \\" in tex and "<th>\u0394</th>" in html


def test_delta_column_over_a_row_the_table_lacks_fails_naming_the_key(tmp_path):
    frame = _metrics("t", "wmt_xre", ["none", "1"], [("zh", "zh")])
    with pytest.raises(ValueError, match="config key delta_column: over 'prompt\\[5\\]/mbart'"):
        build_grid(cell_summary(frame, "prompt_xre", "t"), delta_column={"over": "prompt[5]/mbart"})
    with pytest.raises(ValueError, match="delta_column: column 'avg'"):
        build_grid(cell_summary(frame, "prompt_xre", "t"), delta_column={"over": "prompt[none]/mbart", "column": "avg"})


def test_table_v_groups_the_templates_under_the_papers_headings(configs, tmp_path):
    grid = _compose(configs["paper"], "ace05_templates", tmp_path).floats[0].grid
    soft, hard, hybrid = (
        ["Prompt_1", "Prompt_2", "Prompt_3", "Prompt_4"],
        ["Prompt_5", "Prompt_6"],
        ["Prompt_7", "Prompt_8", "Prompt_9"],
    )
    grouped = ["mBART", "# Soft prompts", *soft, "# Hard prompts", *hard, "# Hard-soft prompts", *hybrid]
    ours, paper, deltas = grid.sections[:3]
    assert _labels(ours) == grouped and _labels(paper) == grouped  # the paper's rows by the row they compare with
    assert _labels(deltas)[:3] == [f"\u0394 mBART {MINUS} mBART", "# Soft prompts", f"\u0394 Prompt_1 {MINUS} Prompt_1"]
    heading = ours[1]
    assert heading.heading and len(heading.cells) == len(grid.headers) and all(c.text == "" for c in heading.cells)
    assert "Soft prompts" not in grid.frame().index  # a heading has no cells
    assert not any(h.startswith("Soft") for h in grid.transposed("Language").headers)
    tex, html = _compose(configs["paper"], "ace05_templates", tmp_path, render=True)
    assert re.search(r"\\multicolumn\{\d+\}\{l\}\{\\textit\{Hard-soft prompts\}\} \\\\", tex)
    assert '<th class="rowhead heading" colspan="11">Soft prompts</th>' in html
    # The demo's templates 1 and 7: a group without a row of ours has no heading among ours.
    demo = _compose(configs["demo"], "ace05_templates", tmp_path, variants=["none", "1", "7"]).floats[0].grid
    assert _labels(demo.sections[0]) == ["mBART", "# Soft prompts", "Prompt_1", "# Hard-soft prompts", "Prompt_7"]
    with pytest.raises(ValueError, match="variant '1' is in 'A' and 'B'"):
        arrange.group_rows(Grid("c", ["x"], [[]]), {"A": ["1"], "B": ["1", "2"]}, {})


def test_the_delta_of_an_average_averages_the_same_columns_on_both_sides(configs, tmp_path):
    reported = pd.read_csv(REPORTED, sep="\t")
    table_v = reported[reported["table"] == "ace05_templates"].pivot(index="row", columns="column", values="value")
    composed = _compose(configs["paper"], "ace05_templates", tmp_path)
    deltas = {r.header.text: r.cells[-1].text for r in composed.floats[0].grid.sections[2] if not r.heading}
    # mBART: the paper's printed 58.6 averages its six cross-lingual cells, ours all nine: the Δ
    # subtracts the mean of its nine cells (63.4), not 58.6 (which would add about 4.8 points).
    nine = table_v.loc["mBART"].drop("avg").mean()
    assert round(nine - 58.6, 1) == 4.8
    assert deltas[f"\u0394 mBART {MINUS} mBART"] == f"{50.0 - nine:+.1f}".replace("-", MINUS) == f"{MINUS}13.4"
    # Prompt_1's printed 68.7 is the mean of its nine cells: subtracted as printed.
    assert deltas[f"\u0394 Prompt_1 {MINUS} Prompt_1"] == f"{61.0 - 68.7:+.1f}".replace("-", MINUS)
    # Prompt_2's printed 70.8 is its mean truncated (70.87): the mean, so the Δ is of one average.
    assert deltas[
        f"\u0394 Prompt_2 {MINUS} Prompt_2"
    ] == f"{62.0 - table_v.loc['Prompt_2'].drop('avg').mean():+.1f}".replace("-", MINUS)
    assert "printed average is marked * (Avg of mBART, Prompt_2, Prompt_7, Prompt_8)" in composed.floats[0].caption
    # Table IV: the printed 69.0 is not the mean of the paper's six cells (68.48): Δ Avg against 68.48.
    table_iv = _compose(configs["paper"], "ace05_crosslingual", tmp_path).floats[0].grid
    oracle = next(r for r in table_iv.sections[2] if "(oracle)" in r.header.text)
    cells = reported[(reported["table"] == "ace05_crosslingual") & (reported["row"] == "mBART+prompt")]
    six = cells[cells["column"] != "avg"]["value"].mean()
    assert round(six, 2) == 68.48 and oracle.cells[-1].text == f"{69.0 - six:+.1f}" == "+0.5"


def test_printed_average_without_its_cells_is_the_delta_base():
    """A paper that prints an average but not all of its cells: nothing shows it covers other columns."""
    frame = _metrics("t", "ace05", ["none"], [("en", "en"), ("en", "zh"), ("en", "ar")])
    rep = pd.DataFrame(
        {"row": ["P"] * 3 + ["Q"] * 4, "column": ["en", "zh", "avg", "en", "zh", "ar", "avg"], "source": "Table X"}
        | {"value": [40.0, 60.0, 70.0, 40.0, 60.0, 80.0, 70.0]}
    )
    layout = Layout(exclude_source=False, group_averages=False)
    grid = build_grid(
        cell_summary(frame, "prompt_xre", "t"), layout=layout, reported=Reported(rep, {"prompt[none]/mbart": "P"})
    )
    assert grid.sections[-1][0].cells[-1].text == f"{MINUS}20.0"  # 50 - 70 printed, ar unknown
    grid = build_grid(
        cell_summary(frame, "prompt_xre", "t"), layout=layout, reported=Reported(rep, {"prompt[none]/mbart": "Q"})
    )
    assert grid.sections[-1][0].cells[-1].text == f"{MINUS}10.0"  # 50 - 60, the mean of Q's cells, not 70


def test_the_demo_shows_the_papers_numbers_without_delta_rows_or_verdict(configs, tmp_path):
    for table, variants in (("ace05_monolingual", ["none", "1", "7"]), ("wmt_xre", ["none", "7"])):
        composed = _compose(configs["demo"], table, tmp_path, variants=variants)
        main = composed.floats[0]
        kinds = {r.kind for r in main.grid.rows()}
        assert "paper" in kinds and "delta" not in kinds, table
        assert composed.verdicts is None and len(composed.floats) == 1
        assert ORIENTATION_NOTE in main.caption and "Reproduction verdict" not in main.caption
    render_table_dir = tmp_path / "render"
    render_table_dir.mkdir()
    tex, _ = _compose(configs["demo"], "ace05_crosslingual", render_table_dir, variants=["none", "1", "7"], render=True)
    assert "for orientation only" in tex and not list(render_table_dir.glob("*.verdict.csv"))
    # On the paper's data (the paper preset) the same table has both.
    composed = _compose(configs["paper"], "ace05_monolingual", tmp_path)
    assert composed.verdicts is not None and any(r.kind == "delta" for r in composed.floats[0].grid.rows())


@pytest.mark.skipif(not (shutil.which("pdflatex") and shutil.which("pdffonts")), reason="needs pdflatex and pdffonts")
def test_tables_embed_type1_fonts_only_with_and_without_lmodern(tmp_path):
    rows = [
        Row(
            Cell("GATE", italic=True, marks=MARK_COPIED),
            [Cell("1.0", marks=MARK_DEGENERATE), Cell("2.0", marks=MARK_AT_BASELINE + "*")],
        ),
        Row(Cell("Soft prompts"), [Cell(""), Cell("")], heading=True),
        Row(Cell("\u0394 Prompt_1 \u2212 Prompt_1"), [Cell("\u22121.0"), Cell("+0.5\u00b10.1", bold=True)]),
    ]
    caption = f"Marks {MARK_COPIED} {MARK_DEGENERATE} {MARK_AT_BASELINE} * in a caption, \u0394 and \u00b1."
    for name, font_pt in (("n", 10), ("s", 8)):  # superscripts at 7 and 5-6 pt
        layout = Layout(orientation="columns", width_pt=345 if font_pt == 10 else 60)
        tex = render_grid_latex(Grid("Method", ["A", "B"], [rows]), caption=caption, label=f"tab:{name}", layout=layout)
        (tmp_path / f"{name}.tex").write_text(tex)
    document = write_latex_document([(tmp_path / f"{n}.tex").read_text() for n in ("n", "s")], tmp_path / "with.tex")
    text = document.read_text()
    assert r"\IfFileExists{lmodern.sty}" in text
    # Without lmodern (Debian's texlive-latex-recommended alone): the fallback, OT1 Computer Modern.
    (tmp_path / "without.tex").write_text(
        text.replace(r"\IfFileExists{lmodern.sty}", r"\IfFileExists{xlie-absent.sty}")
    )
    for name in ("with", "without"):
        proc = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
            check=False,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout[-2000:]
        fonts = subprocess.run(
            ["pdffonts", f"{name}.pdf"], check=True, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert "Type 1" in fonts.stdout and "Type 3" not in fonts.stdout, (name, fonts.stdout)


def test_a_delta_column_over_a_variant_the_table_leaves_out_fails_at_plan_time():
    """Before any job: the render would fail only after every training of the table."""
    from xlie.pipeline.config import ConfigError
    from xlie.pipeline.grid import build_cells

    repo = Path(__file__).resolve().parents[1]

    def cells(wmt_xre: dict):
        user = {"papers": {"prompt_xre": {"tables": {"wmt_xre": wmt_xre}}}}
        return build_cells(
            resolve(user, repo / "workflow" / "presets", repo / "workflow" / "schemas" / "config.schema.yaml")
        )

    with pytest.raises(ConfigError, match=r"tables\.wmt_xre\.delta_column\.over: 'prompt\[none\]/mbart'"):
        cells({"variants": {"prompt": ["7"]}})
    assert not cells({"variants": {"prompt": ["7"]}, "delta_column": None}).empty
