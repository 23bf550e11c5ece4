"""What each workflow step does, as plain functions of paths and config.

Snakemake scripts only unpack their ``snakemake`` object and call one of these, so every
step can be run and tested without Snakemake.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from xlie.pipeline import provenance
from xlie.pipeline.config import config_hash
from xlie.pipeline.runtime import atomic_path, atomic_write_text
from xlie.pipeline.registry import task_type


def load_split(data: dict, task: str, split: str, lang: str) -> tuple[list, dict]:
    """One split of one language; ``data`` is a job's ``options["data"]`` (what the task's reader uses)."""
    return task_type(task).load(data, split, lang)


TINY_SIZE_KEYS = ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size", "max_positions")


def tiny_model_options(config: dict) -> dict:
    """Every tiny_models value the build uses besides its corpus (an input file): its params."""
    tiny = config["tiny_models"]
    return {"size": {k: tiny[k] for k in TINY_SIZE_KEYS}, "seed": tiny["seed"]}


def build_tiny_models(corpus_dir: str, options: dict, out_dirs: dict[str, str]) -> None:
    from xlie.pipeline.tiny_models import build_tiny_models as build

    corpus = sorted(Path(corpus_dir).rglob("*.tsv"))
    if not corpus:
        raise FileNotFoundError(f"config key tiny_models.corpus_dir: no *.tsv files under {corpus_dir}")
    for family, record in build(corpus, {f: Path(p) for f, p in out_dirs.items()}, options["size"], options["seed"]).items():
        print(f"built tiny {family}: {record['architecture']}, {record['parameters']:,} parameters")


# Keys of a training block that the workflow handles itself; the rest goes to the method.
WORKFLOW_KEYS = ("max_train_sentences", "by_task")


def method_params(config: dict, run: dict) -> tuple[dict, int | None]:
    """(params for the method, training-sentence limit) of one run: its paper's ``training.<block>``,
    that block's ``by_task`` entry, and the run's variant (the method's ``variant_param``).

    The method's ``Params`` dataclass fills every other value with its documented default (and
    refuses unknown keys, naming them) when the job starts: it is the single source of truth."""
    from xlie.pipeline.registry import method_spec

    spec = method_spec(run["method"], config["models"][run["model"]]["family"])
    block = {**config["papers"][run["paper"]].get("training", {}).get(spec.params_key, {})}
    block.update(block.get("by_task", {}).get(run["task"], {}))
    limit = block.get("max_train_sentences")
    limit = None if limit in (None, "null") else int(limit)  # a --config value arrives as a string
    params = {k: v for k, v in block.items() if k not in WORKFLOW_KEYS}
    if spec.variant_param:
        params[spec.variant_param] = run["variant"]
    return params, limit


def _canonical(value):
    """Sorted-key JSON types: Snakemake compares params by repr, so equal options must print alike."""
    return json.loads(json.dumps(value, sort_keys=True))


def _method_options(config: dict, run: dict) -> tuple[dict, int | None]:
    """(what every job of ``run`` reads: run, method, its params, model, data; training-sentence limit)."""
    from xlie.pipeline.registry import method_spec

    model = config["models"][run["model"]]
    params, limit = method_params(config, run)
    options = {"run": run, "method": method_spec(run["method"], model["family"]).name, "params": params,
               "model": {"path": model["path"], "family": model["family"]},
               "data": task_type(run["task"]).data_options(config)}  # fmt: skip
    return options, limit


def train_options(config: dict, run: dict) -> dict:
    """Every config value a training job uses: the job's Snakemake params, so that changing any
    of them reruns this run's training and what depends on it."""
    options, limit = _method_options(config, run)
    return _canonical({**options, "max_train_sentences": limit})


def eval_options(config: dict, run: dict, targets: list[str]) -> dict:
    """Every config value an evaluation job uses (its Snakemake params); see :func:`train_options`."""
    options, _ = _method_options(config, run)
    split = task_type(run["task"]).eval_split(config)
    return _canonical({**options, "targets": list(targets), "data": {**options["data"], "eval_split": split}})


def _training_inputs(options: dict, attempt: int):
    """What a training run computes from: (task, spec, params class, params for this attempt, batch
    record, train, dev, data identities). The same in the launching process and in every worker."""
    from xlie.pipeline.registry import method_spec, params_class
    from xlie.pipeline import training
    run = options["run"]
    task = task_type(run["task"])
    spec = method_spec(run["method"], options["model"]["family"])
    params_cls = params_class(spec)
    params, batch = training.batch_for_attempt(options["params"], params_cls, attempt)
    train, train_id = load_split(options["data"], run["task"], "train", run["source"])
    dev, dev_id = load_split(options["data"], run["task"], "dev", run["source"])
    if options["max_train_sentences"]:
        train = train[: options["max_train_sentences"]]
        train_id = {**train_id, "used_sentences": len(train)}
    return task, spec, params_cls, params, batch, train, dev, {"train": train_id, "dev": dev_id}


def train_worker(spec_path: str) -> None:
    """One process of a training run launched on several processes (``train_run(processes=N)``,
    under torchrun): the HF Trainer finds its rank in the environment and trains data-parallel.
    Rank 0 writes to the run's output directory and returns the summary in a file; the others
    write what a method saves besides the Trainer into a scratch directory (their Trainer saves
    nothing), so no two processes write one file."""
    import os

    from xlie.pipeline.registry import implementation

    job = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    options, attempt = job["options"], job["attempt"]
    rank = int(os.environ.get("RANK", "0"))
    task, spec, _, params, _, train, dev, _ = _training_inputs(options, attempt)
    train_fn, _ = implementation(spec)
    output_dir = Path(job["output_dir"]) if rank == 0 else Path(job["scratch_dir"]) / f"rank{rank}"
    summary = train_fn(options["model"]["path"], options["run"]["task"], train, dev, output_dir, Path(job["checkpoint_dir"]),
                       params, int(options["run"]["seed"]), **task.method_kwargs(options["data"]))  # fmt: skip
    if rank == 0:
        atomic_write_text(job["summary_path"], json.dumps(summary, default=str) + "\n")


def _train_on_processes(processes: int, options: dict, output_dir: str, checkpoint_dir: str, attempt: int) -> dict:
    """Run the method's training in ``processes`` worker processes (torchrun, one per GPU) and
    return rank 0's summary; a failed worker fails the job with torchrun's exit status."""
    import shutil
    import subprocess
    import sys
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix=".xlie-workers-", dir=Path(output_dir).parent))
    job = {"options": options, "attempt": attempt, "output_dir": str(output_dir), "checkpoint_dir": str(checkpoint_dir),
           "scratch_dir": str(scratch), "summary_path": str(scratch / "summary.json")}  # fmt: skip
    (scratch / "job.json").write_text(json.dumps(job), encoding="utf-8")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               "-m", "xlie", "train-worker", str(scratch / "job.json")]  # fmt: skip
    print(f"training on {processes} processes: {' '.join(command)}", flush=True)
    try:
        subprocess.run(command, check=True)
        return json.loads((scratch / "summary.json").read_text(encoding="utf-8"))
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"training on {processes} processes failed (torchrun exit status {error.returncode}); "
                           "the workers' errors are above in this log") from None  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def train_run(options: dict, output_dir: str, checkpoint_dir: str, *, keep_checkpoints: bool, context: dict,
              attempt: int = 1, processes: int = 1) -> None:  # fmt: skip
    """Fine-tune one training run (any trainable method, any task type) and record its provenance.

    ``options`` (:func:`train_options`) is all the job computes from; ``context`` (config hash,
    preset, demo flag) is only recorded. ``attempt`` is Snakemake's (1, then 2, ... on retries):
    after an out-of-memory failure (which raises ``TrainingOutOfMemory`` with a log line saying
    what the next attempt uses) each attempt trains with a smaller per-device batch and more
    gradient accumulation (``training.batch_for_attempt``), recorded in ``xlie_training.json`` and
    the provenance; ``options`` stay as configured. ``processes`` > 1 (a job given several GPUs)
    trains data-parallel in that many torchrun workers (:func:`train_worker`); this process keeps
    the checkpoint lock and manifest and writes the provenance."""
    from xlie.pipeline import checkpoints
    from xlie.pipeline.registry import implementation
    from xlie.pipeline import training
    started = time.monotonic()
    run = options["run"]
    task, spec, params_cls, params, batch, train, dev, data = _training_inputs(options, attempt)
    train_fn, _ = implementation(spec)
    if attempt > 1:
        print(f"attempt {attempt} (after running out of memory): "
              + (training.describe_batch(batch) if batch else "this method has no batch_size to lower"))  # fmt: skip
    model_path = options["model"]["path"]
    expected = checkpoints.manifest(options, {**data, "base_model": provenance.model_fingerprint(model_path)},
                                    effective_batch_size=batch["effective_batch_size"] if batch else None)  # fmt: skip
    with checkpoints.training_checkpoints(checkpoint_dir, expected, keep=keep_checkpoints):
        try:
            training.inject_out_of_memory(attempt)
            if processes > 1:
                summary = _train_on_processes(processes, options, output_dir, checkpoint_dir, attempt)
            else:
                summary = train_fn(model_path, run["task"], train, dev, Path(output_dir), Path(checkpoint_dir),
                                   params, int(run["seed"]), **task.method_kwargs(options["data"]))  # fmt: skip
        except Exception as error:
            if not training.is_out_of_memory(error):
                raise
            message = training.out_of_memory_message(batch, options["params"], params_cls, attempt)
            print(f"OUT OF MEMORY: {message}", flush=True)
            raise training.TrainingOutOfMemory(message) from error
    if batch:
        training.record_batch(output_dir, batch)
    provenance.write_json(
        Path(output_dir) / "xlie_provenance.json",
        provenance.record(
            **context, seed=int(run["seed"]), wall_time_s=time.monotonic() - started, data=data,
            model={"base": provenance.model_identity(model_path), "run": run, "method": spec.name,
                   "params": options["params"], "batch": batch, "processes": processes},
            options=options,
        ),
    )  # fmt: skip
    print(f"best dev: {summary.get('best_dev')}")


def dev_selection(model_dir: str, task) -> dict | None:
    """The source-dev score the run's model was selected on (None for a base model): what a
    table's dev-selected row compares variants by, never the test score."""
    path = Path(model_dir) / "xlie_training.json"
    if not path.is_file():
        return None
    summary = json.loads(path.read_text(encoding="utf-8"))
    metric = summary.get("selection") if isinstance(summary.get("selection"), str) else task.primary_metric
    value = (summary.get("best_dev") or {}).get(metric)
    return {"metric": metric, "value": value} if value is not None else None


def evaluate_run(options: dict, model_dir: str, out_dir: str, *, context: dict) -> None:
    """Predict and score every target language of one run with a model loaded once.

    ``options`` (:func:`eval_options`) is all the job computes from; ``context`` is only recorded."""
    from xlie.pipeline.registry import implementation, method_spec

    run, data, params = options["run"], options["data"], options["params"]
    task = task_type(run["task"])
    spec = method_spec(run["method"], options["model"]["family"])
    _, load_predictor = implementation(spec)
    # Read every target file before predicting anything: a bad file fails the job at once,
    # with its file:line, instead of after minutes of work that the failure would discard.
    target_data = {target: load_split(data, run["task"], data["eval_split"], target) for target in options["targets"]}
    train, _ = load_split(data, run["task"], "train", run["source"])
    predict = load_predictor(model_dir, run["task"], params)
    selection = dev_selection(model_dir, task)
    for target, (examples, data_id) in target_data.items():
        started = time.monotonic()
        prediction = predict(examples, desc=target)
        predicted = task.predicted(prediction)
        gold = task.gold(examples)
        cell_dir = Path(out_dir) / target
        task.write_predictions(cell_dir / "predictions.tsv", examples, predicted)
        payload = {
            "cell": {**run, "target": target},
            "scores": task.score(gold, predicted),
            "majority_baseline": task.majority_baseline(train, gold),
            "counts": {**task.counts(examples), **prediction.counts},
            "provenance": provenance.record(
                **context, seed=int(run["seed"]), wall_time_s=time.monotonic() - started, data=data_id,
                model={**provenance.model_identity(model_dir), "method": spec.name, "params": params}, options=options,
            ),
        }  # fmt: skip
        if selection is not None:
            payload["dev_selection"] = selection
        provenance.write_json(cell_dir / "metrics.json", payload)
        s = payload["scores"]
        print(f"{target}: {s['primary_name']}={s['primary']:.4f} (majority baseline "
              f"{payload['majority_baseline']['primary']:.4f}), counts {payload['counts']}")  # fmt: skip


def collect_table_metrics(cells: list[dict], runs_root: str, *, metric: str | None, out_csv: str) -> None:
    """One table's cells' metrics.json into a tidy CSV (see reporting.collect_table_metrics)."""
    from xlie.report import reporting
    frame = reporting.collect_table_metrics(cells, runs_root, metric, out_csv)
    print(f"{len(cells)} cells, {len(frame)} metric rows")


def collect_metrics(table_csvs: list[str], out_csv: str) -> None:
    """Every table's metrics in one CSV, one row per (cell, metric)."""
    from xlie.report import reporting
    frame = reporting.merge_metrics(table_csvs, out_csv)
    print(f"{len(frame)} rows, {frame.groupby(reporting.CELL_KEYS).ngroups} distinct cells")


def save_resolved_config(config: dict, out_yaml: str) -> None:
    """The resolved config beside the results, so every metrics.json's config_sha256 can be checked."""
    import yaml

    text = yaml.safe_dump(json_roundtrip(config), sort_keys=True, allow_unicode=True)
    atomic_write_text(out_yaml, f"# config_sha256: {config_hash(config)}\n{text}")


def json_roundtrip(config: dict) -> dict:
    """Plain types only (config_hash serialises the same way)."""
    import json

    return json.loads(json.dumps(config, sort_keys=True, default=str))


def _table_groups(frame: pd.DataFrame) -> dict[str, str]:
    from xlie.pipeline.languages import LANGUAGES, family_group

    return {t: family_group(t) for t in frame["target"].astype(str).unique() if t in LANGUAGES}


def baseline_reference(frame: pd.DataFrame) -> pd.DataFrame:
    """The task's floor per target (majority label, or what its task type names) as a reference row."""
    primary = frame[frame["primary"].astype(bool)]
    # Per (source, target): the floor is computed from the training (source) language's data.
    per_cell = primary.groupby(["source", "target"], sort=False)["majority_baseline"].mean() * 100
    name, how = baseline_description(set(primary["task"]))
    return pd.DataFrame({"row": name, "source": per_cell.index.get_level_values(0),
                         "target": per_cell.index.get_level_values(1), "value": per_cell.values,
                         "source_note": f"the {name[0].lower() + name[1:]} baseline ({how})"})  # fmt: skip


def baseline_description(tasks: set[str]) -> tuple[str, str]:
    """(row name, what it predicts) of the tasks' floor baseline, as their task type states it."""
    described = {(task_type(t).baseline_name, task_type(t).baseline_how) for t in tasks}
    return sorted(described)[0] if len(described) == 1 else ("Baseline", "per task: " + "; ".join(h for _, h in sorted(described)))


def artifact_reference(config: dict, kind: str, task: str, models: list[str]) -> tuple[pd.DataFrame | None, str]:
    """Reference rows from the ToPro repository's result files, when ``reference_dir`` has them.

    Returns (rows or None, a sentence for the caption). These are secondary artifacts, never the
    paper's tables, and every caption says so."""
    from xlie.papers.topro import references
    directory = Path(config["reference_dir"])
    if not directory.is_dir():
        return None, "The ToPro repository's result files (config key reference_dir) are absent, so no repository reference rows."
    display = config.get("display", {})
    if kind == "pt":
        frame, dropped = references.load_pt_reference(directory, task)
        frame = frame[frame["model"].isin(models)]
        rows = frame.groupby(["model", "target"], sort=False)["value"].mean().reset_index()
        rows["row"] = "PT (ToPro repo) / " + rows["model"].map(lambda m: display.get("models", {}).get(m, m))
        metric = {"panx": "seqeval F1 (default mode) on the target languages' DEV files",
                  "udpos": "seqeval F1 with each tag read as a chunk, not accuracy"}[task]  # fmt: skip
        note = f"prefix-tuning (PT) results from the ToPro repository's history, mean over its seeds, in MPT's metric: {metric} (secondary reference, not the paper)"
    elif kind == "llm":
        frame, dropped = references.load_llm_reference(directory, task)
        rows = frame.copy()
        rows["row"] = rows["model"] + " " + rows["mode"] + " P" + rows["pattern"].astype(str) + " (ToPro repo)"
        note = "zero-shot LLM results from the ToPro repository's history, weighted token F1 of the authors' code (secondary reference, not the paper)"
    else:
        raise ValueError(f"unknown reference kind {kind!r}")
    for reason in dropped:
        print(f"reference row dropped: {reason}")
    rows["source_note"] = note
    return rows[["row", "target", "value", "source_note"]], ""


def table_rows(config: dict, metrics_csv: str, *, paper: str, table: str) -> tuple[pd.DataFrame, list[str], set[str]]:
    """A table's metrics as its rows show them: only the (source, target) pairs it shows (``pairs``),
    with the rows selected from a method's variants (``variant_selection``). Returns (frame, caption
    notes of the selection, row keys never bold)."""
    from xlie.report import reporting
    from xlie.report import tables
    table_cfg = config["papers"][paper]["tables"][table]
    frame = tables.select_pairs(tables.with_variant(pd.read_csv(metrics_csv)), table_cfg.get("pairs", "all"))
    selection = table_cfg.get("variant_selection")
    if not selection:
        return frame, [], set()
    return reporting.select_variants(
        frame, selection, layout=tables.Layout.from_config(table_cfg.get("layout")), display=config.get("display", {}),
        variant_order=table_cfg.get("variants", {}).get(selection["method"], []))  # fmt: skip


def render_table(config: dict, metrics_csv: str, *, paper: str, table: str, out_tex: str, out_html: str) -> None:
    """One table (and its verdict and paired-test companions) in LaTeX and HTML."""
    from xlie.report import reporting
    from xlie.report import tables
    from xlie.report import verdict
    table_cfg = config["papers"][paper]["tables"][table]
    display = config.get("display", {})
    rep_cfg = config.get("reporting", {})
    frame, selection_notes, unranked = table_rows(config, metrics_csv, paper=paper, table=table)
    layout = tables.Layout.from_config(table_cfg.get("layout"))
    summary = tables.cell_summary(frame, paper, table)
    # Explicit layout groups replace the language families.
    groups = _table_groups(frame) if layout.columns == "target" and layout.group_averages and not layout.groups else {}
    flags = reporting.cell_flags(frame, rep_cfg)

    reference_parts = [baseline_reference(frame)] if frame["majority_baseline"].notna().any() else []
    notes_after: list[str] = []
    if table_cfg.get("reference"):
        rows, missing = artifact_reference(config, table_cfg["reference"], table_cfg["task"], table_cfg["models"])
        reference_parts += [rows] if rows is not None else []
        notes_after += [missing] if missing else []
    reference = pd.concat(reference_parts, ignore_index=True) if reference_parts else None
    reported = None
    if table_cfg.get("reported"):
        values = tables.read_reported(table_cfg["reported"]["file"], paper, table)
        reported = tables.Reported(values, dict(table_cfg["reported"].get("compare", {})))

    grid = tables.build_grid(summary, layout=layout, groups=groups, reference=reference, reported=reported, flags=flags,
                             display=display, model_order=table_cfg["models"], method_order=table_cfg["methods"],
                             variant_order=table_cfg.get("variants"), unranked=unranked,
                             relative_improvement=table_cfg.get("relative_improvement"))  # fmt: skip
    metric = str(frame.loc[frame["primary"].astype(bool), "metric"].iloc[0])
    caption = table_cfg.get("caption") or f"{paper} {table}"
    average = [reporting.average_note(layout, summary, groups)] if len(grid.headers) > 1 else []  # one column: no Avg
    facts = [f"Metric: {reporting.metric_name(config, metric, table_cfg['task'])}, in %.", reporting.seeds_note(summary, display),
             *average, "Bold: best of our unflagged rows per column."]  # fmt: skip
    notes = facts + selection_notes + list(grid.notes) + reporting.flag_notes(flags, rep_cfg, baseline_description(set(frame["task"]))[0])
    if reference is not None:
        notes.append("Italic rows at the bottom: " + "; ".join(dict.fromkeys(reference["source_note"])) + ".")
    notes += notes_after

    settings = verdict.VerdictSettings(rep_cfg.get("confidence", 0.95), rep_cfg.get("bootstrap_resamples", 1000),
                                       rep_cfg.get("bootstrap_seed", 0), rep_cfg.get("min_seeds_for_t", 3))  # fmt: skip
    companions = []
    if reported is not None and reported.compare:
        verdicts = reporting.verdict_frame(frame, reported, layout, settings, display)
        summary_text = verdict.verdict_summary(verdicts)
        notes.append(f"Reproduction verdict: {summary_text} (paper's number inside our {settings.confidence:.0%} interval; see the verdict table).")
        atomic_write_text(Path(out_tex).with_suffix(".verdict.csv"), verdicts.to_csv(index=False))
        companions.append((reporting.verdict_grid(verdicts, layout, settings.confidence),
                           f"Reproduction verdict for {caption.rstrip('.')}: {summary_text}. Interval: t over seeds when a cell has "
                           f"at least {settings.min_seeds_for_t}, else bootstrap over test examples ({settings.resamples} resamples).",
                           f"tab:{paper}-{table}-verdict", tables.Layout()))  # fmt: skip
    if table_cfg.get("paired_tests"):
        paired = reporting.paired_grid(frame, table_cfg["paired_tests"], layout, settings, display)
        if paired is not None:
            companions.append((paired, f"Paired bootstrap tests for {caption.rstrip('.')}: difference in % and two-sided "
                               f"p-value over {settings.resamples} resamples of the test examples (bold: p < {1 - settings.confidence:.2f}).",
                               f"tab:{paper}-{table}-paired", layout))  # fmt: skip

    demo = config["demo"]
    full_caption = tables.caption_with_notes(caption, notes, demo)
    tex = [tables.render_grid_latex(grid, caption=full_caption, label=f"tab:{paper}-{table}", layout=layout)]
    html = [tables.render_grid_html(grid, caption=full_caption, layout=layout)]
    for comp_grid, comp_caption, label, comp_layout in companions:
        text = tables.caption_with_notes(comp_caption, [], demo)
        tex.append(tables.render_grid_latex(comp_grid, caption=text, label=label, layout=comp_layout))
        html.append(tables.render_grid_html(comp_grid, caption=text, layout=comp_layout))
    atomic_write_text(out_tex, "\n\n".join(tex) + "\n")
    atomic_write_text(out_html, tables.html_page(f"{paper} {table}", html))


def render_diagnostics(config: dict, metrics_csvs: list[str], *, paper: str, out_tex: str, out_html: str) -> None:
    """Per paper and task: the share of fallback / unparsed / truncated predictions per cell."""
    from xlie.report import reporting
    from xlie.report import tables
    rep_cfg = config.get("reporting", {})
    grids = reporting.diagnostics_grids([pd.read_csv(p) for p in metrics_csvs], rep_cfg, config.get("display", {}))
    tex, html = [], []
    for task, grid in grids.items():
        caption = tables.caption_with_notes(
            f"Diagnostics of {paper}, {task}: share (%) of each cell's predictions that fell back to a default label, "
            f"went unparsed or were truncated, mean over seeds; only counts that occur are listed. Bold: above the flag "
            f"threshold ({rep_cfg.get('flag_share', 0.05):.0%}), marked {tables.MARK_DEGENERATE} in the result tables.",
            [], config["demo"])  # fmt: skip
        tex.append(tables.render_grid_latex(grid, caption=caption, label=f"tab:{paper}-{task}-diagnostics",
                                            layout=tables.Layout(orientation="columns")))  # fmt: skip
        html.append(tables.render_grid_html(grid, caption=caption))
    atomic_write_text(out_tex, "\n\n".join(tex) + "\n")
    atomic_write_text(out_html, tables.html_page(f"{paper} diagnostics", html))


def plot_table(config: dict, metrics_csv: str, *, paper: str, table: str, out_png: str, out_pdf: str) -> None:
    from xlie.report.plots import plot_per_language

    from xlie.report import tables
    table_cfg = config["papers"][paper]["tables"][table]
    frame, _, _ = table_rows(config, metrics_csv, paper=paper, table=table)
    metric = str(frame.loc[frame["primary"].astype(bool), "metric"].iloc[0])
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    plot_per_language(frame, paper=paper, table=table, title=_short_title(config, paper, table), out_png=out_png,
                      out_pdf=out_pdf, demo=config["demo"], display=config.get("display", {}),
                      metric_label=_metric_label(config, metric, table_cfg["task"]), model_order=table_cfg["models"],
                      method_order=table_cfg["methods"], flagged=_flagged(config, frame),
                      layout=tables.Layout.from_config(table_cfg.get("layout")),
                      variant_order=table_cfg.get("variants"),
                      baseline_label=baseline_description({table_cfg["task"]})[0])  # fmt: skip


def _flagged(config: dict, frame: pd.DataFrame) -> dict[tuple[str, str, str, str, str], str]:
    """(method, variant, model, source, target) -> the marks the tables give that cell (plots hatch
    or mark those cells)."""
    from xlie.report import reporting
    flags = reporting.cell_flags(frame, config.get("reporting", {}))
    return {(f.method, str(f.variant), f.model, str(f.source), str(f.target)): f.marks for f in flags.itertuples() if f.marks}


def _metric_label(config: dict, metric: str, task: str | None = None) -> str:
    from xlie.report import reporting
    return f"{reporting.metric_name(config, metric, task)} (%)"


def _short_title(config: dict, paper: str, table: str) -> str:
    """The caption's first clause (before ':' or ','), short enough for a plot title."""
    caption = config["papers"][paper]["tables"][table].get("caption") or f"{paper} {table}"
    return caption.split(":")[0].strip()


def plot_gain(config: dict, metrics_csv: str, *, paper: str, table: str, out_png: str, out_pdf: str, out_csv: str) -> None:
    """ToPro's gain over Vanilla per language, against the language's family group."""
    from xlie.report.plots import plot_gain_by_group

    frame = pd.read_csv(metrics_csv)
    groups = _table_groups(frame)
    display = config.get("display", {})
    gains = plot_gain_by_group(frame, paper=paper, table=table, method="topro", baseline="vanilla", groups=groups,
                               title=f"ToPro minus Vanilla: {_short_title(config, paper, table)}", out_png=out_png,
                               out_pdf=out_pdf, demo=config["demo"], display=display,
                               flagged={(me, mo, t) for me, _, mo, _, t in _flagged(config, frame)})  # fmt: skip
    with atomic_path(out_csv) as tmp:
        gains.to_csv(tmp, index=False)
    print(gains.groupby(["model", "group"])["gain"].mean().to_string())


def plot_heatmap(config: dict, metrics_csv: str, *, paper: str, table: str, out_png: str, out_pdf: str) -> None:
    """A table's method variants (templates) x its columns, mean test score per cell (``heatmap: true``)."""
    from xlie.report import tables
    from xlie.report.plots import plot_variant_heatmap

    table_cfg = config["papers"][paper]["tables"][table]
    if not table_cfg.get("variants"):
        raise ValueError(f"papers.{paper}.tables.{table}.heatmap needs papers.{paper}.tables.{table}.variants "
                         "(the method whose variants are the heatmap's rows)")  # fmt: skip
    method = next(iter(table_cfg["variants"]))
    frame = tables.select_pairs(tables.with_variant(pd.read_csv(metrics_csv)), table_cfg.get("pairs", "all"))
    metric = str(frame.loc[frame["primary"].astype(bool), "metric"].iloc[0])
    display = config.get("display", {})
    method_name = display.get("methods", {}).get(method, method)
    means = plot_variant_heatmap(
        frame, paper=paper, table=table, method=method, title=f"{method_name} variants: {_short_title(config, paper, table)}",
        out_png=out_png, out_pdf=out_pdf, demo=config["demo"], display=display, metric_label=_metric_label(config, metric, table_cfg["task"]),
        layout=tables.Layout.from_config(table_cfg.get("layout")), variant_order=table_cfg["variants"][method],
        model_order=table_cfg["models"], flagged=_flagged(config, frame))  # fmt: skip
    print(means.pivot_table(index="variant", columns="column", values="mean", sort=False).round(1).to_string())
