"""Shared fixtures: tiny locally built models and the shipped demo data (no network)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xlie.papers.topro.xtreme import Sentence, read_xtreme_tsv
from xlie.papers.topro.labels import PANX, UDPOS
from xlie.pipeline.tiny_models import FAMILIES, build_tiny_models

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo" / "xtreme"

# vocab_size must cover every character of the demo corpus (1,739 distinct ones, Chinese,
# Arabic, Hindi, Cyrillic included) plus the special tokens, else the unigram trainer fails
# with "The vocabulary is not large enough to contain all chars"; 1000 is too small.
SIZE = dict(vocab_size=2000, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, max_positions=128)


@pytest.fixture(autouse=True)
def registry_state():
    """Papers a test registers (a package of its own, made in tmp_path) stay in that test: a later
    test's worker processes must not try to load them."""
    from xlie.pipeline import registry

    registry._load_builtin()  # once per process (cached): the built-in papers are part of the snapshot
    saved = {name: getattr(registry, name).copy() for name in ("_TASKS", "_LOADED_TASKS", "_METHODS", "_PACKAGES")}
    hooks = {kind: list(paths) for kind, paths in registry._HOOKS.items()}
    yield
    for name, value in saved.items():
        setattr(registry, name, value)
    registry._HOOKS.clear()
    registry._HOOKS.update(hooks)


@pytest.fixture(scope="session")
def offline_env():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        mp.setenv("HF_DATASETS_OFFLINE", "1")
        yield


@pytest.fixture(scope="session")
def standin_cache(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    """Real-class stand-ins of every paper preset model under their hub ids, in a hub cache built once."""
    from xlie.pipeline.standins import build_hub_cache

    cache = tmp_path_factory.mktemp("hub")
    return cache, build_hub_cache(cache)


@pytest.fixture
def standin_hub(standin_cache, monkeypatch) -> tuple[Path, dict[str, dict]]:
    """This process and its children pointed at the stand-in cache, offline (huggingface_hub reads its
    environment at import: its constants are patched too)."""
    from huggingface_hub import constants

    cache = str(standin_cache[0])
    monkeypatch.setenv("HF_HUB_CACHE", cache)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", cache)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return standin_cache


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, offline_env) -> tuple[dict[str, Path], dict[str, dict]]:
    root = tmp_path_factory.mktemp("tiny_models")
    corpus = sorted(DEMO.glob("*/*.tsv"))
    assert corpus, f"no demo corpus under {DEMO}"
    out_dirs = {family: root / family for family in FAMILIES}
    records = build_tiny_models(corpus, out_dirs, SIZE, seed=0)
    return out_dirs, records


@pytest.fixture(scope="session")
def udpos_data() -> tuple[list[Sentence], list[Sentence]]:
    train = read_xtreme_tsv(DEMO / "udpos" / "train-en.tsv", UDPOS)[:60]
    dev = read_xtreme_tsv(DEMO / "udpos" / "dev-en.tsv", UDPOS)[:20]
    return train, dev


@pytest.fixture(scope="session")
def panx_data() -> tuple[list[Sentence], list[Sentence]]:
    train = read_xtreme_tsv(DEMO / "panx" / "train-en.tsv", PANX)[:60]
    dev = read_xtreme_tsv(DEMO / "panx" / "dev-en.tsv", PANX)[:20]
    return train, dev


@pytest.fixture(scope="module")
def one_torch_thread():
    """Two shared cores: intra-op threads fighting other processes make tiny models ~20x slower
    (a module opts in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# The small finished workflow the rerun tests share: two training runs (PAN-X and UDPOS, tiny mBERT,
# Vanilla), small enough to run in a test.
SMALL_PRESET = """\
demo: true
run_label: rerun test
data:
  xtreme: {source: local, dir: resources/demo/xtreme, eval_split: {panx: test, udpos: test}}
models:
  mbert: {path: results/models/tiny/bert, family: bert, tiny: true}
tiny_models: {vocab_size: 2000, hidden_size: 32, num_layers: 1, num_heads: 2, intermediate_size: 64, max_positions: 128}
training:
  keep_checkpoints: true
papers:
  topro:
    seeds: [42]
    training:
      vanilla_token: {learning_rate: 2.0e-3, batch_size: 16, grad_accum: 1, epochs: 1, eval_steps: 5, max_train_sentences: 200}
    tables:
      panx_encoders: {task: panx, models: [mbert], methods: [vanilla], targets: [en, de]}
      udpos_encoders: {task: udpos, models: [mbert], methods: [vanilla], targets: [en]}  # dev-en exists: eval_split test
      # ToPro's other tables (its paper.yaml, merged underneath) are left out.
      panx_mt5: {enabled: false}
      panx_llm: {enabled: false}
      udpos_mt5: {enabled: false}
      udpos_llm: {enabled: false}
"""


@pytest.fixture(scope="session")
def finished(tmp_path_factory):
    """A copy of the repository with SMALL_PRESET, run to the end once per session (slow tests only:
    test_reruns, test_keep_outputs); tests that change its files take copy_of_finished."""
    from test_workflow import skip_outputs, snakemake

    target = tmp_path_factory.mktemp("reruns") / "xlie"
    shutil.copytree(REPO, target, ignore=skip_outputs)
    (target / "results").mkdir()
    (target / "workflow" / "presets" / "demo.yaml").write_text(SMALL_PRESET, encoding="utf-8")
    snakemake("--cores", "2", cwd=target)
    return target


@pytest.fixture()
def copy_of_finished(finished, tmp_path):
    """The finished workdir, copied, for tests that change its files."""
    target = tmp_path / "xlie"
    shutil.copytree(finished, target, symlinks=True)
    return target
