"""The paper preset as a user runs it, shrunk only by tests/configs/paper_shrunk.yaml: one cell
of every table end to end, through the preset's own rules, hyper-parameter blocks and data
source 'auto' (local files here, so nothing reaches the hub), UD 2.7 conversion included."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from openai_stub import copying_translator
from test_workflow import REPO, snakemake, workdir  # noqa: F401  (workdir is a fixture)

from xlie.papers.topro.xtreme import read_xtreme_tsv
from xlie.papers.topro.labels import PANX, UDPOS

DEMO = REPO / "resources" / "demo" / "xtreme"
SHRUNK = "tests/configs/paper_shrunk.yaml"
# Few sentences keep CI fast: tiny models only have to run every code path, not learn.
SENTENCES = {"train": 8, "dev": 4, "test": 3}


def write_xtreme_sample(source: Path, target: Path, labels, n: int) -> None:
    sentences = read_xtreme_tsv(source, labels)[:n]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "".join("".join(f"{w}\t{t}\n" for w, t in zip(s.words, s.tags)) + "\n" for s in sentences), encoding="utf-8"
    )


@pytest.fixture()
def paper_workdir(workdir):  # noqa: F811
    """The repository copy with the paper preset's data directories filled with a few local sentences."""
    preset = yaml.safe_load((workdir / "workflow/presets/paper.yaml").read_text())["data"]
    xtreme, ud = workdir / preset["xtreme"]["dir"], workdir / preset["ud"]["dir"]
    for task, labels, targets in (("panx", PANX, ["en", "de"]), ("udpos", UDPOS, ["en"])):
        for split in ("train", "dev"):
            write_xtreme_sample(
                DEMO / task / f"{split}-en.tsv", xtreme / task / f"{split}-en.tsv", labels, SENTENCES[split]
            )
        for lang in targets:
            write_xtreme_sample(
                DEMO / task / f"test-{lang}.tsv", xtreme / task / f"test-{lang}.tsv", labels, SENTENCES["test"]
            )
    shutil.copytree(REPO / "tests" / "data" / "ud", ud)  # udpos pl comes from this UD release
    write_multiconer_sample(
        workdir
        / yaml.safe_load((workdir / "workflow/presets/paper.yaml").read_text())["data"]["codeie"]["multiconer"]["dir"]
    )
    # AlignXIE's ParallelNER sources at the preset's paths: fixtures in WikiNEuRal's and CLUENER2020's layouts.
    parallel = yaml.safe_load((workdir / "workflow/presets/paper.yaml").read_text())["data"]["parallel_ner"]
    for name, fixture in (("wikineural", "wikineural_en_train.conllu"), ("cluener2020", "cluener2020_train.json")):
        (workdir / parallel[name]["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "tests" / "data" / "parallel_sources" / fixture, workdir / parallel[name]["path"])
    return workdir


def write_multiconer_sample(target: Path) -> None:
    """A few demo sentences per file in MultiCoNER's layout, PAN-X's ORG retagged as MultiCoNER's CORP
    (the paper preset's schema has MultiCoNER's six types)."""
    target.mkdir(parents=True, exist_ok=True)
    for name, n in (
        ("en_train", 6),
        ("en_dev", 2),
        ("en_test", 3),
        ("zh_train", 6),
        ("zh_dev", 2),
        ("zh_test", 3),
        ("de_test", 3),
    ):
        blocks = (
            (REPO / "resources/demo/multiconer" / f"{name}.conll").read_text(encoding="utf-8").strip().split("\n\n")[:n]
        )
        (target / f"{name}.conll").write_text("\n\n".join(blocks).replace("-ORG", "-CORP") + "\n\n", encoding="utf-8")


@pytest.mark.slow
def test_paper_preset_one_cell_of_every_table(paper_workdir, standin_hub, monkeypatch):
    """Through the preset's own hub ids: real-class stand-ins in an offline hub cache (conftest)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    with copying_translator() as (server, url):
        endpoint = paper_workdir / "endpoint.yaml"
        endpoint.write_text(yaml.safe_dump({"data": {"parallel_ner": {"translator": {"base_url": url}}}}))
        snakemake("--cores", "2", "--configfile", SHRUNK, str(endpoint), cwd=paper_workdir)
    assert server.requests > 0
    results = paper_workdir / "results"
    config = yaml.safe_load((paper_workdir / SHRUNK).read_text())
    cells = pd.read_csv(results / "cells.tsv", sep="\t")
    tables = {(p, t) for p in config["papers"] for t in config["papers"][p]["tables"]}
    assert set(zip(cells["paper"], cells["table"])) == tables  # every table has cells
    topro = cells[cells["paper"] == "topro"]
    assert len(topro) == 2 * (3 + 2 + 2) * 2  # 2 tasks x (encoders, mT5, LLM) x 2 targets
    assert (
        len(cells[cells["paper"] == "prompt_xre"]) == 3 * 2 * 2 * 2 + 2
    )  # 3 ACE05 tables x 2 configs x 2 x 2; WMT x 2
    assert len(cells[cells["paper"] == "alignxie"]) == 2 * 2  # tip and none x en, de
    metrics = pd.read_csv(results / "metrics.csv")
    # metrics.csv lists a cell once even where two tables show it (Prompt-XRE's Tables III-V)
    assert len(metrics[metrics["primary"]]) == len(cells[["run", "target"]].drop_duplicates())
    assert {"f1", "f1_strict"} <= set(metrics.loc[metrics["task"] == "panx", "metric"])

    for cell in cells.itertuples():
        payload = json.loads((results / "runs" / cell.run / "eval" / cell.target / "metrics.json").read_text())
        data = payload["provenance"]["data"]
        assert data["source"] == "local" and payload["provenance"]["demo"] is False
        if cell.paper == "prompt_xre":
            assert payload["scores"]["primary_name"] == "accuracy" and "dev_selection" in payload
        # Every cell carries its method's authors' metric (the one its paper's table is compared in).
        authors = payload["scores"].get("authors_metric")
        if cell.paper != "prompt_xre":
            assert authors in payload["scores"] and authors in payload["floor_baseline"], (cell.run, authors)
        if cell.target == "pl":  # made by convert_ud from the UD sample, then read by source 'auto'
            assert data["path"].endswith("data/xtreme/udpos/test-pl.tsv") and payload["counts"]["sentences"] == 5
    # The preset's own hub ids, resolved to the real-class stand-ins (whose provenance says so); the
    # authors' verbalizer lookup took XLM-R's bare pieces; AlignXIE trained on the converted Baichuan2.
    trained = json.loads(
        (results / "runs/topro/panx/mbert/vanilla/default/en/seed42/model/xlie_provenance.json").read_text()
    )
    base = trained["model"]["base"]
    assert base["path"] == "bert-base-multilingual-cased" and base["revision"] == standin_hub[1][base["path"]]["commit"]
    assert "stand-in" in json.dumps(base["build"])
    topro = json.loads((results / "runs/topro/udpos/xlmr/topro/default/en/seed42/model/xlie_training.json").read_text())
    assert topro["verbalizer"]["lookup"] == "vocabulary_entry" and topro["verbalizer"]["tokens"]["PUNCT"] == "punct"
    # ... and was selected on the authors' dev metric, the one its rows are shown in.
    assert topro["selection"] == "weighted_f1_swapped" and "weighted_f1_swapped" in topro["best_dev"]
    shown = pd.concat(pd.read_csv(path) for path in (results / "metrics").glob("topro_*.csv"))  # per table
    authors = {(r.method, r.model): r.metric for r in shown[shown["primary"]].itertuples()}
    assert authors[("topro", "xlmr")] == "weighted_f1_swapped" and authors[("vanilla", "mt5")] == "span_f1"
    assert set(metrics.loc[metrics["paper"] == "alignxie", "metric"]) >= {"f1", "f1_knowcoder"}
    conversion = json.loads((results / "models/converted/baichuan2/xlie_conversion.json").read_text())
    assert conversion["source_repo"] == "baichuan-inc/Baichuan2-7B-Base" and conversion["to"]["model_type"] == "llama"
    # Vanilla's selection lets the end-of-training model compete (XTREME's --eval_all_checkpoints):
    # with eval_steps 1000 > all steps, the only dev evaluation is the one after the last step.
    training = json.loads(
        (results / "runs/topro/panx/mbert/vanilla/default/en/seed42/model/xlie_training.json").read_text()
    )
    assert training["dev_history"][-1]["step"] == training["global_steps"]
    # The authors' hyper-parameters (XTREME's script: the Params defaults the paper preset keeps).
    used = training["params"]
    assert (used["learning_rate"], used["batch_size"], used["grad_accum"], used["epochs"]) == (1e-5, 8, 4, 5)
    # Prompt-XRE trained with the authors' hyper-parameters (the Params defaults; epochs shrunk), fp16 off on CPU.
    xre = json.loads((results / "runs/prompt_xre/ace05/mbart/prompt/5/zh/seed222/model/xlie_training.json").read_text())
    assert (xre["params"]["epochs"], xre["params"]["batch_size"], xre["params"]["learning_rate"]) == (2, 12, 3e-5)
    assert xre["train_lang"] == "zh" and xre["template"] == "5"
    for paper, table in tables:
        assert "\\toprule" in (results / "tables" / f"{paper}_{table}.tex").read_text()
    assert "oracle" in (results / "tables" / "prompt_xre_ace05_crosslingual.tex").read_text()
    assert (results / "plots" / "prompt_xre_ace05_templates_heatmap.png").is_file()
    # AlignXIE: ParallelNER through the endpoint kept pairs in all three stages, TIP was built from
    # them in both directions, and both LoRA phases ran with the preset's settings.
    stats = pd.read_csv(results / "data/codeie/parallel_ner/stats_en-zh.tsv", sep="\t").set_index(
        ["stage", "statistic"]
    )["value"]
    assert stats[("output", "samples_kept")] > 0 and stats[("2_repair", "spans_found_in_sentence")] > 0
    assert stats[("3_rewrite", "samples_rewritten")] > 0
    aligned = json.loads(
        (results / "runs/alignxie/codeie/baichuan2/alignxie/tip/enzh/seed42/model/xlie_training.json").read_text()
    )
    assert list(aligned["phases"]) == ["phase1", "phase2"] and aligned["phases"]["phase2"]["started_from"].startswith(
        "adapter"
    )
    lora = aligned["phases"]["phase2"]["params"]
    assert (lora["lora_r"], lora["lora_alpha"], lora["effective_batch_size"], lora["gradient_checkpointing"]) == (
        32,
        64,
        128,
        True,
    )
    # KnowCoder's effective batch of 128 (1 x 32 x 4 GPUs) on this job's one process: accumulation 128.
    assert (aligned["phases"]["phase2"]["grad_accum"], aligned["batch"]["effective_batch_size"]) == (128, 128)
    ablation = json.loads(
        (results / "runs/alignxie/codeie/baichuan2/alignxie/none/enzh/seed42/model/xlie_training.json").read_text()
    )
    assert list(ablation["phases"]) == ["phase2"]
    assert "Relative improvement" in (results / "tables" / "alignxie_multiconer.tex").read_text()
