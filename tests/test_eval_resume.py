"""An evaluation stopped after some chunks of predictions and started again reuses them and writes
byte for byte the predictions and metrics of an uninterrupted run; a changed option or model, or a
finished evaluation's kept chunks, start afresh (xlie.pipeline.eval_resume through jobs.evaluate_run,
the zero-shot LLM method on the tiny causal model: no training needed)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from xlie.pipeline import eval_resume, registry
from xlie.pipeline import jobs as steps
from xlie.pipeline.checkpoints import CheckpointBusy, locked
from xlie.pipeline.config import resolve

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo" / "xtreme" / "panx"
CONTEXT = {"config_sha256": "test", "preset": "demo", "demo": True}
TARGETS = ["en", "de"]
CHUNK = 6  # sentences: 20 per target make chunks of 6, 6, 6 and 2


def _first_sentences(source: Path, target: Path, count: int) -> None:
    blocks = source.read_text(encoding="utf-8").strip("\n").split("\n\n")[:count]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def xtreme_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("xtreme")
    _first_sentences(DEMO / "train-en.tsv", root / "panx" / "train-en.tsv", 30)
    for lang in TARGETS:
        _first_sentences(DEMO / f"test-{lang}.tsv", root / "panx" / f"test-{lang}.tsv", 20)
    return root


def eval_options(model_dir: Path, xtreme_dir: Path, llm: dict | None = None) -> dict:
    user = {
        "preset": "demo",
        "models": {"m": {"path": str(model_dir), "family": "causal"}},
        "data": {"xtreme": {"dir": str(xtreme_dir), "eval_split": {"panx": "test"}}},
        "papers": {"topro": {"training": {"llm": llm or {}}}},
    }
    config = resolve(user, REPO / "workflow/presets", REPO / "workflow/schemas/config.schema.yaml")
    run = {"paper": "topro", "task": "panx", "model": "m", "method": "llm", "variant": "logits", "source": "en"}
    return steps.eval_options(config, {**run, "seed": 42}, TARGETS)


class Stop(RuntimeError):
    """Stands for a job killed while predicting."""


@pytest.fixture
def predict_calls(monkeypatch) -> dict:
    """Every predict call of the evaluations in a test counted (sizes of the example lists); with
    ``stop_after`` set, the call after that many raises :class:`Stop`."""
    calls = {"sizes": [], "stop_after": None}
    implementation = registry.implementation

    def counting(spec):
        train, load_predictor = implementation(spec)

        def load(*args, **kwargs):
            predict = load_predictor(*args, **kwargs)

            def counted(examples, desc="predict"):
                if examples and calls["stop_after"] is not None and len(calls["sizes"]) >= calls["stop_after"]:
                    raise Stop("killed")
                if examples:  # predict([]): the per-call counts, not a chunk
                    calls["sizes"].append(len(examples))
                return predict(examples, desc=desc)

            return counted

        return train, load

    monkeypatch.setattr(registry, "implementation", counting)
    return calls


def evaluate(options: dict, model_dir: Path, out: Path, checkpoints: Path, keep: bool = False) -> None:
    steps.evaluate_run(
        options,
        str(model_dir),
        str(out),
        context=CONTEXT,
        checkpoint_dir=str(checkpoints),
        keep_checkpoints=keep,
        chunk_examples=CHUNK,
    )


def outputs(out: Path) -> dict[str, bytes | dict]:
    """Every file of an evaluation's output: predictions as bytes, metrics.json without its provenance
    (a time, a duration, the resumed chunks), which must otherwise be the same bytes."""
    found = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            key = str(path.relative_to(out))
            found[key] = path.read_bytes()
            if path.name == "metrics.json":
                payload = json.loads(found[key])
                del payload["provenance"]
                found[key] = json.dumps(payload, indent=2, ensure_ascii=False).encode()
    return found


@pytest.fixture(scope="module")
def uninterrupted(tiny_models, xtreme_dir, tmp_path_factory) -> tuple[dict, Path]:
    model_dir = tiny_models[0]["causal"]
    out = tmp_path_factory.mktemp("uninterrupted") / "eval"
    evaluate(eval_options(model_dir, xtreme_dir), model_dir, out, out.parent / "checkpoints" / "eval")
    return outputs(out), out


def test_interrupted_evaluation_resumes_byte_identically(
    tiny_models, xtreme_dir, uninterrupted, predict_calls, tmp_path, capsys
):
    model_dir = tiny_models[0]["causal"]
    options, checkpoints = eval_options(model_dir, xtreme_dir), tmp_path / "checkpoints" / "eval"
    expected, expected_dir = uninterrupted
    assert set(expected) == {f"{t}/{name}" for t in TARGETS for name in ("predictions.tsv", "metrics.json")}

    predict_calls["stop_after"] = 6  # en's 4 chunks and de's first 2, then the job dies
    with pytest.raises(Stop):
        evaluate(options, model_dir, tmp_path / "first" / "eval", checkpoints)
    assert sorted(p.name for p in (checkpoints / "de").glob("chunk-*")) == ["chunk-00000.json", "chunk-00001.json"]
    assert not (tmp_path / "first" / "eval" / "de").exists()

    # Snakemake deletes the output of the killed job; the rerun writes a new one.
    predict_calls.update(sizes=[], stop_after=None)
    capsys.readouterr()
    out = tmp_path / "rerun" / "eval"
    evaluate(options, model_dir, out, checkpoints)
    log = capsys.readouterr().out
    assert "en: resumed 4 of 4 chunks" in log and "de: resumed 2 of 4 chunks" in log
    assert predict_calls["sizes"] == [6, 2]  # only de's last two chunks were predicted
    assert outputs(out) == expected
    provenance = json.loads((out / "de" / "metrics.json").read_text())["provenance"]
    assert provenance["chunks"] == {"chunks": 4, "resumed_chunks": 2, "chunk_examples": CHUNK}
    assert not checkpoints.exists()  # finished: the chunks are gone (keep_checkpoints false)
    uninterrupted_provenance = json.loads((expected_dir / "de" / "metrics.json").read_text())["provenance"]
    assert uninterrupted_provenance["chunks"]["resumed_chunks"] == 0


# A child process running one evaluation, each predict call slowed so that it can be killed between chunks.
KILLED_CHILD = """
import json, sys, time
import torch
from xlie.pipeline import registry
from xlie.pipeline import jobs as steps

torch.set_num_threads(1)
options, model_dir, out, checkpoints, chunk, context = json.loads(sys.argv[1])
implementation = registry.implementation

def slowed(spec):
    train, load_predictor = implementation(spec)

    def load(*args, **kwargs):
        predict = load_predictor(*args, **kwargs)

        def slow(examples, desc="predict"):
            result = predict(examples, desc=desc)
            time.sleep(0.3)
            return result

        return slow

    return train, load

registry.implementation = slowed
steps.evaluate_run(options, model_dir, out, context=context, checkpoint_dir=checkpoints, chunk_examples=chunk)
"""


def test_an_evaluation_killed_with_sigkill_resumes_byte_identically(
    tiny_models, xtreme_dir, uninterrupted, tmp_path, capsys
):
    """A real kill (SIGKILL: no handler, no clean-up), not an exception: the chunks written, the lock
    released by the dead process, the rerun ends with the uninterrupted run's bytes."""
    model_dir = tiny_models[0]["causal"]
    options, checkpoints = eval_options(model_dir, xtreme_dir), tmp_path / "checkpoints" / "eval"
    arguments = [options, str(model_dir), str(tmp_path / "killed" / "eval"), str(checkpoints), CHUNK, CONTEXT]
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, json.dumps(arguments)])
    second_de_chunk = checkpoints / "de" / "chunk-00001.json"
    deadline = time.monotonic() + 120
    while not second_de_chunk.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL, "the evaluation finished before it could be killed"
    written = sorted(p.name for p in (checkpoints / "de").glob("chunk-*"))
    assert written[:2] == ["chunk-00000.json", "chunk-00001.json"] and len(written) < 4

    out = tmp_path / "rerun" / "eval"
    evaluate(options, model_dir, out, checkpoints)
    assert "en: resumed 4 of 4 chunks" in capsys.readouterr().out
    assert outputs(out) == uninterrupted[0]


def test_changed_option_or_model_starts_fresh(tiny_models, xtreme_dir, predict_calls, tmp_path, capsys):
    model_dir = tiny_models[0]["causal"]
    checkpoints = tmp_path / "checkpoints" / "eval"
    predict_calls["stop_after"] = 2
    with pytest.raises(Stop):
        evaluate(eval_options(model_dir, xtreme_dir), model_dir, tmp_path / "a", checkpoints)

    # Another option: en's two chunks are not reused, and the log names what changed.
    capsys.readouterr()
    predict_calls["sizes"] = []
    predict_calls["stop_after"] = 2
    changed = eval_options(model_dir, xtreme_dir, {"max_length": 100})
    with pytest.raises(Stop):
        evaluate(changed, model_dir, tmp_path / "b", checkpoints)
    log = capsys.readouterr().out
    assert "starting en fresh" in log and "options.params.max_length" in log and "resumed" not in log

    # The same options with another model (one more file: another fingerprint) start afresh too.
    other_model = tmp_path / "other_model"
    shutil.copytree(model_dir, other_model)
    (other_model / "NOTE.txt").write_text("a different checkpoint\n")
    predict_calls["sizes"] = []
    predict_calls["stop_after"] = None
    evaluate(changed, other_model, tmp_path / "c", checkpoints)
    log = capsys.readouterr().out
    assert "starting en fresh" in log and "data.model.local_sha256" in log and "resumed" not in log
    assert predict_calls["sizes"] == [6, 6, 6, 2] * 2


def test_kept_chunks_of_a_finished_evaluation_are_not_reused(
    tiny_models, xtreme_dir, uninterrupted, predict_calls, tmp_path, capsys
):
    model_dir = tiny_models[0]["causal"]
    options, checkpoints = eval_options(model_dir, xtreme_dir), tmp_path / "checkpoints" / "eval"
    evaluate(options, model_dir, tmp_path / "a", checkpoints, keep=True)
    manifest = json.loads((checkpoints / "en" / "xlie_manifest.json").read_text())
    assert manifest["finished"] and len(list((checkpoints / "en").glob("chunk-*.json"))) == 4
    capsys.readouterr()
    predict_calls["sizes"] = []
    evaluate(options, model_dir, tmp_path / "b", checkpoints, keep=True)
    assert "had finished" in capsys.readouterr().out and predict_calls["sizes"] == [6, 6, 6, 2] * 2

    # A chunk that does not read back (written by something else, cut short) is predicted again.
    manifest = json.loads((checkpoints / "de" / "xlie_manifest.json").read_text())
    (checkpoints / "de" / "chunk-00001.json").write_text('{"class": "trunc')
    (checkpoints / "de" / "xlie_manifest.json").write_text(json.dumps({**manifest, "finished": False}))
    predict_calls["sizes"] = []
    out = tmp_path / "c" / "eval"
    evaluate(options, model_dir, out, checkpoints)
    assert "predicting chunk-00001.json of de again" in capsys.readouterr().out
    # en's chunks, kept by a finished evaluation, predicted again; of de's only the broken one.
    assert predict_calls["sizes"] == [6, 6, 6, 2, 6] and outputs(out) == uninterrupted[0]


def test_a_target_another_job_is_predicting_stops_the_job(tiny_models, xtreme_dir, predict_calls, tmp_path):
    model_dir = tiny_models[0]["causal"]
    checkpoints = tmp_path / "checkpoints" / "eval"
    with locked(checkpoints / "de"), pytest.raises(CheckpointBusy, match="another live process"):
        evaluate(eval_options(model_dir, xtreme_dir), model_dir, tmp_path / "a", checkpoints)
    assert predict_calls["sizes"] == [6, 6, 6, 2]  # en, then de is locked: nothing predicted twice


def test_one_chunk_is_one_predict_call_over_the_whole_target(tiny_models, xtreme_dir, tmp_path):
    """A target within one chunk is predicted by one call over all its examples: what the evaluation
    computed before it stored chunks."""
    from xlie.papers.topro.methods.llm_zero_shot import load_predictor

    model_dir = tiny_models[0]["causal"]
    options = eval_options(model_dir, xtreme_dir)
    examples, _ = steps.load_split(options["data"], "panx", "test", "de")
    predict = load_predictor(str(model_dir), "panx", options["params"])
    whole = predict(examples)
    with eval_resume.partial_predictions(tmp_path / "eval", keep=False) as store:
        prediction, chunks = store.predict("de", {"options": {}}, predict, examples, len(examples))
    assert chunks["chunks"] == 1 and prediction == whole


@dataclass
class Tags:
    tags: list
    counts: dict = field(default_factory=dict)
    outputs: list | None = None


def test_chunks_merge_lists_and_counts_and_count_per_call_constants_once():
    parts = [Tags([["a"], ["b"]], {"cut": 1, "labels": 3}), Tags([["c"]], {"cut": 2, "labels": 3, "odd": 1})]
    decoded = [eval_resume.decode_prediction(eval_resume.encode_prediction(p, len(p.tags)), len(p.tags)) for p in parts]
    assert decoded == parts
    merged = eval_resume.merge_predictions(decoded, per_call={"labels": 3})
    assert merged == Tags([["a"], ["b"], ["c"]], {"cut": 3, "labels": 3, "odd": 1})
    assert eval_resume.chunk_bounds(5, 2) == [(0, 2), (2, 4), (4, 5)] and eval_resume.chunk_bounds(0, 2) == [(0, 0)]
    with pytest.raises(TypeError, match="one item per example"):
        eval_resume.encode_prediction(Tags([["a"]], {}, outputs=["x", "y"]), 1)
    with pytest.raises(TypeError, match="not a dataclass"):
        eval_resume.encode_prediction({"tags": []}, 0)
    with pytest.raises(ValueError, match="chunk of 3 examples"):
        eval_resume.decode_prediction(eval_resume.encode_prediction(parts[0], 2), 3)
