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
    from xlie.papers.alignxie.schema import Schema, SchemaError
    from xlie.papers.alignxie.scorer import InputFileError, score_files

    try:
        schema = None
        if args.schema is not None:
            try:
                data = json.loads(Path(args.schema).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
                raise InputFileError(f"{args.schema}: cannot read the schema: {err}") from None
            schema = Schema.from_dict(data, source=str(args.schema))
        result = score_files(
            args.task, args.gold, args.predictions, outliers=args.filter_outliers, schema=schema, dedupe=args.dedupe
        )
    except (InputFileError, SchemaError) as err:
        print(f"xlie score-ie: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


def _plan(args: argparse.Namespace) -> int:
    from xlie.pipeline.config import ConfigError
    from xlie.pipeline.plan import plan

    try:
        print(plan(args.configfile, args.config, out=args.out))
    except (ConfigError, ValueError, OSError) as err:
        print(f"xlie plan: error: {err}", file=sys.stderr)
        return 2
    return 0


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
        "--filter-outliers",
        action="store_true",
        help="drop predicted spans absent from the sentence (and, with --schema, classes outside it)",
    )
    score.add_argument("--schema", type=Path, metavar="SCHEMA.json", help="type inventory for --filter-outliers")
    score.add_argument("--dedupe", action="store_true", help="compare sets per instance instead of multisets")
    score.set_defaults(run=_score_ie)

    plan = commands.add_parser(
        "plan",
        help="print the GPU jobs and estimated GPU-hours of a preset, running nothing",
        description="Run in the repository root. Resolves the config as `snakemake` would (config.yaml, "
        "--configfile, --config on the preset) and prints, per rule, paper, task, model and method: GPU jobs, "
        "those with outputs present, what each asks for (config key resources) and GPU-hours from the config's "
        "cost_model (rough figures) or the requested runtime (an upper bound). Writes the table to --out.",
    )
    plan.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE", help="as snakemake --config")
    plan.add_argument("--configfile", nargs="*", default=[], metavar="FILE", help="as snakemake --configfile")
    plan.add_argument(
        "--out", default="results/plan.tsv", metavar="PLAN.tsv", help="where the table goes (default: %(default)s)"
    )
    plan.set_defaults(run=_plan)

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
