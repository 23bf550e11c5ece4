"""What each workflow step does, as plain functions of paths and config.

Snakemake scripts only unpack their ``snakemake`` object and call one of these, so every
step can be run and tested without Snakemake.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from xlie.pipeline import provenance
from xlie.pipeline.runtime import atomic_write_text, die_with_parent
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
    for family, record in build(
        corpus, {f: Path(p) for f, p in out_dirs.items()}, options["size"], options["seed"]
    ).items():
        print(f"built tiny {family}: {record['architecture']}, {record['parameters']:,} parameters")


CONVERTED_MODELS_DIR = "results/models/converted"


def is_converted(model: dict) -> bool:
    """``models.<m>.convert`` applies: a loaded checkpoint (a tiny model is built in a native layout)."""
    return bool(model.get("convert")) and not model.get("tiny", False)


def model_load_path(config: dict, name: str) -> str:
    """Where the jobs load model ``name`` from: its converted copy when it is converted (the
    convert_model rule writes it), else ``models.<name>.path``."""
    model = config["models"][name]
    return f"{CONVERTED_MODELS_DIR}/{name}" if is_converted(model) else model["path"]


def local_checkpoint(path: str) -> Path:
    """A model directory on disk: ``path`` itself, or a hub id's snapshot in the hub cache, downloaded
    unless HF_HUB_OFFLINE is set (then it must be cached). Only weights, JSON and tokenizer.model
    are fetched: the repository's Python files are never needed, so never downloaded."""
    if Path(path).expanduser().is_dir():
        return Path(path).expanduser()
    from huggingface_hub import constants, snapshot_download

    allow = ["*.json", "*.safetensors", "*.bin", "tokenizer.model"]
    return Path(snapshot_download(path, allow_patterns=allow, local_files_only=constants.HF_HUB_OFFLINE))


def convert_model(kind: str, source: str, out_dir: str) -> dict:
    """``models.<m>.convert``: the checkpoint ``source`` (a directory or a hub id) written into
    ``out_dir`` in a layout transformers, peft and vLLM load natively; returns the conversion record."""
    from xlie.pipeline import baichuan

    converters = {"baichuan": baichuan.convert_baichuan}
    if kind not in converters:
        raise ValueError(f"unknown model conversion {kind!r}; known: {', '.join(converters)}")
    record = converters[kind](local_checkpoint(source), Path(out_dir))
    print(f"converted {source} ({record['from']['architecture']}) into {out_dir} ({record['to']['architecture']})")
    return record


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
    limit = block.get("max_train_sentences")  # typed when the config was resolved (xlie.pipeline.training_blocks)
    params = {k: v for k, v in block.items() if k not in WORKFLOW_KEYS}
    if spec.variant_param:
        params[spec.variant_param] = run["variant"]
    return params, limit


def _whole_as_int(text: str) -> int | float:
    number = float(text)
    return int(number) if number.is_integer() else number


def _canonical(value):
    """Sorted-key JSON types, a whole number always an int: Snakemake compares params by repr, so
    equal options must print alike (``epochs: 1.0`` and the preset's ``1``, a default ``0.0``)."""
    return json.loads(json.dumps(value, sort_keys=True), parse_float=_whole_as_int)


def _method_options(config: dict, run: dict) -> tuple[dict, int | None]:
    """(what every job of ``run`` reads: run, method, its params, model, data; training-sentence limit)."""
    from xlie.pipeline.registry import method_spec

    model = config["models"][run["model"]]
    params, limit = method_params(config, run)
    options = {
        "run": run,
        "method": method_spec(run["method"], model["family"]).name,
        "params": params,
        "model": {"path": model_load_path(config, run["model"]), "family": model["family"]},
        "data": task_type(run["task"]).data_options(config),
    }
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


def _training_inputs(options: dict, attempt: int, processes: int = 1):
    """What a training run computes from: (task, spec, params class, params for this attempt, batch
    record, train, dev, data identities). The same in the launching process and in every worker."""
    from xlie.pipeline.registry import method_spec, params_class
    from xlie.pipeline import training

    run = options["run"]
    task = task_type(run["task"])
    spec = method_spec(run["method"], options["model"]["family"])
    params_cls = params_class(spec)
    params, batch = training.batch_for_attempt(options["params"], params_cls, attempt, processes)
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

    from xlie.pipeline.registry import implementation, load_package
    from xlie.pipeline.training import data_parallel_processes

    # torchrun starts its workers in a session of their own: a SIGKILLed torchrun would leave them training.
    die_with_parent()
    job = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    for package in job["packages"]:  # the launching job's papers (one of them may define this run's task)
        load_package(package)
    options, attempt = job["options"], job["attempt"]
    rank = int(os.environ.get("RANK", "0"))
    task, spec, _, params, _, train, dev, _ = _training_inputs(options, attempt, data_parallel_processes())
    train_fn, _ = implementation(spec)
    output_dir = Path(job["output_dir"]) if rank == 0 else Path(job["scratch_dir"]) / f"rank{rank}"
    summary = train_fn(
        options["model"]["path"],
        options["run"]["task"],
        train,
        dev,
        output_dir,
        Path(job["checkpoint_dir"]),
        params,
        int(options["run"]["seed"]),
        **task.method_kwargs(options["data"]),
    )
    if rank == 0:
        atomic_write_text(job["summary_path"], json.dumps(summary, default=str) + "\n")


def _train_on_processes(processes: int, options: dict, output_dir: str, checkpoint_dir: str, attempt: int) -> dict:
    """Run the method's training in ``processes`` worker processes (torchrun, one per GPU) and
    return rank 0's summary; a failed worker fails the job with torchrun's exit status."""
    import shutil
    import subprocess
    import sys
    import tempfile

    from xlie.pipeline.registry import loaded_packages

    scratch = Path(tempfile.mkdtemp(prefix=".xlie-workers-", dir=Path(output_dir).parent))
    job = {
        "options": options,
        "attempt": attempt,
        "output_dir": str(output_dir),
        "checkpoint_dir": str(checkpoint_dir),
        "scratch_dir": str(scratch),
        "summary_path": str(scratch / "summary.json"),
        "packages": loaded_packages(),
    }
    (scratch / "job.json").write_text(json.dumps(job), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={processes}",
        "-m",
        "xlie",
        "train-worker",
        str(scratch / "job.json"),
    ]
    print(f"training on {processes} processes: {' '.join(command)}", flush=True)
    try:
        # torchrun ends with this job (and its workers with torchrun: train_worker), whatever kills it.
        subprocess.run(command, check=True, preexec_fn=die_with_parent)
        return json.loads((scratch / "summary.json").read_text(encoding="utf-8"))
    except subprocess.CalledProcessError as error:
        raise RuntimeError(
            f"training on {processes} processes failed (torchrun exit status {error.returncode}); "
            "the workers' errors are above in this log"
        ) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def train_run(
    options: dict,
    output_dir: str,
    checkpoint_dir: str,
    *,
    keep_checkpoints: bool,
    context: dict,
    attempt: int = 1,
    processes: int = 1,
) -> None:
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
    task, spec, params_cls, params, batch, train, dev, data = _training_inputs(options, attempt, processes)
    train_fn, _ = implementation(spec)
    if attempt > 1:
        print(
            f"attempt {attempt} (after running out of memory): "
            + (training.describe_batch(batch) if batch else "this method has no batch_size to lower")
        )
    model_path = options["model"]["path"]
    expected = checkpoints.manifest(
        options,
        {**data, "base_model": provenance.model_fingerprint(model_path)},
        effective_batch_size=batch["effective_batch_size"] if batch else None,
    )
    with checkpoints.training_checkpoints(checkpoint_dir, expected, keep=keep_checkpoints):
        try:
            training.inject_out_of_memory(attempt)
            if processes > 1:
                summary = _train_on_processes(processes, options, output_dir, checkpoint_dir, attempt)
            else:
                summary = train_fn(
                    model_path,
                    run["task"],
                    train,
                    dev,
                    Path(output_dir),
                    Path(checkpoint_dir),
                    params,
                    int(run["seed"]),
                    **task.method_kwargs(options["data"]),
                )
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
            **context,
            seed=int(run["seed"]),
            wall_time_s=time.monotonic() - started,
            data=data,
            model={
                "base": provenance.model_identity(model_path),
                "run": run,
                "method": spec.name,
                "params": options["params"],
                "batch": batch,
                "processes": processes,
            },
            options=options,
        ),
    )
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


def add_authors_metric(name: str, task, scores: dict, floor: dict, examples: list, prediction, train: list) -> None:
    """Add to a cell's scores and its floor baseline the metric the method's authors scored it with
    (``MethodSpec.authors_metric``), computed by the metric's registered function where the task's
    own ``score`` lacks it; ``scores["authors_metric"]`` names it (what ``metric: authors`` shows)."""
    from xlie.pipeline.registry import metric_spec, resolve

    if name not in scores:
        metric = metric_spec(task.name, name)
        if metric is None or metric.function is None:
            raise ValueError(f"authors_metric {name!r} is not a metric of task {task.name!r} with a function")
        function = resolve(metric.function)
        scores[name] = function(examples, task.predicted(prediction), getattr(prediction, "outputs", None))
        floor[name] = function(examples, task.floor_predictions(train, examples), None)
    scores["authors_metric"] = name


def evaluate_run(
    options: dict,
    model_dir: str,
    out_dir: str,
    *,
    context: dict,
    checkpoint_dir: str | None = None,
    keep_checkpoints: bool = False,
    chunk_examples: int | None = None,
) -> None:
    """Predict and score every target language of one run with a model loaded once.

    ``options`` (:func:`eval_options`) is all the job computes from; ``context`` is only recorded.
    Each target is predicted in chunks of ``chunk_examples`` examples (default
    ``eval_resume.CHUNK_EXAMPLES``), each stored under ``checkpoint_dir`` (a temporary directory
    when None) as soon as it is done, so that a killed job started again reuses them and writes the
    predictions and metrics an uninterrupted run writes (:mod:`xlie.pipeline.eval_resume`); they are
    removed once the job succeeds unless ``keep_checkpoints``."""
    import tempfile

    from xlie.pipeline import eval_resume
    from xlie.pipeline.registry import implementation, method_spec

    run, data, params = options["run"], options["data"], options["params"]
    task = task_type(run["task"])
    spec = method_spec(run["method"], options["model"]["family"])
    _, load_predictor = implementation(spec)
    chunk_examples = chunk_examples or eval_resume.CHUNK_EXAMPLES
    # Read every target file before predicting anything: a bad file fails the job at once,
    # with its file:line, instead of after minutes of work that the failure would discard.
    target_data = {target: load_split(data, run["task"], data["eval_split"], target) for target in options["targets"]}
    train, _ = load_split(data, run["task"], "train", run["source"])
    fingerprint = eval_resume.model_fingerprint(model_dir)
    predict = load_predictor(model_dir, run["task"], params)
    selection = dev_selection(model_dir, task)
    with contextlib.ExitStack() as stack:
        if checkpoint_dir is None:  # nothing to resume from: the chunks live as long as the job
            checkpoint_dir = str(Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="xlie-eval-"))) / "eval")
        store = stack.enter_context(eval_resume.partial_predictions(checkpoint_dir, keep=keep_checkpoints))
        for target, (examples, data_id) in target_data.items():
            started = time.monotonic()
            expected = eval_resume.target_manifest(options, target, data_id, fingerprint, chunk_examples)
            prediction, chunks = store.predict(target, expected, predict, examples, chunk_examples)
            predicted = task.predicted(prediction)
            gold = task.gold(examples)
            cell_dir = Path(out_dir) / target
            task.write_predictions(cell_dir / task.predictions_file, examples, predicted)
            scores, floor = task.score(gold, predicted), task.floor_baseline(train, gold)
            if spec.authors_metric:
                add_authors_metric(spec.authors_metric, task, scores, floor, examples, prediction, train)
            payload = {
                "cell": {**run, "target": target},
                "scores": scores,
                "floor_baseline": floor,
                "counts": {**task.counts(examples), **prediction.counts},
                "provenance": provenance.record(
                    **context,
                    seed=int(run["seed"]),
                    wall_time_s=time.monotonic() - started,
                    data=data_id,
                    model={**provenance.model_identity(model_dir), "method": spec.name, "params": params},
                    options=options,
                ),
            }
            payload["provenance"]["chunks"] = chunks  # how many were predicted before this job (resumed)
            if selection is not None:
                payload["dev_selection"] = selection
            provenance.write_json(cell_dir / "metrics.json", payload)
            s = payload["scores"]
            print(
                f"{target}: {s['primary_name']}={s['primary']:.4f} ({task.baseline_name.lower()} baseline "
                f"{payload['floor_baseline']['primary']:.4f}), counts {payload['counts']}"
            )
