"""What each workflow step does, as plain functions of paths and config.

Snakemake scripts only unpack their ``snakemake`` object and call one of these, so every
step can be run and tested without Snakemake.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from xlie import metrics, provenance
from xlie.config import config_hash
from xlie.data.xtreme import Sentence, load_xtreme


def load_split(config: dict, task: str, split: str, lang: str) -> tuple[list[Sentence], dict]:
    xtreme = config["data"]["xtreme"]
    return load_xtreme(task, split, lang, xtreme["source"], xtreme["dir"])


def build_tiny_models(config: dict, out_dirs: dict[str, str]) -> None:
    from xlie.models.tiny import build_tiny_models as build

    tiny = config["tiny_models"]
    corpus = sorted(Path(tiny["corpus_dir"]).rglob("*.tsv"))
    if not corpus:
        raise FileNotFoundError(f"config key tiny_models.corpus_dir: no *.tsv files under {tiny['corpus_dir']}")
    size = {k: tiny[k] for k in ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size", "max_positions")}
    for family, record in build(corpus, {f: Path(p) for f, p in out_dirs.items()}, size, tiny["seed"]).items():
        print(f"built tiny {family}: {record['architecture']}, {record['parameters']:,} parameters")


def train_vanilla(config: dict, run: dict, model_path: str, output_dir: str, checkpoint_dir: str) -> None:
    from xlie.methods.token_classification import TokenClassificationParams, train_token_classifier

    started = time.monotonic()
    train, train_id = load_split(config, run["task"], "train", run["source"])
    dev, dev_id = load_split(config, run["task"], "dev", run["source"])
    params = TokenClassificationParams.from_dict(config["training"]["vanilla_token"])
    summary = train_token_classifier(
        model_path, run["task"], train, dev, Path(output_dir), Path(checkpoint_dir), params, int(run["seed"])
    )
    provenance.write_json(
        Path(output_dir) / "xlie_provenance.json",
        provenance.record(
            config_sha256=config_hash(config), preset=config["preset"], demo=config["demo"], seed=int(run["seed"]),
            wall_time_s=time.monotonic() - started, data={"train": train_id, "dev": dev_id},
            model={"base": provenance.model_identity(model_path), "run": run, "params": vars(params)},
        ),
    )  # fmt: skip
    print(f"best dev: {summary['best_dev']}")


def write_predictions(path: Path, sentences: list[Sentence], predicted: list[list[str]]) -> None:
    """word<TAB>gold<TAB>predicted, blank line between sentences (XTREME-like, diffable)."""
    lines = []
    for sentence, tags in zip(sentences, predicted):
        lines.extend(f"{w}\t{g}\t{p}" for w, g, p in zip(sentence.words, sentence.tags, tags))
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def evaluate_vanilla(config: dict, run: dict, model_dir: str, targets: list[str], out_dir: str) -> None:
    from xlie.methods.token_classification import load_token_classifier, predict_tags

    params = config["training"]["vanilla_token"]
    model, tokenizer = load_token_classifier(model_dir)
    train, _ = load_split(config, run["task"], "train", run["source"])
    train_tags = [s.tags for s in train]
    fill = metrics.majority_label(train_tags)  # what a word cut off by max_length is tagged with (and counted)
    # Read every target file before predicting anything: a bad file fails the job at once,
    # with its file:line, instead of after minutes of work that the failure would discard.
    target_data = {target: load_split(config, run["task"], "test", target) for target in targets}
    for target, (sentences, data_id) in target_data.items():
        started = time.monotonic()
        predicted, truncated = predict_tags(
            model, tokenizer, sentences, params["max_length"], params["eval_batch_size"], fill, desc=target
        )
        gold = [s.tags for s in sentences]
        cell_dir = Path(out_dir) / target
        write_predictions(cell_dir / "predictions.tsv", sentences, predicted)
        payload = {
            "cell": {**run, "target": target},
            "scores": metrics.score(run["task"], gold, predicted),
            "majority_baseline": metrics.majority_baseline(run["task"], train_tags, gold),
            "counts": {"sentences": len(sentences), "words": sum(len(g) for g in gold),
                       "truncated_words": truncated, "truncated_words_filled_with": fill},
            "provenance": provenance.record(
                config_sha256=config_hash(config), preset=config["preset"], demo=config["demo"], seed=int(run["seed"]),
                wall_time_s=time.monotonic() - started, data=data_id, model=provenance.model_identity(model_dir),
            ),
        }  # fmt: skip
        provenance.write_json(cell_dir / "metrics.json", payload)
        s = payload["scores"]
        print(f"{target}: {s['primary_name']}={s['primary']:.4f} (majority baseline {payload['majority_baseline']['primary']:.4f}), truncated words {truncated}")


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
    caption = config["papers"][paper]["tables"][table].get("caption") or f"{paper} {table}"
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


def render_table(config: dict, metrics_csv: str, *, paper: str, table: str, out_tex: str, out_html: str) -> None:
    from html import escape

    from xlie import tables

    frame = pd.read_csv(metrics_csv)
    caption = _table_caption(config, paper, table)
    groups = _table_groups(frame, paper, table)
    reference = baseline_reference(frame, paper, table)
    tex = tables.render_table(frame, paper=paper, table=table, caption=caption, label=f"tab:{paper}-{table}",
                              reference=reference, groups=groups, demo=config["demo"])  # fmt: skip
    Path(out_tex).parent.mkdir(parents=True, exist_ok=True)
    Path(out_tex).write_text(tex, encoding="utf-8")
    shown = tables.table_frame(frame, paper=paper, table=table, reference=reference, groups=groups)
    heading = (tables.DEMO_PREFIX + " " if config["demo"] else "") + caption
    Path(out_html).write_text(
        f"<!doctype html><meta charset='utf-8'><title>{escape(paper)} {escape(table)}</title>"
        f"<p><b>{escape(heading)}</b></p>{shown.to_html(escape=True)}\n",
        encoding="utf-8",
    )


def plot_table(config: dict, metrics_csv: str, *, paper: str, table: str, out_png: str, out_pdf: str) -> None:
    from xlie.plots import plot_per_language

    frame = pd.read_csv(metrics_csv)
    title = config["papers"][paper]["tables"][table].get("caption") or f"{paper} {table}"
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    plot_per_language(frame, paper=paper, table=table, title=title, out_png=out_png, out_pdf=out_pdf, demo=config["demo"])
