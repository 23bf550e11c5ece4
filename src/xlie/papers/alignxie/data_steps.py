"""The AlignXIE data steps the workflow runs (rules convert_multiconer, build_parallel_ner, build_tip).

Each is a plain function of paths and options, so it runs and is tested without Snakemake; the
scripts in workflow/scripts/papers/alignxie/ only unpack their ``snakemake`` object and call one of these.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Sequence

import yaml

from xlie.papers.alignxie.parallel_ner import (
    NerSample,
    Translator,
    build_parallel_ner,
    read_parallel_jsonl,
    translator_from_config,
    write_parallel_jsonl,
)
from xlie.papers.alignxie.parser import parse_output
from xlie.papers.alignxie.paths import split_direction
from xlie.papers.alignxie.schema import Schema, SchemaError, render_prompt
from xlie.papers.alignxie.scorer import InputFileError, read_jsonl
from xlie.papers.alignxie.tip import TIP_INSTRUCTION, TipError, tip_instances_both_ways
from xlie.papers.alignxie import multiconer, parallel_sources
from xlie.papers.alignxie.parallel_sources import PAPER_PARALLEL_NER_SAMPLES
from xlie.pipeline.runtime import atomic_write


def load_schema(path: str | Path) -> Schema:
    """A schema YAML file (Schema.from_dict format); errors name the file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise SchemaError(f"{path}: cannot read the schema: {err}") from None
    return Schema.from_dict(data, source=str(path))


def _write_rows(path: str | Path, header: Sequence[str], rows) -> None:
    with atomic_write(path, newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


# ---------------------------------------------------------------- convert_multiconer


def convert_multiconer_step(conll_path: str, schema_path: str, lang: str, out_path: str, stats_path: str) -> str:
    """One MultiCoNER-style CoNLL file -> code-style JSONL and its statistics; returns a summary line."""
    schema = load_schema(schema_path)
    sentences = multiconer.read_conll(conll_path, lang)
    records = multiconer.to_records(sentences, schema, str(conll_path))
    multiconer.write_jsonl(records, out_path)
    rows = multiconer.statistics(sentences, schema)
    multiconer.write_stats(rows, stats_path)
    return f"{conll_path} -> {out_path}: " + ", ".join(f"{name} {value}" for name, value in rows)


# ---------------------------------------------------------------- build_parallel_ner


def read_ner_source(path: str | Path, lang: str, source_format: str | None = None) -> list[NerSample]:
    """The source-language NER samples of a ParallelNER pass: a dataset the paper built ParallelNER
    from (``source_format`` ``wikineural`` or ``cluener2020``: ``parallel_sources``), a MultiCoNER-style
    CoNLL file (dataset labels) or, for a ``.jsonl`` path, a code-style NER set (English class labels)."""
    if source_format is not None:
        return parallel_sources.read_source(source_format, path, lang)
    if str(path).endswith(".jsonl"):
        samples = []
        for number, record in read_jsonl(Path(path), ("id", "sentence", "output")):
            parsed = parse_output(record["output"], "ner")
            if parsed.failed or parsed.rejected:
                raise InputFileError(f"{path}:{number}: 'output' is not NER code: {parsed.error}")
            entities = tuple((e.type, e.span) for e in parsed.records)
            samples.append(NerSample(str(record["id"]), record["sentence"], entities))
        return samples
    return [NerSample(s.id, s.sentence, s.entities) for s in multiconer.read_conll(path, lang)]


def translator_cache_path(cache_dir: str | Path, direction: str, translator: dict) -> Path:
    """Replies are cached per direction AND translator settings: another model never reuses them."""
    digest = hashlib.sha256(json.dumps(translator, sort_keys=True).encode()).hexdigest()[:12]
    return Path(cache_dir) / f"{direction}-{digest}.jsonl"


def build_parallel_ner_step(
    source_path: str,
    direction: str,
    translator: dict,
    max_samples: int | None,
    out_path: str,
    source_out_path: str,
    stats_path: str,
    cache_dir: str | None = None,
    backend: Translator | None = None,
    source_format: str | None = None,
) -> str:
    """Translate the first ``max_samples`` source sentences that have entities (null: all) through the
    three-stage construction; ``backend`` replaces the configured translator (tests). ``source_format``:
    see :func:`read_ner_source`."""
    source_lang, target_lang = split_direction(direction)
    samples = read_ner_source(source_path, source_lang, source_format)
    with_entities = [s for s in samples if s.entities]
    chosen = with_entities[:max_samples] if max_samples is not None else with_entities
    with atomic_write(source_out_path) as handle:
        for s in chosen:
            handle.write(
                json.dumps(
                    {"id": s.id, "sentence": s.sentence, "entities": [list(e) for e in s.entities]}, ensure_ascii=False
                )
                + "\n"
            )
    if backend is None:
        translator = {k: v for k, v in translator.items() if v is not None}  # null: the backend's default
        cache = translator_cache_path(cache_dir, direction, translator) if cache_dir else None
        backend = translator_from_config(dict(translator), cache_path=cache)
    pairs, stats = build_parallel_ner(chosen, backend, source_lang, target_lang)
    stats.add("input", "sentences_read", len(samples))
    stats.add("input", "sentences_without_entities_skipped", len(samples) - len(with_entities))
    write_parallel_jsonl(pairs, out_path, source_lang, target_lang)
    stats.write_tsv(stats_path)
    return f"{direction}: {len(pairs)} of {len(chosen)} samples kept -> {out_path}"


# ---------------------------------------------------------------- build_tip


def build_tip_step(
    parallel_paths: Sequence[str],
    seed_path: str | None,
    schema_path: str,
    out_path: str,
    stats_path: str,
    instruction: str = TIP_INSTRUCTION,
    file_schemas: dict[str, str] | None = None,
) -> str:
    """TIP instances, both directions of every pair of the ParallelNER files and the seed file, as
    ``{"prompt", "completion"}`` lines (prompt = render_prompt(query)), in ``schema_path``'s classes or,
    for a file in ``file_schemas`` (a source dataset's own labels), in that file's schema. A pair
    whose span is missing from its sentence is dropped and counted; a repeated instance is written
    once; a label the schema does not map fails naming the file and line. The ParallelNER pairs and
    their instances are printed beside the paper's 257,190 (which of the two it counts is not known)."""
    schemas = {path: load_schema(path) for path in {schema_path, *(file_schemas or {}).values()}}
    files = [*parallel_paths, *([seed_path] if seed_path else [])]
    rows, drops, seen, instances = [], Counter(), set(), []
    parallel_pairs = parallel_instances = 0
    for path in files:
        schema = schemas[(file_schemas or {}).get(path, schema_path)]
        pairs = read_parallel_jsonl(path)
        rows.append((f"pairs:{path}", len(pairs)))
        before = len(instances)
        for number, pair, first, second in pairs:
            try:
                tips = tip_instances_both_ways(
                    schema,
                    (pair.source.sentence, pair.source.entities),
                    (pair.target.sentence, pair.target.entities),
                    instruction=instruction,
                )
            except TipError:
                drops["span_not_in_sentence"] += 1
                continue
            except SchemaError as err:
                raise SchemaError(f"{path}:{number}: {err}") from None
            for tip in tips:
                prompt = render_prompt(tip.query)
                if (prompt, tip.completion) in seen:
                    drops["duplicate_instance"] += 1
                    continue
                seen.add((prompt, tip.completion))
                instances.append({"prompt": prompt, "completion": tip.completion})
        if path != seed_path:
            parallel_pairs += len(pairs)
            parallel_instances += len(instances) - before
    if not instances:
        raise ValueError(f"no TIP instance from {files}: the ParallelNER files and the seed file give no usable pair")
    with atomic_write(out_path) as handle:
        for instance in instances:
            handle.write(json.dumps(instance, ensure_ascii=False) + "\n")
    rows.append(("instances", len(instances)))
    rows += [(f"dropped:{reason}", n) for reason, n in sorted(drops.items())]
    rows += [
        ("parallel_ner_pairs", parallel_pairs),
        ("parallel_ner_instances", parallel_instances),
        ("parallel_ner_samples_in_the_paper", PAPER_PARALLEL_NER_SAMPLES),
    ]
    _write_rows(stats_path, ("statistic", "value"), rows)
    size = (
        f"ParallelNER: {parallel_pairs:,} pairs, {parallel_instances:,} TIP instances from them "
        f"(the paper: {PAPER_PARALLEL_NER_SAMPLES:,} samples)"
    )
    return f"{len(instances)} TIP instances -> {out_path}; {size} (" + ", ".join(f"{k} {v}" for k, v in rows) + ")"
