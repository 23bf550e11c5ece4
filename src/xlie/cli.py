"""`python -m xlie <command>`: command-line entry points, one argparse subcommand each.

Commands import their modules lazily so that a light command does not pay for torch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence


def _score_ie(args: argparse.Namespace) -> int:
    from xlie.papers.alignxie.knowcoder_protocol import UpperTypesError, load_upper_types
    from xlie.papers.alignxie.schema import Schema, SchemaError
    from xlie.papers.alignxie.scorer import InputFileError, score_files

    if args.protocol == "knowcoder" and args.dedupe:
        print("xlie score-ie: error: --dedupe is for --protocol strict (knowcoder counts duplicates)", file=sys.stderr)
        return 2
    if args.protocol == "strict" and args.wikidata_upper is not None:
        print("xlie score-ie: error: --wikidata-upper is for --protocol knowcoder", file=sys.stderr)
        return 2
    try:
        upper_types = load_upper_types(args.wikidata_upper) if args.wikidata_upper is not None else None
        schema = None
        if args.schema is not None:
            try:
                data = json.loads(Path(args.schema).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
                raise InputFileError(f"{args.schema}: cannot read the schema: {err}") from None
            schema = Schema.from_dict(data, source=str(args.schema))
        result = score_files(
            args.task,
            args.gold,
            args.predictions,
            outliers=args.filter_outliers,
            schema=schema,
            dedupe=args.dedupe,
            protocol=args.protocol,
            upper_types=upper_types,
        )
    except (InputFileError, SchemaError, UpperTypesError) as err:
        print(f"xlie score-ie: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


def _metrics(args: argparse.Namespace) -> int:
    from xlie.pipeline.registry import all_methods, known_metrics

    authors = {}
    for (method, kind), spec in all_methods().items():
        if spec.authors_metric:
            authors.setdefault(spec.authors_metric, []).append(f"{method} ({kind})")
    for metric in sorted(known_metrics(args.task), key=lambda m: (m.task, m.name)):
        used_by = authors.get(metric.name, [])
        print(
            f"{metric.task}\t{metric.name}\t{metric.caption}"
            + (f"\t[authors' metric of {', '.join(used_by)}]" if used_by else "")
        )
    return 0


def _plan(args: argparse.Namespace) -> int:
    from xlie.pipeline.config import ConfigError
    from xlie.pipeline.plan import plan

    try:
        print(plan(args.configfile, args.config, out=args.out, cost_model_file=args.cost_model))
    except (ConfigError, ValueError, OSError) as err:
        print(f"xlie plan: error: {err}", file=sys.stderr)
        return 2
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from xlie.pipeline.calibrate import calibrate
    from xlie.pipeline.config import ConfigError

    try:
        summary, skipped = calibrate(args.configfile, args.config, out=args.out, only=args.only, steps=args.steps)
    except (ConfigError, ValueError, OSError) as err:
        print(f"xlie calibrate: error: {err}", file=sys.stderr)
        return 2
    print(summary)
    return 1 if skipped else 0


def _preflight(args: argparse.Namespace) -> int:
    from xlie.pipeline.config import ConfigError
    from xlie.pipeline.preflight import preflight

    try:
        report = preflight(args.configfile, args.config)
    except (ConfigError, ValueError, OSError) as err:
        print(f"xlie preflight: error: {err}", file=sys.stderr)
        return 2
    print(report.render())
    return 0 if report.passed else 1


def _standins(args: argparse.Namespace) -> int:
    from xlie.pipeline.standins import build_hub_cache

    try:
        records = build_hub_cache(args.out, args.model, seed=args.seed)
    except (ValueError, OSError) as err:
        print(f"xlie standins: error: {err}", file=sys.stderr)
        return 2
    for model_id, record in records.items():
        print(f"{model_id}\t{record['tokenizer_class']}\t{record['architecture']}\t{record['snapshot']}")
    print(f"load them with HF_HUB_CACHE={args.out} HF_HUB_OFFLINE=1", file=sys.stderr)
    return 0


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """The config as snakemake takes it (config.yaml, then --configfile, then --config on the preset)."""
    parser.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE", help="as snakemake --config")
    parser.add_argument("--configfile", nargs="*", default=[], metavar="FILE", help="as snakemake --configfile")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m xlie", description="xlie command-line tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    score = commands.add_parser(
        "score-ie",
        help="score code-style IE predictions (KnowCoder/AlignXIE format) against gold",
        description="Micro P/R/F1 on strings of code-style IE outputs, parsed without executing them. "
        "GOLD lines: {id, sentence, output}; PRED lines: {id, output}, e.g. a code-style IE cell's "
        "predictions.jsonl (with its set's JSONL as GOLD). A gold id with no prediction "
        "counts as an empty prediction. Prints one JSON object; exit status 2 for a malformed file.",
    )
    score.add_argument("--task", required=True, choices=["ner", "re", "ed", "eae"])
    score.add_argument("--gold", required=True, type=Path, metavar="GOLD.jsonl")
    score.add_argument("--predictions", required=True, type=Path, metavar="PRED.jsonl")
    score.add_argument(
        "--protocol",
        choices=["strict", "knowcoder"],
        default="strict",
        help="strict (default): exact class and span strings, duplicates as a multiset, no filter unless "
        "--filter-outliers. knowcoder: KnowCoder's evaluation as its eval.sh runs it (EM match, "
        "xlie.papers.alignxie.knowcoder_protocol): type and role names normalised (CamelCase, '-', '_', "
        "case), ACE event subtypes mapped onto their parent types (ED), the entity type 'other' dropped, "
        "every copy of a correct prediction a true positive (recall can exceed 1), NER/RE read from "
        "positional calls only, and its outlier filter always on against the sentence and --schema",
    )
    score.add_argument(
        "--filter-outliers",
        action="store_true",
        help="strict: drop predicted spans absent from the sentence (and, with --schema, classes outside it); "
        "knowcoder filters always",
    )
    score.add_argument(
        "--schema",
        type=Path,
        metavar="SCHEMA.json",
        help="type inventory for the outlier filter's class check (strict: with --filter-outliers; knowcoder: "
        "always; without it knowcoder checks no class)",
    )
    score.add_argument("--dedupe", action="store_true", help="strict: compare sets per instance, not multisets")
    score.add_argument(
        "--wikidata-upper",
        type=Path,
        metavar="UPPER.json",
        help="knowcoder, NER: eval.sh's wikidata_upper (implemented; off without this file). A predicted "
        "entity type also matches the gold types this JSON object lists for it ({normalised type: [type "
        "names]}): what KnowCoder's convert_type derives from its name2qid.json, qid2name.json and "
        "wikidata_ontology.owl, which are not released",
    )
    score.set_defaults(run=_score_ie)

    plan = commands.add_parser(
        "plan",
        help="print the GPU jobs and estimated GPU-hours of a preset, running nothing",
        description="Run in the repository root. Resolves the config as `snakemake` would (config.yaml, "
        "--configfile, --config on the preset) and prints, per rule, paper, task, model and method: GPU jobs, "
        "those with outputs present, what each asks for (config key resources) and GPU-hours from the config's "
        "cost_model (rough figures, or measured ones: cost_model.calibrated) or the requested runtime (an upper bound), "
        "and the same campaign under the authors' recipe (cost_model authors_ratio). Writes the table to --out.",
    )
    _add_config_options(plan)
    plan.add_argument(
        "--out", default="results/plan.tsv", metavar="PLAN.tsv", help="where the table goes (default: %(default)s)"
    )
    plan.add_argument(
        "--cost-model",
        default=None,
        metavar="FILE",
        help="a cost_model file (what `calibrate` writes) whose measured figures replace the config's cost_model "
        "(as the config key cost_model.calibrated does for plan and workflow alike); its rows say basis measured",
    )
    plan.set_defaults(run=_plan)

    check = commands.add_parser(
        "preflight",
        help="check each planned model's tokenizer and config against what its jobs need, loading no weights",
        description="Run in the repository root. Resolves the config as `snakemake` would (as `plan` does) and, "
        "for every model of the planned cells, loads only its tokenizer and config to check what the jobs need: "
        "the architecture against models.<m>.family, special tokens, max lengths against the positions, and each "
        "paper's words, template pieces, language codes and stop strings. Prints one table (model, check, "
        "result); exit status 1 when a check fails (its line names the model, the word or key and the fix), "
        "2 for a bad config. A workflow run does this before its first job.",
    )
    _add_config_options(check)
    check.set_defaults(run=_preflight)

    calibration = commands.add_parser(
        "calibrate",
        help="time each planned (model, method, task) path for a few steps here and write measured GPU-hours",
        description="Run in the repository root, after preflight and before the campaign, on the hardware the "
        "campaign will use. Resolves the config as `plan` does and, for the first planned run of each distinct "
        "(model, method, task), trains one epoch on --steps optimiser steps' examples and on twice as many and predicts --steps and "
        "twice as many evaluation batches of its first target, on the configured data and models; from the "
        "rates (examples/s), load times and the full data sizes (training examples x epochs, examples per "
        "target) it writes a cost_model file with per-job GPU-hours, marked measured (hardware, date, steps), "
        "which the config key cost_model.calibrated (or `python -m xlie plan --cost-model FILE`) puts to use in the "
        "plan and in the runtime each workflow job asks for. Prints one line per path, with its peak memory; a path "
        "whose inputs are not built yet is skipped (exit status 1): `snakemake --omit-from train_run evaluate_run` "
        "(same --config) builds every job's data and models first.",
    )
    _add_config_options(calibration)
    calibration.add_argument(
        "--out", default="results/cost_model.calibrated.yaml", metavar="FILE", help="(default: %(default)s)"
    )
    calibration.add_argument(
        "--only", nargs="+", default=None, metavar="MODEL/METHOD[/TASK]", help="only these paths (default: all)"
    )
    calibration.add_argument(
        "--steps", type=int, default=2, help="optimiser steps and evaluation batches of the shorter timing (default: 2)"
    )
    calibration.set_defaults(run=_calibrate)

    metrics = commands.add_parser(
        "metrics",
        help="list the metrics a table can show, per task, with their caption text",
        description="One line per registered metric: task, name (a table's `metric` key, or `authors` for each "
        "row's authors' metric), the caption text tables and plots use, and which methods' authors scored with it.",
    )
    metrics.add_argument("--task", default=None, help="only this task's metrics")
    metrics.set_defaults(run=_metrics)

    standins = commands.add_parser(
        "standins",
        help="build tiny random-init stand-ins of the paper preset's hub models into a hub cache",
        description="Writes, for each hub id, a tiny randomly initialised checkpoint with the real tokenizer class "
        "and conventions and the real architecture class, trained on the shipped demo text, as a Hugging Face hub "
        "cache: with HF_HUB_CACHE=OUT and HF_HUB_OFFLINE=1 the paper preset loads them by its own ids. Each snapshot "
        "holds an xlie_build.json saying it is a stand-in. Prints one line per model: id, tokenizer class, "
        "architecture, snapshot folder.",
    )
    standins.add_argument("--out", required=True, type=Path, metavar="DIR", help="the hub cache folder")
    standins.add_argument(
        "--model", nargs="+", default=None, metavar="ID", help="hub ids to build (default: every stand-in)"
    )
    standins.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default: %(default)s)")
    standins.set_defaults(run=_standins)

    # Internal: one worker of a training job run on several GPUs (launched by xlie.pipeline.jobs.train_run).
    worker = commands.add_parser("train-worker", help="(internal) one process of a training job run on several GPUs")
    worker.add_argument("job", metavar="JOB.json")
    worker.set_defaults(run=_train_worker)
    return parser


def _train_worker(args: argparse.Namespace) -> int:
    from xlie.pipeline.jobs import train_worker

    train_worker(args.job)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)
