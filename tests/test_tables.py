import shutil
import statistics
import subprocess

import pandas as pd
import pytest

from xlie.report.grid import build_grid, cell_summary
from xlie.report.notes import reference_note
from xlie.report.plots import PlotSettings, plot_per_language
from xlie.report.render import DEMO_PREFIX, caption_with_notes, latex_escape, render_grid_latex, write_latex_document

METHOD = "a_b%&c"
MODELS = ["mbert", "xlmr"]
TARGETS = ["de", "zh_cn", "sw"]
SEEDS = [1, 2]


def _value(model: str, target: str, seed: int) -> float:
    return 0.3 + 0.1 * MODELS.index(model) + 0.05 * TARGETS.index(target) + 0.013 * seed


@pytest.fixture
def metrics() -> pd.DataFrame:
    rows = []
    for model in MODELS:
        for target in TARGETS:
            for seed in SEEDS:
                v = _value(model, target, seed)
                base = dict(
                    paper="p1",
                    table="t1",
                    task="ner",
                    model=model,
                    method=METHOD,
                    source="en",
                    target=target,
                    seed=seed,
                )
                rows.append({**base, "metric": "f1", "value": v, "primary": True})
                rows.append({**base, "metric": "precision", "value": 1.0, "primary": False})
    # A different table must be ignored.
    rows.append(
        dict(
            paper="p1",
            table="t2",
            task="ner",
            model="mbert",
            method=METHOD,
            source="en",
            target="fr",
            seed=1,
            metric="f1",
            value=0.9,
            primary=True,
        )
    )
    return pd.DataFrame(rows)


def _mean(model, target):
    return statistics.mean(_value(model, target, s) * 100 for s in SEEDS)


def _row(model):
    return f"{METHOD} / {model}"


def table_frame(metrics, table="t1", **grid_options):
    """The formatted strings the table shows (index: row headers, columns: headers)."""
    return build_grid(cell_summary(metrics, "p1", table), **grid_options).frame()


def render_table(metrics, *, caption, label, table="t1", demo=False, **grid_options):
    grid = build_grid(cell_summary(metrics, "p1", table), **grid_options)
    return render_grid_latex(grid, caption=caption_with_notes(caption, [], demo), label=label)


def test_latex_escape():
    assert latex_escape(r"a_b%&c $#{}~^\x") == (
        r"a\_b\%\&c \$\#\{\}\textasciitilde{}\textasciicircum{}\textbackslash{}x"
    )


def test_escaping_in_output(metrics):
    tex = render_table(metrics, caption="Cap_1 50%", label="tab:p1_t1")
    assert r"a\_b\%\&c / mbert" in tex
    assert r"zh\_cn" in tex
    assert r"Cap\_1 50\%" in tex
    assert METHOD not in tex
    for leak in (r"\VAR", r"\BLOCK", r"\#{"):
        assert leak not in tex
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert rule in tex
    # Fitted by font size and column blocks, never scaled down as a picture.
    assert r"\resizebox" not in tex and r"\normalsize" in tex
    assert "fr" not in table_frame(metrics).columns


def test_mean_std_and_average(metrics):
    frame = table_frame(metrics)
    assert list(frame.columns) == TARGETS + ["Avg"]
    assert list(frame.index) == [_row(m) for m in MODELS]
    vals = [_value("xlmr", "sw", s) * 100 for s in SEEDS]
    expected = f"{statistics.mean(vals):.1f}\u00b1{statistics.stdev(vals):.1f}"
    assert frame.at[_row("xlmr"), "sw"] == expected
    avg = statistics.mean(_mean("xlmr", t) for t in TARGETS)
    assert frame.at[_row("xlmr"), "Avg"] == f"{avg:.1f}"
    tex = render_table(metrics, caption="c", label="t")
    assert expected.replace("\u00b1", r"$\pm$") in tex

    summ = cell_summary(metrics, "p1", "t1")
    assert list(summ.columns) == ["method", "variant", "model", "source", "target", "mean", "std", "n"]
    assert (summ["n"] == 2).all() and set(summ["variant"]) == {"default"}


def test_missing_cell_and_groups(metrics):
    m = metrics[~((metrics["model"] == "mbert") & (metrics["target"] == "sw"))]
    groups = {"de": "Indo-European", "sw": "other families", "zh_cn": "other families"}
    frame = table_frame(m, groups=groups)
    assert list(frame.columns) == TARGETS + ["Avg", "Avg Indo-European", "Avg other families"]
    mb, xl = _row("mbert"), _row("xlmr")
    assert frame.at[mb, "sw"] == "--"
    assert frame.at[mb, "Avg"] == "--"
    assert frame.at[mb, "Avg other families"] == "--"
    assert frame.at[mb, "Avg Indo-European"] == f"{_mean('mbert', 'de'):.1f}"
    other = statistics.mean([_mean("xlmr", "zh_cn"), _mean("xlmr", "sw")])
    assert frame.at[xl, "Avg other families"] == f"{other:.1f}"


def test_reference_rows(metrics):
    ref = pd.DataFrame(
        {
            "row": ["Paper mBERT"] * 2,
            "target": ["de", "zh_cn"],
            "value": [70.0, 50.0],
            "source_note": "values from Table 2 of the paper",
        }
    )
    frame = table_frame(metrics, reference=ref)
    assert frame.loc["Paper mBERT"].tolist() == ["70.0", "50.0", "--", "--"]
    tex = render_table(metrics, caption="c.", label="t", reference=ref)
    assert r"\textit{Paper mBERT}" in tex
    assert reference_note(ref) == "Italic rows at the bottom: values from Table 2 of the paper."
    assert tex.count(r"\midrule") == 2

    full = ref.iloc[:1].assign(value=60.0)
    full = pd.concat([ref, full.assign(target="sw")])
    frame = table_frame(metrics, reference=full)
    assert frame.at["Paper mBERT", "Avg"] == "60.0"


def test_demo_caption(metrics):
    tex = render_table(metrics, caption="Results.", label="t", demo=True)
    caption = tex.split(r"\caption{", 1)[1]
    assert caption.startswith(DEMO_PREFIX)
    assert DEMO_PREFIX.startswith("DEMO (tiny random-init models on small samples; not comparable to the papers):")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_pdflatex_compiles(metrics, tmp_path):
    ref = pd.DataFrame({"row": ["Paper_ref"], "target": ["de"], "value": [70.0], "source_note": ["x_y 5%"]})
    groups = {"de": "Indo-European", "zh_cn": "other", "sw": "other"}
    fragments = [
        render_table(metrics, caption="Main & more", label="tab:p1_t1", reference=ref, groups=groups, demo=True),
        render_table(metrics, table="t2", caption="Second", label="tab:p1_t2"),
    ]
    doc = write_latex_document(fragments, tmp_path / "doc.tex")
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 0
    if shutil.which("pdffonts"):  # venues' PDF checks reject Type 3 (bitmap) fonts
        fonts = subprocess.run(["pdffonts", "doc.pdf"], cwd=tmp_path, capture_output=True, text=True).stdout
        assert "Type 3" not in fonts, fonts


def test_plot_per_language(metrics, tmp_path):
    png, pdf = tmp_path / "plots" / "p1_t1.png", tmp_path / "plots" / "p1_t1.pdf"
    plot_per_language(metrics, PlotSettings("p1", "t1", "P1 t1", png, pdf, demo=True))
    assert png.stat().st_size > 0 and pdf.stat().st_size > 0
    # Single seed (no error bars) and a missing cell must also plot.
    one = metrics[(metrics["seed"] == 1) & ~((metrics["model"] == "xlmr") & (metrics["target"] == "de"))]
    plot_per_language(one, PlotSettings("p1", "t1", "one seed", png, pdf))
    assert png.stat().st_size > 0 and pdf.stat().st_size > 0


def test_a_paper_adds_a_plot_through_its_hook(tmp_path):
    """ToPro's gain plot is a paper plot (registry hook table_plots): asked for by tables with both
    ToPro and Vanilla rows, made by the generic plot job with its figure and CSV."""
    from xlie.report.compose import extra_plots, table_options
    from xlie.report.jobs import plot_extra

    both = {"task": "panx", "models": ["mbert"], "methods": ["vanilla", "topro"], "caption": "ToPro: PAN-X."}
    tables = {"both": both, "one": {**both, "methods": ["topro"]}}
    config = {"demo": True, "papers": {"topro": {"tables": tables}}}
    plots = extra_plots(config, [("topro", "both"), ("topro", "one")])
    assert list(plots) == [("topro", "both", "gain")]
    rows = []
    for method, value in (("vanilla", 0.5), ("topro", 0.6)):
        for target in ("en", "de", "zh"):
            for seed in (1, 2):
                cell = dict(paper="topro", table="both", task="panx", model="mbert", method=method, source="en")
                rows.append({**cell, "target": target, "seed": seed, "metric": "f1", "value": value, "primary": True})
    csv = tmp_path / "m.csv"
    pd.DataFrame(rows).assign(floor_baseline=0.1).to_csv(csv, index=False)
    stem = tmp_path / "plots" / "topro_both_gain"
    out = {"png": stem.with_suffix(".png"), "pdf": stem.with_suffix(".pdf"), "data": stem.with_suffix(".csv")}
    options = table_options(config, "topro", "both", references=False)
    plot_extra(options, plots[("topro", "both", "gain")], str(csv), paper="topro", table="both", **out)
    assert out["png"].stat().st_size > 0 and out["pdf"].stat().st_size > 0
    gains = pd.read_csv(out["data"])
    assert gains["gain"].round(6).tolist() == [10.0] * 3 and list(gains["group"]) == ["Indo-European"] * 2 + [
        "other families"
    ]
