"""Provenance records the hub commit a model id resolved to, from the local cache only, and every
config_sha256 a result names stays resolvable (results/configs/<sha256>.yaml)."""

import json
from pathlib import Path

import pytest
import yaml

from xlie.pipeline.config import config_hash
from xlie.pipeline.provenance import hub_revision, keep_config, model_identity, run_context, save_resolved_config


def test_hub_revision_from_the_cache(tmp_path, monkeypatch):
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = tmp_path / "models--org--tiny" / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (tmp_path / "models--org--tiny" / "refs").mkdir()
    (tmp_path / "models--org--tiny" / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    assert hub_revision("org/tiny") == commit
    assert model_identity("org/tiny") == {"path": "org/tiny", "kind": "hub", "revision": commit}
    assert hub_revision("org/absent") is None
    assert "revision" not in model_identity(str(tmp_path))  # a local directory


# ---- every config_sha256 a result names stays resolvable ------------------------------------------
def _sha256_in(path: Path) -> str:
    first, body = path.read_text(encoding="utf-8").split("\n", 1)
    assert config_hash(yaml.safe_load(body)) == first.removeprefix("# config_sha256: ")
    return first.removeprefix("# config_sha256: ")


def test_a_config_is_kept_under_its_sha256_once(tmp_path):
    config = {"preset": "demo", "demo": True, "papers": {"topro": {"seeds": [42]}}, "lr": 2e-3}
    sha256 = keep_config(config, tmp_path)
    kept = tmp_path / f"{sha256}.yaml"
    assert sha256 == config_hash(config) and _sha256_in(kept) == sha256
    before = kept.stat()
    assert keep_config(json.loads(json.dumps(config)), tmp_path) == sha256  # the same config: not rewritten
    assert (kept.stat().st_ino, kept.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    other = keep_config({**config, "run_label": "a caption-only change"}, tmp_path)
    assert other != sha256 and _sha256_in(tmp_path / f"{other}.yaml") == other
    assert kept.stat().st_mtime_ns == before.st_mtime_ns  # the first one untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{sha256}.yaml", f"{other}.yaml"])  # no temp left


def test_the_hash_a_job_records_is_kept_before_it_is_named(tmp_path):
    config = {"preset": "demo", "demo": True, "training": {"keep_checkpoints": False}}
    context = run_context(config, tmp_path / "configs")
    assert context == {"config_sha256": config_hash(config), "preset": "demo", "demo": True}
    assert _sha256_in(tmp_path / "configs" / f"{context['config_sha256']}.yaml") == context["config_sha256"]


def test_the_resolved_config_beside_the_results_is_kept_too(tmp_path):
    config = {"preset": "demo", "demo": True}
    save_resolved_config(config, tmp_path / "config.resolved.yaml", tmp_path / "configs")
    sha256 = _sha256_in(tmp_path / "config.resolved.yaml")
    assert (tmp_path / "configs" / f"{sha256}.yaml").read_text() == (tmp_path / "config.resolved.yaml").read_text()


def _named_hashes(results: Path) -> dict[str, str]:
    """config_sha256 by file, for every metrics.json and model provenance under ``results``."""
    named = {}
    for path in [*results.glob("runs/**/metrics.json"), *results.glob("runs/**/xlie_provenance.json")]:
        payload = json.loads(path.read_text(encoding="utf-8"))
        named[str(path.relative_to(results))] = payload.get("provenance", payload)["config_sha256"]
    return named


@pytest.mark.slow
def test_a_partial_rerun_leaves_every_named_config_resolvable(copy_of_finished):
    from test_workflow import snakemake

    results = copy_of_finished / "results"
    first = _named_hashes(results)
    (old,) = set(first.values())
    kept_before = (results / "configs" / f"{old}.yaml").read_bytes()
    assert _sha256_in(results / "config.resolved.yaml") == old
    # An evaluation option (UDPOS's evaluation reruns) and a caption (only its table does).
    change = ["data={xtreme: {eval_split: {udpos: dev}}}", "papers={topro: {tables: {udpos_encoders: {caption: x}}}}"]
    snakemake("--cores", "2", "--config", *change, cwd=copy_of_finished)
    now = _named_hashes(results)
    (new,) = set(now.values()) - {old}
    rerun = {path for path, sha256 in now.items() if sha256 == new}
    assert rerun == {"runs/topro/udpos/mbert/vanilla/default/en/seed42/eval/en/metrics.json"}
    for sha256 in (old, new):
        assert _sha256_in(results / "configs" / f"{sha256}.yaml") == sha256
    assert (results / "configs" / f"{old}.yaml").read_bytes() == kept_before
    assert _sha256_in(results / "config.resolved.yaml") == new  # the run that last wrote metrics.csv
