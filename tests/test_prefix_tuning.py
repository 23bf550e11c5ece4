"""PT baseline (xlie.papers.topro.methods.prefix_tuning): peft prefix tuning over tiny bert / xlmr token classifiers.

Tiny random-init models (conftest SIZE: hidden 32, 1 layer, 128 positions), 60 UDPOS training
sentences: a few seconds per training run on CPU.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file
from transformers import AutoTokenizer, set_seed

from xlie.papers.topro import metrics
from xlie.papers.topro.xtreme import Sentence
from xlie.papers.topro.labels import PANX, UDPOS
from xlie.pipeline.methods import Prediction
from xlie.pipeline.registry import implementation, method_spec
from xlie.papers.topro.methods import prefix_tuning as pt
from xlie.pipeline.checkpoints import resume_point as newest_checkpoint
from xlie.papers.topro.methods.token_classification import encode

from conftest import SIZE

FAMILIES = ("bert", "xlmr")
# 60 sentences / batch 8 = 8 steps per epoch; evaluate (and checkpoint) every 4 steps.
PARAMS = dict(learning_rate=1e-2, epochs=2, eval_steps=4)


@pytest.fixture(scope="module")
def trained(tiny_models, udpos_data, tmp_path_factory):
    """One UDPOS PT run per family: family -> (summary, output_dir, checkpoint_dir)."""
    out_dirs, _ = tiny_models
    train, dev = udpos_data
    runs = {}
    for family in FAMILIES:
        root = tmp_path_factory.mktemp(f"pt_{family}")
        summary = pt.train(
            str(out_dirs[family]), "udpos", train, dev, root / "model", root / "checkpoints", PARAMS, seed=0
        )
        runs[family] = (summary, root / "model", root / "checkpoints")
    return runs


def test_params_defaults_are_the_paper_and_unknown_keys_fail():
    p = pt.Params.from_dict({})
    assert (p.learning_rate, p.batch_size, p.epochs, p.dropout, p.max_length, p.num_virtual_tokens) == (
        1e-2,
        8,
        5,
        0.1,
        128,
        16,
    )
    assert pt.Params.from_dict({"eval_steps": 5, "bf16": True}).eval_steps == 5
    with pytest.raises(TypeError, match="grad_accum"):
        pt.Params.from_dict({"learning_rate": 1e-2, "grad_accum": 4})


def test_registered_as_the_pt_method_for_encoders():
    for family in FAMILIES:
        train, load = implementation(method_spec("pt", family))
        assert (train, load) == (pt.train, pt.load_predictor)


@pytest.mark.parametrize("family", FAMILIES)
def test_only_prefix_and_head_are_trained_and_saved(trained, tiny_models, family):
    summary, output_dir, _ = trained[family]
    hidden, layers, n_labels = SIZE["hidden_size"], SIZE["num_layers"], len(UDPOS)
    prefix = 16 * layers * 2 * hidden  # a key and a value vector per virtual token and layer
    head = hidden * n_labels + n_labels
    assert summary["parameters"]["trainable"] == prefix + head
    assert summary["parameters"]["total"] > 10 * summary["parameters"]["trainable"]

    saved = load_file(output_dir / "adapter_model.safetensors")
    assert sorted(saved) == ["base_model.classifier.bias", "base_model.classifier.weight", "prompt_embeddings"]
    assert saved["prompt_embeddings"].shape == (16, layers * 2 * hidden)

    # Both the prefix and the head moved away from their initialisation (same seed, same init).
    out_dirs, _ = tiny_models
    set_seed(0)
    initial = pt.build_model(str(Path(out_dirs[family]).resolve()), "udpos", pt.Params.from_dict(PARAMS))
    init_state = {n: p.detach() for n, p in initial.named_parameters() if p.requires_grad}
    init_head = next(v for n, v in init_state.items() if n.endswith("classifier.modules_to_save.default.weight"))
    init_prefix = next(v for n, v in init_state.items() if "prompt_encoder" in n)
    assert (saved["base_model.classifier.weight"] - init_head).abs().max() > 1e-3
    assert (saved["prompt_embeddings"] - init_prefix).abs().max() > 1e-3


@pytest.mark.parametrize("family", FAMILIES)
def test_training_learns_and_the_best_checkpoint_round_trips(trained, udpos_data, family):
    summary, output_dir, _ = trained[family]
    _, dev = udpos_data
    history = summary["dev_history"]
    assert [h["step"] for h in history] == [4, 8, 12, 16]
    assert history[-1]["eval_loss"] < history[0]["eval_loss"]
    best = max(h["eval_accuracy"] for h in history)
    assert summary["best_dev"]["accuracy"] == pytest.approx(best)
    written = json.loads((output_dir / "xlie_training.json").read_text())
    assert written["best_dev"] == summary["best_dev"] and written["resumed_from"] is None
    record = json.loads((output_dir / pt.RECORD_FILE).read_text())
    assert Path(record["base_model"]).is_absolute() and record["labels"] == list(UDPOS)
    # 128 positions - 16 virtual tokens (- 2 for RoBERTa's padding offset, which its config adds back)
    assert record["effective_max_length"] == 112

    predict = pt.load_predictor(str(output_dir), "udpos", PARAMS)
    prediction = predict(dev)
    assert isinstance(prediction, Prediction)
    assert [len(t) for t in prediction.tags] == [len(s.words) for s in dev]
    # Trainer scores only the words inside the 112 tokens; the predictor tags the rest "X" and counts them.
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    kept = [len(s.words) - encode(tokenizer, [s], None, 112)[1] for s in dev]
    assert prediction.counts == {"truncated_words": summary["truncated_words"]["dev"]}
    assert prediction.counts["truncated_words"] == sum(len(s.words) for s in dev) - sum(kept)
    # The reloaded adapter reproduces the best dev score exactly: the right checkpoint, prefix and head.
    gold = [s.tags[:k] for s, k in zip(dev, kept)]
    pred = [t[:k] for t, k in zip(prediction.tags, kept)]
    assert metrics.token_accuracy(gold, pred) == pytest.approx(summary["best_dev"]["accuracy"], abs=1e-9)


def test_words_beyond_the_position_limit_are_counted(trained):
    """Prefix positions eat into the encoder's positions; longer inputs are cut, counted, never a crash."""
    _, output_dir, _ = trained["xlmr"]
    predict = pt.load_predictor(str(output_dir), "udpos", {})  # max_length 128 > the 112 left
    long = Sentence(tuple(f"w{i}" for i in range(300)), ("NOUN",) * 300)
    prediction = predict([long, Sentence(("a", "b"), ("DET", "NOUN"))])
    assert len(prediction.tags[0]) == 300 and len(prediction.tags[1]) == 2
    truncated = prediction.counts["truncated_words"]
    assert 300 - 112 < truncated < 300
    assert prediction.tags[0][-truncated:] == ["X"] * truncated  # FALLBACK_LABEL["udpos"]


def test_resume_from_an_interrupted_run_reproduces_it(trained, tiny_models, udpos_data, tmp_path):
    """Delete the newest checkpoint (an interruption before the end): the rerun resumes from the
    one left and evaluates the later steps exactly as the uninterrupted run did (restored prefix,
    head, optimiser). Which earlier checkpoint survives depends on which was best (HF keeps the
    best and the newest), so the test takes whichever it is."""
    summary, _, checkpoint_dir = trained["bert"]
    out_dirs, _ = tiny_models
    train, dev = udpos_data
    checkpoints = tmp_path / "checkpoints"
    shutil.copytree(checkpoint_dir, checkpoints)
    shutil.rmtree(newest_checkpoint(checkpoints))
    resume_point = newest_checkpoint(checkpoints)
    assert resume_point is not None and int(resume_point.rsplit("-", 1)[1]) < 16
    resumed = pt.train(str(out_dirs["bert"]), "udpos", train, dev, tmp_path / "model", checkpoints, PARAMS, seed=0)
    assert resumed["resumed_from"] == resume_point
    assert resumed["global_steps"] == summary["global_steps"] == 16
    original = [(h["step"], h["eval_loss"]) for h in summary["dev_history"]]
    again = [(h["step"], h["eval_loss"]) for h in resumed["dev_history"]]
    assert [s for s, _ in again] == [s for s, _ in original]
    assert [l for _, l in again] == pytest.approx([l for _, l in original], abs=1e-5)


def test_panx_selects_by_entity_f1(tiny_models, panx_data, tmp_path):
    out_dirs, _ = tiny_models
    train, dev = panx_data
    summary = pt.train(
        str(out_dirs["bert"]),
        "panx",
        train,
        dev,
        tmp_path / "model",
        tmp_path / "ckpt",
        dict(learning_rate=1e-2, epochs=1, eval_steps=4),
        seed=0,
    )
    assert {"f1", "precision", "recall", "accuracy"} <= set(summary["best_dev"])
    assert summary["best_dev"]["f1"] == pytest.approx(max(h["eval_f1"] for h in summary["dev_history"]))
    prediction = pt.load_predictor(str(tmp_path / "model"), "panx", {})(dev)
    assert {t for tags in prediction.tags for t in tags} <= set(PANX)
    with pytest.raises(ValueError, match="udpos"):
        pt.load_predictor(str(tmp_path / "model"), "udpos", {})


def test_mpt_schedule_per_epoch_evaluation_and_exponential_decay(tiny_models, udpos_data, tmp_path):
    """The paper preset's PT: dev after every epoch, the rate times gamma after every epoch (MPT)."""
    out_dirs, _ = tiny_models
    train, dev = udpos_data
    summary = pt.train(
        str(out_dirs["xlmr"]),
        "udpos",
        train,
        dev,
        tmp_path / "model",
        tmp_path / "ckpt",
        dict(learning_rate=1e-2, epochs=3, eval_steps=None, lr_gamma=0.5, batch_size=16),
        seed=0,
    )
    per_epoch = summary["global_steps"] // 3
    assert summary["global_steps"] == 3 * per_epoch == 12  # ceil(60 / 16) = 4 steps per epoch
    assert [h["step"] for h in summary["dev_history"]] == [per_epoch, 2 * per_epoch, 3 * per_epoch]
    history = json.loads((tmp_path / "model" / "xlie_training.json").read_text())["dev_history"]
    assert history == summary["dev_history"]
    trainer_state = json.loads((tmp_path / "ckpt" / "checkpoint-12" / "trainer_state.json").read_text())
    rates = {e["step"]: e["learning_rate"] for e in trainer_state["log_history"] if "learning_rate" in e}
    # logged at each epoch end: the rate that epoch used, lr * gamma^(epoch - 1), as in MPT
    assert rates == pytest.approx({4: 1e-2, 8: 1e-2 * 0.5, 12: 1e-2 * 0.25})


def test_a_directory_not_written_by_train_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match=pt.RECORD_FILE):
        pt.load_predictor(str(tmp_path), "udpos", {})


def test_effective_max_length_keeps_the_paper_length_on_real_sized_encoders():
    from transformers import BertConfig, XLMRobertaConfig

    params = pt.Params()
    assert pt.effective_max_length(BertConfig(max_position_embeddings=512), params) == 128
    assert pt.effective_max_length(XLMRobertaConfig(max_position_embeddings=514, pad_token_id=1), params) == 128
    assert pt.effective_max_length(XLMRobertaConfig(max_position_embeddings=130, pad_token_id=1), params) == 112
    with pytest.raises(ValueError, match="num_virtual_tokens"):
        pt.effective_max_length(BertConfig(max_position_embeddings=16), params)
