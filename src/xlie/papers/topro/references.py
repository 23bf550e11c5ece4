"""Secondary reference numbers: result files from the ToPro repository's history (NOT the paper).

The files live in a directory the caller passes (the workflow's ``reference_dir``, by default
``../shared/data/reference/topro``); nothing in the project requires it. Provenance and known
defects: ``shared/data/README.md``. All values are as the files hold them (already x100).

- ``pt_prefix_tuning_results.csv`` (no header): the prefix-tuning (PT) baseline, one row per
  model and seed: UDPOS rows ``mbert{seed}`` / ``xlmr{seed}``, PAN-X rows
  ``panx_mbert{seed}`` / ``panx_xlmr{seed}``; columns in the order of
  :data:`xlie.papers.topro.languages.TASK_LANGUAGES` (UDPOS 38, PAN-X 48). The rows ``mbert`` / ``xlmr``
  (no seed) are labelled UDPOS means; :func:`load_pt_reference` skips them (we recompute means)
  and :func:`load_pt_mean_rows` returns them. They are NOT the mean of the per-seed rows in the
  same file (their English value, 95.15 for mbert, is above every seed's): they come from
  other runs, so compare with them only loosely.
- ``llm_{panx,udpos}_results.csv``: zero-shot LLM ToPro runs (bloomz-7b1, mt0-xxl); per
  language the authors' metric, sklearn *weighted token F1* over all words (O included) x100,
  then one last value, the overall accuracy (target ``"all"``, metric ``"accuracy"``).

A row that cannot be used is never silently lost: each loader returns ``(frame, dropped)``,
``dropped`` holding one sentence per row left out, naming the row, its line and the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from xlie.papers.topro.languages import TASK_LANGUAGES

PT_FILE = "pt_prefix_tuning_results.csv"
LLM_FILES = {"panx": "llm_panx_results.csv", "udpos": "llm_udpos_results.csv"}
PT_COLUMNS = ["row", "model", "seed", "target", "value"]
LLM_COLUMNS = ["row", "model", "mode", "pattern", "target", "value", "metric"]

# panx_mbert42, xlmr1218, mbert (a UDPOS mean row: no seed, no task prefix)
_PT_ROW = re.compile(r"^(?P<panx>panx_)?(?P<model>mbert|xlmr)(?P<seed>\d+)?$")
# bigscience/bloomz-7b1-LR1e-5-epoch-MaxLen-Pattern3-seed42-direct
_LLM_ROW = re.compile(
    r"^(?:[^/]+/)?(?P<model>.+?)-LR.*?-Pattern(?P<pattern>\d+)(?:-seed(?P<seed>\d+))?(?P<direct>-direct)?$"
)


class ReferenceFormatError(ValueError):
    """A reference file that cannot be read at all (missing, empty); the message names the file."""


def _languages(task: str) -> tuple[str, ...]:
    try:
        return TASK_LANGUAGES[task]
    except KeyError:
        raise KeyError(f"unknown task {task!r}; reference files exist for {sorted(TASK_LANGUAGES)}") from None


def _read_rows(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line number, row name, raw value fields) of every non-blank line."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: reference file not found")
    rows = []
    with path.open(encoding="utf-8-sig") as handle:
        for lineno, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            name, *fields = line.split(",")
            rows.append((lineno, name.strip(), fields))
    if not rows:
        raise ReferenceFormatError(f"{path}: reference file is empty (expected one comma-separated row per run)")
    return rows


def _where(path: Path, lineno: int, name: str) -> str:
    return f"{path.name}:{lineno} row {name!r}"


def _row_values(path: Path, row: tuple[int, str, list[str]], expected: int, mismatch: str, dropped: list[str]):
    """The row's values as floats when it has ``expected`` numbers; else None, the reason added to
    ``dropped`` (``mismatch`` follows the count of a row with another number of values)."""
    lineno, name, fields = row
    if len(fields) != expected:
        dropped.append(f"{_where(path, lineno, name)}: {len(fields)} values{mismatch}")
        return None
    for position, field in enumerate(fields, start=1):
        try:
            float(field)
        except ValueError:
            dropped.append(f"{_where(path, lineno, name)}: value {position} ({field.strip()!r}) is not a number")
            return None
    return [float(field) for field in fields]


def _per_language(candidates: list, path: Path, dropped: list[str], languages: tuple[str, ...]) -> list[dict]:
    """One record per (kept row, language): the row's name, its info and the language's value."""
    return [
        {"row": name, **info, "target": lang, "value": value}
        for _, name, values, info in _keep_last(candidates, path, dropped)
        for lang, value in zip(languages, values)
    ]


def _keep_last(candidates: list[tuple[int, str, list[float], dict]], path: Path, dropped: list[str]):
    """Of usable rows sharing a name, keep the last one and say which earlier lines it replaced."""
    last: dict[str, tuple[int, str, list[float], dict]] = {}
    for candidate in candidates:
        lineno, name = candidate[0], candidate[1]
        if name in last:
            dropped.append(
                f"{_where(path, last[name][0], name)}: duplicate row name, superseded by line {lineno} (the last usable row is kept)"
            )
        last[name] = candidate
    return sorted(last.values(), key=lambda c: c[0])


def _pt_rows(directory: str | Path):
    """Every PT row with a recognised name: (lineno, name, is_panx, model, seed or None, fields)."""
    path = Path(directory) / PT_FILE
    parsed, unknown = [], []
    for lineno, name, fields in _read_rows(path):
        match = _PT_ROW.match(name)
        if match is None:
            unknown.append(f"{_where(path, lineno, name)}: unrecognised row name (expected [panx_](mbert|xlmr)<seed>)")
            continue
        seed = int(match["seed"]) if match["seed"] else None
        parsed.append((lineno, name, bool(match["panx"]), match["model"], seed, fields))
    return path, parsed, unknown


def load_pt_reference(directory: str | Path, task: str) -> tuple[pd.DataFrame, list[str]]:
    """Per-seed PT (prefix tuning) results of ``task`` from ``pt_prefix_tuning_results.csv``.

    Returns (DataFrame[row, model, seed, target, value], dropped). ``model`` is the file's
    name (``mbert``, ``xlmr``: the workflow's model keys), ``value`` is x100 as in the file.
    A row whose value count differs from ``len(TASK_LANGUAGES[task])`` is dropped, with a
    reason naming it and both counts (``panx_mbert421`` holds 47 of 48: which language is
    missing is unknown). The UDPOS mean rows are skipped and listed in ``dropped``.
    """
    languages = _languages(task)
    path, parsed, dropped = _pt_rows(directory)
    mismatch = f" but {task} has {len(languages)} languages; position of the difference unknown, row unusable"
    candidates = []
    for lineno, name, is_panx, model, seed, fields in parsed:
        if is_panx != (task == "panx"):
            continue  # the other task's row
        if seed is None:
            dropped.append(
                f"{_where(path, lineno, name)}: UDPOS mean row, skipped (means are recomputed from the per-seed rows; see load_pt_mean_rows)"
            )
            continue
        values = _row_values(path, (lineno, name, fields), len(languages), mismatch, dropped)
        if values is not None:
            candidates.append((lineno, name, values, {"model": model, "seed": seed}))
    return pd.DataFrame(_per_language(candidates, path, dropped, languages), columns=PT_COLUMNS), dropped


def load_pt_mean_rows(directory: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """The file's own UDPOS mean rows (``mbert``, ``xlmr``) as DataFrame[row, model, target, value].

    Kept for comparison only: they do not equal the mean of the per-seed rows (module doc)."""
    languages = _languages("udpos")
    path, parsed, dropped = _pt_rows(directory)
    candidates = []
    for lineno, name, is_panx, model, seed, fields in parsed:
        if is_panx or seed is not None:
            continue
        values = _row_values(
            path, (lineno, name, fields), len(languages), f" but udpos has {len(languages)} languages", dropped
        )
        if values is not None:
            candidates.append((lineno, name, values, {"model": model}))
    records = _per_language(candidates, path, dropped, languages)
    return pd.DataFrame(records, columns=["row", "model", "target", "value"]), dropped


def load_llm_reference(directory: str | Path, task: str) -> tuple[pd.DataFrame, list[str]]:
    """Zero-shot LLM ToPro results of ``task`` from ``llm_{task}_results.csv``.

    Returns (DataFrame[row, model, mode, pattern, target, value, metric], dropped).
    Row names look like ``bigscience/bloomz-7b1-LR1e-5-epoch-MaxLen-Pattern3-seed42-direct``:
    ``model`` = ``bloomz-7b1`` / ``mt0-xxl``, ``mode`` = ``"generate"`` when the name ends in
    ``-direct`` (greedy generation) else ``"logits"`` (verbalizer logits), ``pattern`` = the
    prompt pattern number. Per language, ``value`` is the authors' metric, *weighted token F1*
    (sklearn, over all words, O included) x100, ``metric`` = ``"weighted_f1"``; the last value of
    a row is the overall accuracy x100, target ``"all"``, ``metric`` = ``"accuracy"``.
    Only rows with exactly ``len(TASK_LANGUAGES[task]) + 1`` values are usable; of usable rows
    sharing a name the last is kept. Everything left out is listed in ``dropped``.
    """
    languages = _languages(task)
    path = Path(directory) / LLM_FILES[task]
    dropped: list[str] = []
    mismatch = f", expected {len(languages) + 1} ({len(languages)} {task} languages + overall accuracy)"
    candidates = []
    for lineno, name, fields in _read_rows(path):
        match = _LLM_ROW.match(name)
        if match is None:
            dropped.append(
                f"{_where(path, lineno, name)}: unrecognised row name (expected <org>/<model>-LR...-Pattern<n>-seed<s>[-direct])"
            )
            continue
        values = _row_values(path, (lineno, name, fields), len(languages) + 1, mismatch, dropped)
        if values is None:
            continue
        info = {
            "model": match["model"],
            "mode": "generate" if match["direct"] else "logits",
            "pattern": int(match["pattern"]),
        }
        candidates.append((lineno, name, values, info))
    records = []
    for _, name, values, info in _keep_last(candidates, path, dropped):
        for lang, value in zip(languages, values):
            records.append({"row": name, **info, "target": lang, "value": value, "metric": "weighted_f1"})
        records.append({"row": name, **info, "target": "all", "value": values[-1], "metric": "accuracy"})
    frame = pd.DataFrame(records, columns=LLM_COLUMNS)
    frame["pattern"] = frame["pattern"].astype(int)
    return frame, dropped


# What each reference kind shows, in its own metric (a table's config key ``reference``).
_NOTES = {
    "pt": "prefix-tuning (PT) results from the ToPro repository's history, mean over its seeds, in MPT's metric: "
    "{metric} (secondary reference, not the paper)",
    "llm": "zero-shot LLM results from the ToPro repository's history, in the authors' swapped weighted token F1 "
    "(the metric of our LLM rows; secondary reference, not the paper); their logits-mode rows come from code that "
    "reads bloomz's logits at a right-padding position and starts mT0's decoder from a newly added, untrained <s>, "
    "bugs our rows do not copy",
}
_PT_METRICS = {
    "panx": "seqeval F1 (default mode) on the target languages' DEV files",
    "udpos": "seqeval F1 with each tag read as a chunk, not accuracy",
}


def reference_rows(config: dict, paper: str, table: dict) -> list[dict]:
    """The registry hook ``reference_rows``: for a table with ``reference: pt`` or ``reference: llm``,
    rows from the ToPro repository's result files in ``reference_dir`` (:func:`repository_rows`),
    with the config values they read."""
    if table.get("reference") is None:
        return []
    options = {
        "kind": table["reference"],
        "dir": config["reference_dir"],
        "task": table["task"],
        "models": table["models"],
        "model_names": config.get("display", {}).get("models", {}),
    }
    return [{"function": "xlie.papers.topro.references:repository_rows", "options": options}]


def repository_rows(options: dict, frame: pd.DataFrame) -> tuple[pd.DataFrame | None, str]:
    """Rows from the ToPro repository's result files (``options`` from :func:`reference_rows`).

    Returns (rows[row, target, value, source_note] or None, a sentence for the caption). These are
    secondary artifacts, never the paper's tables, and every caption says so."""
    kind, task = options["kind"], options["task"]
    directory = Path(options["dir"])
    if not directory.is_dir():
        return None, (
            "The ToPro repository's result files (config key reference_dir) are absent, "
            "so no repository reference rows."
        )
    if kind == "pt":
        pt, dropped = load_pt_reference(directory, task)
        pt = pt[pt["model"].isin(options["models"])]
        rows = pt.groupby(["model", "target"], sort=False)["value"].mean().reset_index()
        names = options["model_names"]
        rows["row"] = "PT (ToPro repo) / " + rows["model"].map(lambda m: names.get(m, m))
        note = _NOTES["pt"].format(metric=_PT_METRICS[task])
    elif kind == "llm":
        rows, dropped = load_llm_reference(directory, task)
        rows["row"] = rows["model"] + " " + rows["mode"] + " P" + rows["pattern"].astype(str) + " (ToPro repo)"
        note = _NOTES["llm"]
    else:
        raise ValueError(f"unknown reference kind {kind!r}")
    for reason in dropped:
        print(f"reference row dropped: {reason}")
    return rows.assign(source_note=note)[["row", "target", "value", "source_note"]], ""
