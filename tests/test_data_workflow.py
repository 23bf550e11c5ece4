"""The Prompt-XRE data rules as a user runs them: the demo's SYNTHETIC ACE05 and WMT17-XRE sample,
and the early failure for a missing ACE05-Processor directory."""

import json

import pandas as pd

from test_workflow import snakemake, workdir  # noqa: F401 (workdir is a fixture)

TARGETS = ("results/data/ace05/stats.tsv", "results/data/wmt_xre/stats.json")


def test_data_rules_build_both_datasets_with_the_demo_preset(workdir):
    result = snakemake("--cores", "1", *TARGETS, cwd=workdir)
    assert "*** SYNTHETIC DATA, NOT ACE 2005 ***" in result.stdout + result.stderr
    assert "SYNTHETIC" in (workdir / "logs" / "ingest_ace05.log").read_text(encoding="utf-8")
    stats = pd.read_csv(workdir / TARGETS[0], sep="\t")
    assert len(stats) == 9 and (stats["data"] == "SYNTHETIC (not ACE 2005)").all() and (stats["kept"] > 0).all()
    for lang in ("en", "zh", "ar"):
        for split in ("train", "dev", "test"):
            assert (workdir / "results" / "data" / "ace05" / f"{lang}.{split}.jsonl").stat().st_size > 0
    assert (workdir / "results" / "data" / "ace05_synthetic" / "processed-data" / "README.SYNTHETIC.md").is_file()
    wmt = json.loads((workdir / TARGETS[1]).read_text(encoding="utf-8"))
    assert wmt["labels_kept"] == 9 and min(wmt[f"{s}_instances"] for s in ("train", "valid", "test")) > 0
    assert "labels_kept" in (workdir / "logs" / "build_wmt_xre.log").read_text(encoding="utf-8")


def test_missing_ace05_dir_fails_the_plan_naming_the_key_only_when_needed(workdir):
    config = ["--config", "data={ace05: {dir: nowhere/processed-data, synthetic: false}}"]
    failed = snakemake("-n", TARGETS[0], *config, cwd=workdir, check=False)
    message = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "data.ace05.dir = 'nowhere/processed-data': directory not found" in message
    assert "https://github.com/wasiahmad/ACE05-Processor" in message
    # nothing else needs ACE05: the WMT17-XRE data plans fine with the same config
    snakemake("-n", TARGETS[1], *config, cwd=workdir)
