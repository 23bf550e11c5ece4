"""From cell outputs to what tables say: metrics CSVs, flags, captions' facts, the verdict wiring."""

import json

import pandas as pd
import pytest

from xlie.report.collect import CELL_KEYS, collect_table_metrics, merge_metrics
from xlie.report.comparison import paired_grid, verdict_frame
from xlie.report.flags import cell_flags, diagnostics_grids
from xlie.report.grid import build_grid, cell_summary
from xlie.report.model import Layout, MARK_AT_BASELINE, MARK_DEGENERATE
from xlie.report.notes import average_note, flag_notes, seeds_note
from xlie.report.reported import Reported
from xlie.report import verdict

UNITS = {"unmatched_generations": "words", "truncated_inputs": "sentences"}


def _cell(run, target, tmp_path, scores, counts, baseline=0.2):
    path = tmp_path / "runs" / run / "eval" / target / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "scores": scores,
                "floor_baseline": {"accuracy": baseline, "f1": 0.0},
                "counts": counts,
                "provenance": {"config_sha256": "abc"},
            }
        )
    )
    return path


def _cells(table, tmp_path):
    rows = []
    for method, acc, unmatched in (("llm_generate", 0.2, 100), ("llm_logits", 0.8, 0)):
        for target in ("en", "de"):
            run = f"p/udpos/m/{method}/en/seed1"
            _cell(
                run,
                target,
                tmp_path,
                {"accuracy": acc, "weighted_token_f1": acc / 2, "primary": acc, "primary_name": "accuracy"},
                {"words": 100, "sentences": 10, "unmatched_generations": unmatched, "truncated_inputs": 0},
            )
            rows.append(
                dict(
                    paper="p",
                    table=table,
                    task="udpos",
                    model="m",
                    method=method,
                    source="en",
                    target=target,
                    seed=1,
                    run=run,
                )
            )
    return rows


def test_metrics_csvs_one_row_per_cell_and_metric(tmp_path):
    a = collect_table_metrics(_cells("t1", tmp_path), tmp_path / "runs", None, tmp_path / "t1.csv")
    b = collect_table_metrics(_cells("t2", tmp_path), tmp_path / "runs", "weighted_token_f1", tmp_path / "t2.csv")
    # Each table marks the metric it shows; counts and the config hash are columns.
    assert set(a.loc[a["primary"], "metric"]) == {"accuracy"}
    assert set(b.loc[b["primary"], "metric"]) == {"weighted_token_f1"}
    assert {"count_words", "count_unmatched_generations", "config_sha256"} <= set(a.columns)
    merged = merge_metrics([tmp_path / "t1.csv", tmp_path / "t2.csv"], tmp_path / "all.csv")
    assert len(merged) == 8 and not merged.duplicated([*CELL_KEYS, "metric"]).any()
    assert set(merged["table"]) == {"t1;t2"}
    assert set(merged.loc[merged["primary"], "metric"]) == {"accuracy"}  # the task's headline metric
    # Zero-shot cells may carry no seed: they still merge into one row per metric.
    a.assign(seed=None).to_csv(tmp_path / "t1.csv", index=False)
    b.assign(seed=None).to_csv(tmp_path / "t2.csv", index=False)
    merged = merge_metrics([tmp_path / "t1.csv", tmp_path / "t2.csv"], tmp_path / "all.csv")
    assert len(merged) == 8 and set(merged["table"]) == {"t1;t2"}
    with pytest.raises(ValueError, match="no metric 'f1'"):
        collect_table_metrics(_cells("t1", tmp_path), tmp_path / "runs", "f1", tmp_path / "x.csv")


def test_flags_mark_fallbacks_and_cells_at_the_baseline(tmp_path):
    frame = collect_table_metrics(_cells("t1", tmp_path), tmp_path / "runs", None, tmp_path / "t1.csv")
    flags = cell_flags(frame, {"flag_share": 0.05, "diagnostic_counts": UNITS}).set_index("method")
    assert flags.loc["llm_generate", "share"].tolist() == [1.0, 1.0]
    assert flags.loc["llm_generate", "marks"].tolist() == [MARK_DEGENERATE + MARK_AT_BASELINE] * 2
    assert flags.loc["llm_logits", "marks"].tolist() == ["", ""]
    notes = flag_notes(flags.reset_index(), {"flag_share": 0.05}, "Majority label")
    assert any("More than 5%" in n for n in notes) and any("majority-label baseline" in n for n in notes)
    grid = build_grid(cell_summary(frame, "p", "t1"), flags=flags.reset_index())
    generate = grid.sections[0][0]
    assert generate.cells[0].marks and not generate.cells[0].bold  # a flagged cell is never "best"
    assert grid.sections[0][1].cells[0].bold  # the only unflagged row is the best
    diag = diagnostics_grids([frame], {"diagnostic_counts": UNITS}, {})["udpos"]
    assert [r.header.text for r in diag.sections[0]] == ["llm_generate / m: unmatched generations"]
    assert [c.text for c in diag.sections[0][0].cells] == ["100.0", "100.0"]


def test_caption_facts_come_from_the_data():
    summ = pd.DataFrame(
        {
            "method": ["a", "a", "b"],
            "model": ["m"] * 3,
            "source": ["en"] * 3,
            "target": ["en", "de", "de"],
            "n": [5, 5, 1],
        }
    )
    assert "n = 5 for a / m; n = 1 for b / m" in seeds_note(summ, {})
    assert seeds_note(summ.assign(n=1), {}) == "One run per cell (n = 1), so no std."
    note = average_note(Layout(), summ, {"de": "Indo-European"})
    assert "except the source (en)" in note and "Glottolog" in note


def test_verdict_and_paired_tests_from_saved_predictions(tmp_path):
    rows = _cells("t1", tmp_path)
    for row in rows:  # 80 of 100 words right for logits, 20 for generate
        right = 80 if row["method"] == "llm_logits" else 20
        lines = [f"w{i}\tNOUN\t{'NOUN' if i < right else 'X'}" + ("\n" if i % 10 == 9 else "") for i in range(100)]
        (tmp_path / "runs" / row["run"] / "eval" / row["target"] / "predictions.tsv").write_text("\n".join(lines))
    frame = collect_table_metrics(rows, tmp_path / "runs", None, tmp_path / "t1.csv")
    values = pd.DataFrame(
        {
            "row": ["Paper logits"] * 2,
            "column": ["en", "de"],
            "value": [79.0, 30.0],
            "source": ["Table 1 of the paper"] * 2,
        }
    )
    reported = Reported(values, {"llm_logits/m": "Paper logits"})
    settings = verdict.VerdictSettings(resamples=300)
    verdicts = verdict_frame(frame, reported, Layout(), settings, {})
    # One seed: a bootstrap over the 10 sentences of the saved predictions.
    assert verdicts["interval"].tolist() == ["bootstrap over 10 test examples"] * 2
    assert verdicts["ours"].tolist() == [80.0, 80.0]
    assert verdict.verdict_summary(verdicts) == f"reproduced {int(verdicts['reproduced'].sum())} of 2 cells"
    assert verdicts["reproduced"].tolist() == [True, False]  # 79 inside, 30 far outside
    paired = paired_grid(frame, [["llm_logits/m", "llm_generate/m"]], Layout(), settings, {})
    delta, p = paired.sections[0]
    assert [c.text for c in delta.cells] == ["+60.0", "+60.0"]
    assert [c.text for c in p.cells] == ["<0.003", "<0.003"] and all(c.bold for c in p.cells)  # 300 resamples
