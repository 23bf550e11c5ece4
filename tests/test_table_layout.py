"""The table layout engine: source->target grids beside the paper's numbers, paper-scale fitting."""

import shutil
import subprocess

import pandas as pd
import pytest

from xlie.report.fit import fit_grid, height_pt, oriented, pages
from xlie.report.grid import build_grid, cell_summary
from xlie.report.model import MARK_PRINTED_AVG, Layout
from xlie.report.render import render_grid_html, render_grid_latex, write_latex_document
from xlie.report.reported import Reported, read_reported

LANGS = ["ar", "en", "zh"]
# Prompt-XRE Table IV's mBART+prompt row: the printed Avg 69.0 is not its row mean (68.5).
PAPER_PROMPT = {"en-zh": 77.2, "en-ar": 67.5, "zh-en": 69.4, "zh-ar": 63.6, "ar-en": 65.9, "ar-zh": 67.3, "avg": 69.0}
PAPER_MBART = {"en-zh": 70.0, "en-ar": 60.0, "zh-en": 65.0, "zh-ar": 55.0, "ar-en": 60.0, "ar-zh": 62.0, "avg": 62.0}


def _value(method, source, target, seed):
    base = 0.8 if source == target else 0.6
    return base + (0.05 if method == "prompt" else 0) + 0.01 * LANGS.index(target) + 0.002 * seed


@pytest.fixture
def grid_metrics():
    rows = []
    for method in ("finetune", "prompt"):
        for source in LANGS:
            for target in LANGS:
                for seed in (1, 2, 3):
                    rows.append(
                        dict(
                            paper="px",
                            table="cross",
                            task="re",
                            model="mbart",
                            method=method,
                            source=source,
                            target=target,
                            seed=seed,
                            metric="accuracy",
                            value=_value(method, source, target, seed),
                            primary=True,
                            floor_baseline=0.3,
                        )
                    )
    return pd.DataFrame(rows)


@pytest.fixture
def reported_tsv(tmp_path):
    lines = ["paper\ttable\trow\tcolumn\tvalue\tsource"]
    for row, values in (("mBART", PAPER_MBART), ("mBART+prompt", PAPER_PROMPT)):
        for column, value in values.items():
            lines.append(f"px\tcross\t{row}\t{column}\t{value}\tTable IV of the Prompt-XRE paper")
    lines.append("px\tother\tmBART\ten-zh\t1.0\telsewhere")
    path = tmp_path / "px.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_source_target_grid_with_reported_rows(grid_metrics, reported_tsv, tmp_path):
    reported = Reported(
        read_reported(reported_tsv, "px", "cross"), compare={"prompt/mbart": "mBART+prompt", "finetune/mbart": "mBART"}
    )
    layout = Layout(columns="pair")
    display = {"methods": {"finetune": "Fine-tune", "prompt": "Prompt"}, "models": {"mbart": "mBART"}}
    grid = build_grid(cell_summary(grid_metrics, "px", "cross"), layout=layout, reported=reported, display=display)
    assert grid.headers == ["Ar-Ar", "En-En", "Zh-Zh", "Ar-En", "Ar-Zh", "En-Ar", "En-Zh", "Zh-Ar", "Zh-En", "Avg"]
    frame = grid.frame()
    assert list(frame.index) == [
        "Fine-tune / mBART",
        "Prompt / mBART",
        "mBART",
        "mBART+prompt",
        "\u0394 Fine-tune / mBART \u2212 mBART",
        "\u0394 Prompt / mBART \u2212 mBART+prompt",
    ]
    # Averages leave out the monolingual (source = target) pairs of a zero-shot table.
    cross = [(s, t) for s in LANGS for t in LANGS if s != t]
    ours = sum(_value("prompt", s, t, 2) * 100 for s, t in cross) / 6  # seed 2 is the mean of 1, 2, 3
    assert frame.at["Prompt / mBART", "Avg"] == f"{ours:.1f}"
    assert frame.at["Prompt / mBART", "En-Zh"] == f"{_value('prompt', 'en', 'zh', 2) * 100:.1f}\u00b10.2"
    # The paper's row: its printed numbers, monolingual cells missing, the printed Avg marked.
    assert frame.at["mBART+prompt", "En-Zh"] == "77.2" and frame.at["mBART+prompt", "Ar-Ar"] == "--"
    assert frame.at["mBART+prompt", "Avg"] == "69.0"
    avg_cell = grid.sections[1][1].cells[-1]
    assert avg_cell.marks == MARK_PRINTED_AVG and avg_cell.italic
    assert any("prints Avg 69.0 for mBART+prompt; the mean of its printed row is 68.5" in n for n in grid.notes)
    assert not any("for mBART;" in n for n in grid.notes)  # 62.0 is its row mean
    # Differences: ours minus paper per cell, and our average minus the printed one.
    diff = _value("prompt", "en", "zh", 2) * 100 - 77.2
    assert frame.at["\u0394 Prompt / mBART \u2212 mBART+prompt", "En-Zh"] == f"{diff:+.1f}".replace("-", "\u2212")
    assert frame.at["\u0394 Prompt / mBART \u2212 mBART+prompt", "Ar-Ar"] == "--"
    # Best per column in bold: the prompt row everywhere.
    assert all(c.bold for c in grid.sections[0][1].cells) and not any(c.bold for c in grid.sections[0][0].cells)

    tex = render_grid_latex(grid, caption="Cross-lingual.", label="tab:px", layout=layout)
    assert r"\textit{mBART+prompt}" in tex and r"\textit{69.0}\textsuperscript{*}" in tex
    assert r"$\Delta$ Prompt / mBART $-$ mBART+prompt" in tex
    html = render_grid_html(grid, caption="Cross-lingual.")
    assert '<td class="ref ">69.0<sup>*</sup></td>' in html and 'class="best"' in html
    if shutil.which("pdflatex"):
        doc = write_latex_document([tex], tmp_path / "doc.tex")
        proc = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout[-3000:]


def test_monolingual_table_averages_every_column(grid_metrics):
    mono = grid_metrics[grid_metrics["source"] == grid_metrics["target"]]
    grid = build_grid(cell_summary(mono, "px", "cross"), layout=Layout(columns="pair"))
    assert grid.headers == ["Ar-Ar", "En-En", "Zh-Zh", "Avg"]
    assert grid.frame().iloc[0]["Avg"] != "--"


def test_reported_file_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("paper\ttable\trow\tcolumn\tvalue\tsource\npx\tt\tr\ten\t8x.1\tpaper\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.tsv:2: value '8x.1' is not a number"):
        read_reported(path, "px", "t")
    path.write_text("paper\trow\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.tsv:1: header must be"):
        read_reported(path, "px", "t")


def test_transposed_layout(grid_metrics):
    grid = build_grid(cell_summary(grid_metrics, "px", "cross"), layout=Layout(columns="pair"))
    tex = render_grid_latex(grid, caption="c", label="t", layout=Layout(columns="pair", orientation="transposed"))
    assert r"Language & \begin{tabular}[b]{@{}r@{}}finetune / \\ mbart\end{tabular}" in tex
    assert "\nAr-En & " in tex


def test_fit_prefers_fewest_blocks_then_largest_font(grid_metrics):
    grid = build_grid(cell_summary(grid_metrics, "px", "cross"), layout=Layout(columns="pair"))
    wide = fit_grid(grid, width_pt=2000)
    assert wide.font_pt == 10 and len(wide.blocks) == 1
    narrow = fit_grid(grid, width_pt=345)
    assert narrow.font_pt >= 8 and sum(len(b) for b in narrow.blocks) == len(grid.headers)


def _paper_config():
    from pathlib import Path

    import yaml

    from xlie.pipeline.config import resolve

    repo = Path(__file__).resolve().parents[1]
    config = resolve({"preset": "paper"}, repo / "workflow/presets", repo / "workflow/schemas/config.schema.yaml")
    assert yaml.safe_dump(config)  # schema defaults filled in, as the workflow has them
    return config


def test_paper_scale_table_stays_readable(tmp_path):
    """The paper preset's largest table (48 languages x 5 seeds) fits its width at >= 8 pt."""
    from xlie.report.compose import family_groups
    from xlie.report.fit import FONT_COMMANDS, column_widths_em

    config = _paper_config()
    paper = config["papers"]["topro"]
    name, table = max(
        paper["tables"].items(), key=lambda kv: len(kv[1]["targets"]) * len(kv[1]["models"]) * len(kv[1]["methods"])
    )
    assert len(table["targets"]) == 48
    rows = []
    for i, model in enumerate(table["models"]):
        for j, method in enumerate(table["methods"]):
            for k, target in enumerate(table["targets"]):
                for seed in paper["seeds"]:
                    rows.append(
                        dict(
                            paper="topro",
                            table=name,
                            task=table["task"],
                            model=model,
                            method=method,
                            source="en",
                            target=target,
                            seed=seed,
                            metric="f1",
                            value=0.5 + 0.01 * i + 0.02 * j + 0.004 * k + seed % 7 / 1000,
                            primary=True,
                            floor_baseline=0.0,
                        )
                    )
    metrics = pd.DataFrame(rows)
    layout = Layout.from_config(table.get("layout"))
    groups = family_groups(metrics)
    display = config["display"]
    options = dict(
        layout=layout, groups=groups, display=display, model_order=table["models"], method_order=table["methods"]
    )
    across = build_grid(cell_summary(metrics, "topro", name), **options)
    # Languages across, in one line, the table is ~2,950 pt wide: \resizebox would shrink it to ~1.2 pt text.
    assert fit_grid(across, layout.width_pt).natural_width_pt > 8 * layout.width_pt
    grid, fit = oriented(across, layout)
    assert len(pages(grid, fit, layout.height_pt)) == 1
    assert height_pt(grid, fit) <= layout.height_pt  # one page: languages down, methods across
    assert grid.corner == "Language" and len(grid.headers) == 6
    assert fit.font_pt in FONT_COMMANDS and fit.font_pt >= 8
    header_em, widths_em = column_widths_em(grid)
    for block in fit.blocks:
        assert fit.block_width_pt(header_em, widths_em, block) <= layout.width_pt
    assert sorted(j for b in fit.blocks for j in b) == list(range(len(grid.headers)))
    tex = render_grid_latex(across, caption="Paper scale.", label="tab:big", layout=layout)
    assert r"\resizebox" not in tex and FONT_COMMANDS[fit.font_pt] in tex
    assert tex.count(r"\begin{tabular}{") == len(fit.blocks)  # nested [b] tabulars are the broken headers
    assert r"Vanilla / \\ mBERT" in tex and r"ToPro / \\ XLM-R" in tex
    if shutil.which("pdflatex"):
        doc = write_latex_document([tex], tmp_path / "big.tex")
        proc = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout[-3000:]
        log = (tmp_path / "big.log").read_text(errors="replace")
        assert "Overfull \\hbox" not in log, log[-3000:]


def test_paper_scale_plot_is_faceted(tmp_path):
    """48 languages x 6 rows: stacked panels, each figure at most 10 inches wide."""
    from PIL import Image

    from xlie.report.plots import MAX_WIDTH_IN, PlotSettings, panels_for, plot_per_language

    targets = [f"l{i:02d}" for i in range(48)]
    rows = [
        dict(
            paper="p",
            table="t",
            task="panx",
            model=model,
            method=method,
            source="en",
            target=t,
            seed=s,
            metric="f1",
            value=0.5 + 0.001 * i,
            primary=True,
            floor_baseline=0.1,
        )
        for model in ("mbert", "xlmr")
        for method in ("vanilla", "topro", "pt")
        for i, t in enumerate(targets)
        for s in (1, 2)
    ]
    png = tmp_path / "p.png"
    plot_per_language(pd.DataFrame(rows), PlotSettings("p", "t", "Paper scale", png, tmp_path / "p.pdf"))
    assert panels_for(48, 6) > 1
    width_px, _ = Image.open(png).size
    assert width_px <= (MAX_WIDTH_IN + 0.5) * 150  # dpi 150; tight bbox may add a margin


def test_a_table_taller_than_a_page_continues_in_further_floats(grid_metrics):
    grid = build_grid(cell_summary(grid_metrics, "px", "cross"), layout=Layout(columns="pair"))
    layout = Layout(columns="pair", orientation="transposed", height_pt=80)
    down, fit = oriented(grid, layout)
    parts = pages(down, fit, layout.height_pt)
    assert len(parts) > 1 and sum(len(s) for g, _ in parts for s in g.sections) == 10  # 9 pairs + Avg
    tex = render_grid_latex(grid, caption="Tall.", label="tab:tall", layout=layout)
    assert tex.count(r"\begin{table}") == len(parts) and tex.count(r"\caption{") == 1
    assert r"\textit{Table~\ref{tab:tall}, continued.}" in tex
