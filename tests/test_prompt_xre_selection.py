"""Prompt-XRE's ``selection: loss``: the dev-selected row must pick the template with the LOWEST dev
loss (a loss is minimised), while dev accuracy keeps picking the highest."""

from __future__ import annotations

import pandas as pd
import pytest

from xlie.report.model import Layout, with_variant
from xlie.report.selection import select_variants

SELECTION = {"method": "prompt", "exclude": ["none"], "rows": ["dev"], "show_variants": False}
DISPLAY = {"variants": {"prompt": {"1": "Prompt_1", "2": "Prompt_2", "dev": "mBART+prompt (dev-selected)"}}}


def _frame(dev_metric: str, dev: dict[str, float]) -> pd.DataFrame:
    """One source (en) and target (en); template 1 scores 60 on test, template 2 scores 70."""
    rows = []
    for variant, test in (("none", 0.5), ("1", 0.6), ("2", 0.7)):
        rows.append(
            {
                "paper": "prompt_xre",
                "table": "t",
                "task": "ace05",
                "model": "mbart",
                "method": "prompt",
                "variant": variant,
                "source": "en",
                "target": "en",
                "seed": 222,
                "metric": "accuracy",
                "value": test,
                "primary": True,
                "floor_baseline": 0.1,
                "dev_score": dev[variant],
                "dev_metric": dev_metric,
            }
        )
    return pd.DataFrame(rows)


def _dev_pick(frame: pd.DataFrame) -> tuple[float, str]:
    selected, notes, _ = select_variants(frame, SELECTION, layout=Layout(), display=DISPLAY, variant_order=["1", "2"])
    dev_row = with_variant(selected).query("variant == 'dev'")
    return float(dev_row["value"].iloc[0]), notes[0]


@pytest.mark.parametrize("dev_metric", ["loss", "eval_loss"])
def test_the_lower_dev_loss_wins(dev_metric):
    # template 1 has the lower dev loss (0.4 < 0.9): it is the pick, although 2 scores more on test
    value, note = _dev_pick(_frame(dev_metric, {"none": 0.1, "1": 0.4, "2": 0.9}))
    assert value == pytest.approx(0.6)
    assert f"lowest mean source-dev {dev_metric}" in note and "en Prompt_1" in note


def test_the_higher_dev_accuracy_wins():
    value, note = _dev_pick(_frame("accuracy", {"none": 0.99, "1": 0.4, "2": 0.9}))
    assert value == pytest.approx(0.7)
    assert "best mean source-dev accuracy" in note and "en Prompt_2" in note
