"""What each workflow step does, as plain functions of paths and config.

Snakemake scripts only unpack their ``snakemake`` object and call one of these, so every
step can be run and tested without Snakemake.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from xlie import metrics, provenance
from xlie.data.xtreme import Sentence, load_xtreme


def load_split(data: dict, task: str, split: str, lang: str) -> tuple[list[Sentence], dict]:
    """One split of one language; ``data`` is a job's ``options["data"]`` (source and dir)."""
    return load_xtreme(task, split, lang, data["source"], data["dir"])


TINY_SIZE_KEYS = ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size", "max_positions")


def tiny_model_options(config: dict) -> dict:
    """Every tiny_models value the build uses besides its corpus (an input file): its params."""
    tiny = config["tiny_models"]
    return {"size": {k: tiny[k] for k in TINY_SIZE_KEYS}, "seed": tiny["seed"]}


def build_tiny_models(corpus_dir: str, options: dict, out_dirs: dict[str, str]) -> None:
    from xlie.models.tiny import build_tiny_models as build

    corpus = sorted(Path(corpus_dir).rglob("*.tsv"))
    if not corpus:
        raise FileNotFoundError(f"config key tiny_models.corpus_dir: no *.tsv files under {corpus_dir}")
    for family, record in build(corpus, {f: Path(p) for f, p in out_dirs.items()}, options["size"], options["seed"]).items():
        print(f"built tiny {family}: {record['architecture']}, {record['parameters']:,} parameters")


# Keys of a training block that the workflow handles itself; the rest goes to the method.
WORKFLOW_KEYS = ("max_train_sentences", "by_task")


def method_params(config: dict, method: str, model: str, task: str) -> tuple[dict, int | None]:
    """(params for the method, training-sentence limit) from ``training.<block>`` and its ``by_task``."""
    from xlie.methods import method_spec

    spec = method_spec(method, config["models"][model]["family"])
    block = {**config["training"].get(spec.params_key, {})}
    block.update(block.get("by_task", {}).get(task, {}))
    limit = block.get("max_train_sentences")
    params = {k: v for k, v in block.items() if k not in WORKFLOW_KEYS}
    if spec.module == "llm_zero_shot":
        params["mode"] = method.removeprefix("llm_")  # llm_logits / llm_generate
    return params, limit


def _canonical(value):
    """Sorted-key JSON types: Snakemake compares params by repr, so equal options must print alike."""
    return json.loads(json.dumps(value, sort_keys=True))


def data_options(config: dict) -> dict:
    xtreme = config["data"]["xtreme"]
    return {"source": xtreme["source"], "dir": xtreme["dir"]}


def _method_options(config: dict, run: dict) -> tuple[dict, int | None]:
    """(what every job of ``run`` reads: run, method, its resolved params, model; training-sentence limit)."""
    from xlie.methods import method_spec

    model = config["models"][run["model"]]
    params, limit = method_params(config, run["method"], run["model"], run["task"])
    options = {"run": run, "method": method_spec(run["method"], model["family"]).module, "params": params,
               "model": {"path": model["path"], "family": model["family"]}}  # fmt: skip
    return options, limit


def train_options(config: dict, run: dict) -> dict:
    """Every config value a training job uses, resolved (by_task applied): the job's Snakemake
    params, so that changing any of them reruns this run's training and what depends on it."""
    options, limit = _method_options(config, run)
    return _canonical({**options, "max_train_sentences": limit, "data": data_options(config)})


def eval_options(config: dict, run: dict, targets: list[str]) -> dict:
    """Every config value an evaluation job uses (its Snakemake params); see :func:`train_options`."""
    options, _ = _method_options(config, run)
    split = config["data"]["xtreme"]["eval_split"][run["task"]]
    return _canonical({**options, "targets": list(targets), "data": {**data_options(config), "eval_split": split}})


def train_run(options: dict, output_dir: str, checkpoint_dir: str, *, keep_checkpoints: bool, context: dict) -> None:
    """Fine-tune one training run (any trainable method) and record its provenance.

    ``options`` (:func:`train_options`) is all the job computes from; ``context`` (config hash,
    preset, demo flag) is only recorded."""
    from xlie import checkpoints
    from xlie.methods import implementation, method_spec

    started = time.monotonic()
    run = options["run"]
    spec = method_spec(run["method"], options["model"]["family"])
    train_fn, _ = implementation(spec)
    train, train_id = load_split(options["data"], run["task"], "train", run["source"])
    dev, dev_id = load_split(options["data"], run["task"], "dev", run["source"])
    if options["max_train_sentences"]:
        train = train[: options["max_train_sentences"]]
        train_id = {**train_id, "used_sentences": len(train)}
    data = {"train": train_id, "dev": dev_id}
    model_path = options["model"]["path"]
    expected = checkpoints.manifest(options, {**data, "base_model": provenance.model_fingerprint(model_path)})
    with checkpoints.training_checkpoints(checkpoint_dir, expected, keep=keep_checkpoints):
        summary = train_fn(model_path, run["task"], train, dev, Path(output_dir), Path(checkpoint_dir),
                           options["params"], int(run["seed"]))  # fmt: skip
    provenance.write_json(
        Path(output_dir) / "xlie_provenance.json",
        provenance.record(
            **context, seed=int(run["seed"]), wall_time_s=time.monotonic() - started, data=data,
            model={"base": provenance.model_identity(model_path), "run": run, "method": spec.module,
                   "params": options["params"]},
            options=options,
        ),
    )  # fmt: skip
    print(f"best dev: {summary.get('best_dev')}")


def write_predictions(path: Path, sentences: list[Sentence], predicted: list[list[str]]) -> None:
    """word<TAB>gold<TAB>predicted, blank line between sentences (XTREME-like, diffable)."""
    lines = []
    for sentence, tags in zip(sentences, predicted):
        lines.extend(f"{w}\t{g}\t{p}" for w, g, p in zip(sentence.words, sentence.tags, tags))
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def evaluate_run(options: dict, model_dir: str, out_dir: str, *, context: dict) -> None:
    """Predict and score every target language of one run with a model loaded once.

    ``options`` (:func:`eval_options`) is all the job computes from; ``context`` is only recorded."""
    from xlie.methods import implementation, method_spec

    run, data, params = options["run"], options["data"], options["params"]
    spec = method_spec(run["method"], options["model"]["family"])
    _, load_predictor = implementation(spec)
    # Read every target file before predicting anything: a bad file fails the job at once,
    # with its file:line, instead of after minutes of work that the failure would discard.
    target_data = {target: load_split(data, run["task"], data["eval_split"], target) for target in options["targets"]}
    train, _ = load_split(data, run["task"], "train", run["source"])
    train_tags = [s.tags for s in train]
    predict = load_predictor(model_dir, run["task"], params)
    for target, (sentences, data_id) in target_data.items():
        started = time.monotonic()
        prediction = predict(sentences, desc=target)
        gold = [s.tags for s in sentences]
        cell_dir = Path(out_dir) / target
        write_predictions(cell_dir / "predictions.tsv", sentences, prediction.tags)
        payload = {
            "cell": {**run, "target": target},
            "scores": metrics.score(run["task"], gold, prediction.tags),
            "majority_baseline": metrics.majority_baseline(run["task"], train_tags, gold),
            "counts": {"sentences": len(sentences), "words": sum(len(g) for g in gold), **prediction.counts},
            "provenance": provenance.record(
                **context, seed=int(run["seed"]), wall_time_s=time.monotonic() - started, data=data_id,
                model={**provenance.model_identity(model_dir), "method": spec.module, "params": params}, options=options,
            ),
        }  # fmt: skip
        provenance.write_json(cell_dir / "metrics.json", payload)
        s = payload["scores"]
        print(f"{target}: {s['primary_name']}={s['primary']:.4f} (majority baseline "
              f"{payload['majority_baseline']['primary']:.4f}), counts {payload['counts']}")  # fmt: skip


def collect_metrics(cells: pd.DataFrame, runs_root: str, out_csv: str) -> pd.DataFrame:
    """Tidy CSV: one row per (cell, metric); ``primary`` marks the task's headline metric."""
    import json

    rows = []
    for cell in cells.itertuples(index=False):
        path = Path(runs_root) / cell.run / "eval" / cell.target / "metrics.json"
        payload = json.loads(path.read_text(encoding="utf-8"))
        scores = payload["scores"]
        base = {c: getattr(cell, c) for c in ("paper", "table", "task", "model", "method", "source", "target", "seed")}
        for name, value in scores.items():
            if name in ("primary", "primary_name"):
                continue
            rows.append({**base, "metric": name, "value": value, "primary": name == scores["primary_name"],
                         "majority_baseline": payload["majority_baseline"].get(name), "metrics_json": str(path)})  # fmt: skip
    frame = pd.DataFrame(rows)
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_csv, index=False)
    return frame


def _table_caption(config: dict, paper: str, table: str) -> str:
    table_cfg = config["papers"][paper]["tables"][table]
    caption = table_cfg.get("caption") or f"{paper} {table}"
    if table_cfg.get("metric"):
        caption += f" Metric: {table_cfg['metric']}."
    return f"{caption} Values x100; mean over seeds (with std when several); averages recomputed from the cells; group averages by language family (Glottolog)."


def _table_groups(metrics: pd.DataFrame, paper: str, table: str) -> dict[str, str]:
    from xlie.languages import family_group

    targets = metrics.loc[(metrics["paper"] == paper) & (metrics["table"] == table), "target"].unique()
    return {t: family_group(t) for t in targets}


def baseline_reference(metrics: pd.DataFrame, paper: str, table: str) -> pd.DataFrame:
    """The majority-label baseline per target as a reference row: the floor every row must beat."""
    primary = metrics[(metrics["paper"] == paper) & (metrics["table"] == table) & metrics["primary"].astype(bool)]
    per_target = primary.groupby("target", sort=False)["majority_baseline"].mean() * 100
    return pd.DataFrame({"row": "majority label", "target": per_target.index, "value": per_target.values,
                         "source_note": "majority-label baseline (every word tagged with the most frequent training tag)"})  # fmt: skip


def artifact_reference(config: dict, kind: str, task: str, models: list[str]) -> tuple[pd.DataFrame | None, str]:
    """Reference rows from the ToPro repository's result files, when ``reference_dir`` has them.

    Returns (rows or None, a sentence for the caption). These are secondary artifacts, never the
    paper's tables, and every caption says so."""
    from xlie import references

    directory = Path(config["reference_dir"])
    if not directory.is_dir():
        return None, f"No reference artifact: {directory} not found."
    if kind == "pt":
        frame, dropped = references.load_pt_reference(directory, task)
        frame = frame[frame["model"].isin(models)]
        rows = frame.groupby(["model", "target"], sort=False)["value"].mean().reset_index()
        rows["row"] = "PT (repo artifact) / " + rows["model"]
        metric = {"panx": "seqeval F1 (default mode) on the target languages' DEV files",
                  "udpos": "seqeval F1 with each tag read as a chunk, not accuracy"}[task]  # fmt: skip
        note = f"prefix-tuning (PT) results from the ToPro repository's history, mean over its seeds, in MPT's metric: {metric} (secondary reference, not the paper)"
    elif kind == "llm":
        frame, dropped = references.load_llm_reference(directory, task)
        rows = frame.copy()
        rows["row"] = rows["model"] + " " + rows["mode"] + " P" + rows["pattern"].astype(str) + " (repo artifact)"
        note = "zero-shot LLM results from the ToPro repository's history, weighted token F1 of the authors' code (secondary reference, not the paper)"
    else:
        raise ValueError(f"unknown reference kind {kind!r}")
    for reason in dropped:
        print(f"reference row dropped: {reason}")
    rows["source_note"] = note
    return rows[["row", "target", "value", "source_note"]], ""


def table_view(config: dict, metrics: pd.DataFrame, paper: str, table: str) -> pd.DataFrame:
    """The metrics with ``primary`` marking the metric this table shows (its ``metric`` key, else the task's)."""
    metric = config["papers"][paper]["tables"][table].get("metric")
    if not metric:
        return metrics
    chosen = (metrics["paper"] == paper) & (metrics["table"] == table)
    return metrics.assign(primary=metrics["primary"].where(~chosen, metrics["metric"] == metric))


def render_table(config: dict, metrics_csv: str, *, paper: str, table: str, out_tex: str, out_html: str) -> None:
    from html import escape

    from xlie import tables

    table_cfg = config["papers"][paper]["tables"][table]
    frame = table_view(config, pd.read_csv(metrics_csv), paper, table)
    caption = _table_caption(config, paper, table)
    groups = _table_groups(frame, paper, table)
    reference_parts = [baseline_reference(frame, paper, table)]
    if table_cfg.get("reference"):
        rows, missing = artifact_reference(config, table_cfg["reference"], table_cfg["task"], table_cfg["models"])
        reference_parts += [rows] if rows is not None else []
        caption += f" {missing}" if missing else ""
    reference = pd.concat(reference_parts, ignore_index=True)
    tex = tables.render_table(frame, paper=paper, table=table, caption=caption, label=f"tab:{paper}-{table}",
                              reference=reference, groups=groups, demo=config["demo"])  # fmt: skip
    Path(out_tex).parent.mkdir(parents=True, exist_ok=True)
    Path(out_tex).write_text(tex, encoding="utf-8")
    shown = tables.table_frame(frame, paper=paper, table=table, reference=reference, groups=groups)
    heading = (tables.DEMO_PREFIX + " " if config["demo"] else "") + caption
    notes = "; ".join(dict.fromkeys(reference["source_note"]))
    Path(out_html).write_text(
        f"<!doctype html><meta charset='utf-8'><title>{escape(paper)} {escape(table)}</title>"
        f"<p><b>{escape(heading)}</b></p>{shown.to_html(escape=True)}<p><i>Last rows: {escape(notes)}.</i></p>\n",
        encoding="utf-8",
    )


def plot_table(config: dict, metrics_csv: str, *, paper: str, table: str, out_png: str, out_pdf: str) -> None:
    from xlie.plots import plot_per_language

    frame = table_view(config, pd.read_csv(metrics_csv), paper, table)
    title = config["papers"][paper]["tables"][table].get("caption") or f"{paper} {table}"
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    plot_per_language(frame, paper=paper, table=table, title=title, out_png=out_png, out_pdf=out_pdf, demo=config["demo"])


def plot_gain(config: dict, metrics_csv: str, *, paper: str, table: str, out_png: str, out_pdf: str, out_csv: str) -> None:
    """ToPro's gain over Vanilla per language, against the language's family group."""
    from xlie.plots import plot_gain_by_group

    frame = table_view(config, pd.read_csv(metrics_csv), paper, table)
    groups = _table_groups(frame, paper, table)
    gains = plot_gain_by_group(frame, paper=paper, table=table, method="topro", baseline="vanilla", groups=groups,
                               title=f"ToPro gain over Vanilla ({paper} {table})", out_png=out_png, out_pdf=out_pdf,
                               demo=config["demo"])  # fmt: skip
    gains.to_csv(out_csv, index=False)
    print(gains.groupby(["model", "group"])["gain"].mean().to_string())
