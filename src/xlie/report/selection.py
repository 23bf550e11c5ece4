"""Rows selected from a method's variants (config ``variant_selection``): per column the variant
with the best test score (an oracle, as some papers print it), or per source language the variant
with the best source-dev score (what one could pick in advance)."""

from __future__ import annotations

import pandas as pd

from xlie.report.model import (
    DEFAULT_VARIANT,
    DEV_VARIANT,
    ORACLE_VARIANT,
    SELECTION_VARIANTS,
    Layout,
    column_header,
    column_key,
    row_key,
    variant_label,
    with_variant,
)


def _variant_sort(variants, order: list[str]) -> list[str]:
    order = [str(v) for v in order]
    return sorted(dict.fromkeys(variants), key=lambda v: order.index(v) if v in order else len(order))


class _Candidates:
    """The variants a selection picks from, in config order (ties go to the earlier one)."""

    def __init__(self, frame: pd.DataFrame, order: list[str]):
        self.frame = frame
        self.order = _variant_sort(frame["variant"], order)
        self.shown = frame[frame["primary"].astype(bool)]
        self.models = list(dict.fromkeys(self.shown["model"]))

    def rows(self, model: str, variant: str, selected_as: str, **cell) -> pd.DataFrame:
        """Every metric and seed of the chosen variant's cells, as rows of the selected variant."""
        mask = (self.frame["model"] == model) & (self.frame["variant"] == variant)
        for key, value in cell.items():
            mask &= self.frame[key].astype(str) == str(value)
        return self.frame[mask].assign(variant=selected_as)

    def first_best(self, scores: pd.Series, lower_is_better: bool = False) -> str:
        scores = scores.dropna()
        top = scores.min() if lower_is_better else scores.max()
        return next(v for v in self.order if v in scores.index and scores[v] == top)

    def of_model(self, text: str, model: str) -> str:
        return f"{text} ({model})" if len(self.models) > 1 else text


def _oracle_rows(candidates: _Candidates, layout: Layout, label) -> tuple[list[pd.DataFrame], str]:
    added, picks = [], []
    means = candidates.shown.groupby(["model", "source", "target", "variant"], sort=False)["value"].mean()
    for (model, source, target), scores in means.groupby(level=[0, 1, 2], sort=False):
        pick = candidates.first_best(scores.droplevel([0, 1, 2]))
        added.append(candidates.rows(model, pick, ORACLE_VARIANT, source=source, target=target))
        column = column_header(layout, column_key(layout, source, target))
        picks.append(f"{candidates.of_model(column, model)} {label(pick)}")
    note = (
        f"{label(ORACLE_VARIANT)}: test-set selection (oracle), per column the variant with the best TEST score "
        f"({', '.join(picks)}), as the paper made its row; it used the test labels, so it is an upper bound, not "
        "a model one could pick in advance, and never bold."
    )
    return added, note


def _dev_rows(candidates: _Candidates, label) -> tuple[list[pd.DataFrame], list[str]]:
    shown = candidates.shown
    metric = ""
    if "dev_metric" in shown and shown["dev_metric"].notna().any():
        metric = str(shown["dev_metric"].dropna().iloc[0])
    # A dev loss (a metric named "...loss") is minimised; every other selection metric is maximised.
    lower_is_better = metric.endswith("loss")
    dev = None
    if "dev_score" in shown:
        dev = shown.groupby(["model", "source", "variant"], sort=False)["dev_score"].mean()
    added, picks, missing = [], [], []
    for model in candidates.models:
        for source in dict.fromkeys(shown.loc[shown["model"] == model, "source"]):
            scores = pd.Series(dtype=float)
            if dev is not None:
                at = (dev.index.get_level_values(0) == model) & (dev.index.get_level_values(1) == source)
                scores = dev[at].droplevel([0, 1])
            if scores.dropna().empty:
                missing.append(str(source))
                continue
            pick = candidates.first_best(scores, lower_is_better)
            added.append(candidates.rows(model, pick, DEV_VARIANT, source=source))
            picks.append(f"{candidates.of_model(str(source), model)} {label(pick)}")
    notes = []
    if picks:
        best, named = ("lowest" if lower_is_better else "best"), (f" {metric}" if metric else "")
        notes.append(
            f"{label(DEV_VARIANT)}: per source language the variant with the {best} mean source-dev{named} (no test "
            f"labels): {', '.join(picks)}; its test scores fill every column of that source."
        )
    if missing:
        notes.append(f"No dev-selected row for source {', '.join(missing)}: its runs recorded no dev score.")
    return added, notes


def select_variants(
    frame: pd.DataFrame,
    selection: dict,
    *,
    layout: Layout,
    display: dict,
    variant_order: list[str] | None = None,
) -> tuple[pd.DataFrame, list[str], set[str]]:
    """Add the rows a table's ``variant_selection`` asks for to a metrics frame, as rows of the
    method with variant ``oracle`` / ``dev`` (copies of the chosen variant's rows, every metric and
    seed, so flags, std, verdicts and paired tests follow the chosen cells).

    ``oracle``: per column (model, source, target), the variant with the best mean TEST score; it
    uses the test labels, so it is never bold.
    ``dev``: per (model, source language), the variant with the best mean source-dev score
    (``dev_score``, the training's own model-selection number; the lowest when ``dev_metric`` names
    a loss); its test scores in every column of
    that source. Ties go to the earlier variant in config order. ``show_variants: false`` drops the
    variants' own rows (they are in another table).

    Returns (frame, caption notes, row keys never bold)."""
    method = selection["method"]
    exclude = {str(v) for v in selection.get("exclude", [])}
    wanted = list(selection.get("rows", list(SELECTION_VARIANTS)))
    frame = with_variant(frame)
    clash = sorted(set(frame.loc[frame["method"] == method, "variant"]) & set(SELECTION_VARIANTS))
    if clash:
        raise ValueError(f"variant_selection: {method!r} has run variants named {clash}, reserved for selected rows")
    reserved = {DEFAULT_VARIANT, *SELECTION_VARIANTS}
    is_candidate = (frame["method"] == method) & ~frame["variant"].isin(exclude | reserved)
    if not is_candidate.any():
        raise ValueError(
            f"variant_selection: the table has no variants of method {method!r} to select from "
            f"(excluded: {', '.join(sorted(exclude)) or 'none'})"
        )
    candidates = _Candidates(frame[is_candidate], list(variant_order or []))

    def label(variant: str) -> str:
        return variant_label(display, method, variant)

    added, notes = [], []
    if ORACLE_VARIANT in wanted:
        rows, note = _oracle_rows(candidates, layout, label)
        added += rows
        notes.append(note)
    if DEV_VARIANT in wanted:
        rows, dev_notes = _dev_rows(candidates, label)
        added += rows
        notes += dev_notes
    if not selection.get("show_variants", True):
        frame = frame[~is_candidate]
    frame = pd.concat([frame, *added], ignore_index=True)
    unranked = {row_key(method, ORACLE_VARIANT, m) for m in candidates.models}
    return frame, notes, unranked
