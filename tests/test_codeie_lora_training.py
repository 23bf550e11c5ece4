"""Two-phase LoRA tuning on the tiny causal LM (CPU, a few steps): exact loss masking, both ways
of starting phase 2 and resuming from a checkpoint."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from xlie.papers.alignxie.lora_training import (
    IGNORE_INDEX,
    CompletionCollator,
    Instance,
    Params,
    encode_instance,
    read_instances_jsonl,
    target_modules_for,
    train_phase,
)
from xlie.papers.alignxie.schema import Schema, TypeDef, ner_code, render_prompt, render_query
from xlie.papers.alignxie.tip import build_tip_instance

SCHEMA = Schema.from_types(
    [
        TypeDef("entity", "Person", "A human being.", ("Obama",), labels=("PER", "人物")),
        TypeDef("entity", "Location", "A place.", ("Paris",), labels=("LOC", "地点")),
    ]
)


def alignment_instances() -> list[Instance]:
    pairs = [
        (
            "Obama visited Paris",
            [("PER", "Obama"), ("LOC", "Paris")],
            "奥巴马访问了巴黎",
            [("人物", "奥巴马"), ("地点", "巴黎")],
        ),
        ("Paris is big", [("LOC", "Paris")], "巴黎很大", [("地点", "巴黎")]),
    ]
    tips = [build_tip_instance(SCHEMA, *pair) for pair in pairs]
    return [Instance(render_prompt(t.query), t.completion) for t in tips]


def instruction_instances() -> list[Instance]:
    rows = [("Obama spoke", [("Person", "Obama")]), ("柏林很冷", [("Location", "柏林")]), ("Nothing", [])]
    return [Instance(render_prompt(render_query(SCHEMA, "ner", s)), ner_code(e)) for s, e in rows]


def tiny_params(**overrides) -> Params:
    values = dict(
        max_steps=2,
        batch_size=2,
        grad_accum=1,
        save_steps=1,
        logging_steps=1,
        max_length=160,
        lora_r=4,
        lora_alpha=8,
        learning_rate=1e-3,
        warmup_ratio=0.0,
    )
    return Params(**{**values, **overrides})


def test_collator_masks_prompt_and_padding_exactly():
    features = [{"input_ids": [5, 6, 7, 8], "labels": [-100, -100, 7, 8]}, {"input_ids": [9, 10], "labels": [-100, 10]}]
    batch = CompletionCollator(pad_token_id=1)(features)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8], [9, 10, 1, 1]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, -100, 7, 8], [-100, 10, -100, -100]]
    assert CompletionCollator(1, pad_to_multiple_of=8)(features)["input_ids"].shape == (2, 8)


def test_loss_is_the_cross_entropy_of_the_completion_tokens(tiny_models):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = tiny_models[0]["causal"]
    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path).eval()
    instances = instruction_instances()[:2]
    features = [encode_instance(tokenizer, i, 512)[0] for i in instances]
    batch = CompletionCollator(tokenizer.pad_token_id)(features)
    with torch.no_grad():
        loss = model(**batch).loss
        # By hand: each completion token predicted from the tokens before it, nothing else.
        terms = []
        for f in features:
            logits = model(input_ids=torch.tensor([f["input_ids"]])).logits[0]
            for t, label in enumerate(f["labels"]):
                if label != IGNORE_INDEX:
                    terms.append(torch.nn.functional.cross_entropy(logits[t - 1], torch.tensor(label)))
    assert len(terms) == sum(len(tokenizer(i.completion, add_special_tokens=False)["input_ids"]) + 1 for i in instances)
    assert torch.allclose(loss, torch.stack(terms).mean(), atol=1e-5)


def test_encode_instance_labels_only_the_completion(tiny_models):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_models[0]["causal"])
    instance = Instance('Input:\nsentence = "Obama"\nOutput:\n', 'results = [\n\tPerson("Obama")\n]')
    prompt = tokenizer(instance.prompt)["input_ids"]
    completion = tokenizer(instance.completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    feature, cut = encode_instance(tokenizer, instance, max_length=512)
    assert not cut
    assert feature["input_ids"] == prompt + completion
    assert feature["labels"] == [IGNORE_INDEX] * len(prompt) + completion
    limit = len(prompt) + 4
    short, cut = encode_instance(tokenizer, instance, max_length=limit, truncation="head_tail")
    kept = completion[: limit // 2]  # half of the limit is more than the 4 tokens left after the prompt
    room = limit - len(kept)
    head, tail = room // 3, room - room // 3
    assert cut and short["input_ids"] == prompt[:head] + prompt[len(prompt) - tail :] + kept
    assert short["labels"] == [IGNORE_INDEX] * room + kept


def test_params_parse_strictly():
    assert Params.from_dict({"learning_rate": "3e-4", "phase2_start": "merge"}).learning_rate == 3e-4
    with pytest.raises(TypeError, match="unknown parameter.*lora_rank"):
        Params.from_dict({"lora_rank": 8})
    with pytest.raises(ValueError, match="phase2_start"):
        Params(phase2_start="stack")


def test_target_modules_default(tiny_models):
    from transformers import AutoConfig

    class Fake:
        def __init__(self, model_type):
            self.config = type("C", (), {"model_type": model_type})()

    config = AutoConfig.from_pretrained(tiny_models[0]["causal"])
    assert target_modules_for(Fake(config.model_type), "auto")[:3] == ["q_proj", "k_proj", "v_proj"]
    assert target_modules_for(Fake("baichuan"), "auto")[0] == "W_pack"
    assert target_modules_for(Fake("gpt_neox"), "auto") == "all-linear"
    assert target_modules_for(Fake("llama"), ["q_proj"]) == ["q_proj"]


def _adapter_weights(path) -> dict[str, torch.Tensor]:
    return load_file(str(path / "adapter_model.safetensors"))


def test_two_phases_continue(tiny_models, tmp_path):
    base = tiny_models[0]["causal"]
    params = tiny_params(gradient_checkpointing=True)
    first = train_phase(base, alignment_instances(), tmp_path / "phase1", tmp_path / "ckpt1", params, phase="phase1")
    phase2 = dict(init_adapter=tmp_path / "phase1", phase="phase2")
    second = train_phase(base, instruction_instances(), tmp_path / "phase2", tmp_path / "ckpt2", params, **phase2)
    assert first["global_steps"] == second["global_steps"] == 2
    assert first["started_from"] == "fresh adapter on the base"
    assert second["started_from"].endswith("phase1, trained further")
    assert all(torch.isfinite(torch.tensor(s["losses"])).all() for s in (first, second))
    assert json.loads((tmp_path / "phase2/xlie_training.json").read_text())["instances"] == 3
    w1, w2 = _adapter_weights(tmp_path / "phase1"), _adapter_weights(tmp_path / "phase2")
    assert w1.keys() == w2.keys() and any("v_proj" in k for k in w1)
    assert any(not torch.equal(w1[k], w2[k]) for k in w1)  # phase 2 moved phase 1's adapter


def test_phase2_merge_starts_a_new_adapter_on_the_merged_base(tiny_models, tmp_path):
    base = tiny_models[0]["causal"]
    params = tiny_params(max_steps=1, phase2_start="merge", gradient_checkpointing=False)
    train_phase(base, alignment_instances(), tmp_path / "p1", tmp_path / "c1", params)
    summary = train_phase(
        base, instruction_instances(), tmp_path / "p2", tmp_path / "c2", params, init_adapter=tmp_path / "p1"
    )
    assert summary["started_from"].startswith("fresh adapter on the base merged with")
    adapter_config = json.loads((tmp_path / "p2/adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == str(tmp_path / "p2" / "base")
    assert (tmp_path / "p2/base/config.json").exists()


def test_resume_from_last_checkpoint(tiny_models, tmp_path):
    base = tiny_models[0]["causal"]
    first = train_phase(
        base, instruction_instances(), tmp_path / "out", tmp_path / "ckpt", tiny_params(gradient_checkpointing=False)
    )
    assert first["resumed_from"] is None and (tmp_path / "ckpt/checkpoint-2").is_dir()
    again = train_phase(
        base,
        instruction_instances(),
        tmp_path / "out",
        tmp_path / "ckpt",
        tiny_params(max_steps=3, gradient_checkpointing=False),
    )
    assert again["resumed_from"].endswith("checkpoint-2")
    # The checkpoint's log history came back with it: steps 1-2 as first logged, then step 3.
    assert again["global_steps"] == 3 and len(again["losses"]) == 3 and again["losses"][:2] == first["losses"]


def test_read_instances_jsonl(tmp_path):
    path = tmp_path / "i.jsonl"
    path.write_text('{"prompt": "p", "completion": "c"}\n{"prompt": "p"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"i.jsonl:2: missing key"):
        read_instances_jsonl(path)
    path.write_text('{"prompt": "p", "completion": "c"}\n', encoding="utf-8")
    assert read_instances_jsonl(path) == [Instance("p", "c")]
