"""AlignXIE trained as KnowCoder's SFT script does: the effective batch (1 per device x 32
accumulation x 4 GPUs = 128) whatever the GPUs a job gets, and LLaMA-Factory's cutoff of
over-long instances (prompt and completion keep their beginnings), ours as an option."""

from __future__ import annotations

import json

import pytest

from xlie.papers.alignxie.lora_training import Instance, Params, batch_plan, cut_to_length, encode_instance, train_phase
from xlie.pipeline.training import batch_for_attempt, data_parallel_processes, describe_batch


@pytest.mark.parametrize(("processes", "accumulation"), [(1, 128), (2, 64), (4, 32)])
def test_accumulation_makes_up_the_effective_batch_on_any_number_of_processes(processes, accumulation):
    params = Params(effective_batch_size=128, batch_size=1)
    assert batch_plan(params, processes) == (processes, accumulation)  # 4 GPUs: KnowCoder's 1 x 32 x 4
    assert batch_plan(Params(effective_batch_size=128, batch_size=2), processes) == (processes, accumulation // 2)
    # The record the job writes (xlie_training.json's "batch", the provenance, the checkpoint manifest).
    _, record = batch_for_attempt({"effective_batch_size": 128}, Params, 1, processes)
    assert (record["effective_batch_size"], record["grad_accum"], record["processes"]) == (128, accumulation, processes)
    # Out of memory: a smaller per-device batch, the accumulation derived again, the same 128.
    adjusted, retry = batch_for_attempt({"effective_batch_size": 128, "batch_size": 4}, Params, 2, processes)
    assert adjusted["batch_size"] == 2 and "grad_accum" not in adjusted  # the method derives it
    assert (retry["per_device_batch_size"], retry["grad_accum"]) == (2, 64 // processes)
    assert retry["effective_batch_size"] == 128 and "effective batch 128" in describe_batch(retry)


def test_without_an_effective_batch_the_accumulation_is_per_process():
    assert batch_plan(Params(batch_size=1, grad_accum=32), 4) == (4, 32)
    _, record = batch_for_attempt({"grad_accum": 32}, Params, 1, 4)
    assert record["effective_batch_size"] == 32 and "processes" not in record


def test_an_effective_batch_that_does_not_divide_fails_naming_what_to_change():
    with pytest.raises(ValueError, match=r"effective_batch_size 128 is not a multiple of per-device batch 1 x 3"):
        batch_plan(Params(effective_batch_size=128, batch_size=1), 3)
    with pytest.raises(ValueError, match=r"effective_batch_size: 128 is not a multiple of batch_size 3"):
        Params(effective_batch_size=128, batch_size=3)


def test_processes_are_torchruns_world_size(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert data_parallel_processes() == 1
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert data_parallel_processes() == 4
    assert batch_plan(Params(effective_batch_size=128)) == (4, 32)


def test_the_training_summary_says_the_effective_batch(tiny_models, tmp_path, monkeypatch):
    """Three instances, one per micro-batch, effective batch 3: one optimiser step of three micro-batches."""
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    instances = [Instance(f"Input:\nsentence = {i}\nOutput:\n", "results = []") for i in range(3)]
    params = Params(
        effective_batch_size=3, batch_size=1, lora_r=4, lora_alpha=8, warmup_ratio=0.0, max_length=64, logging_steps=1
    )
    params.gradient_checkpointing = False
    summary = train_phase(tiny_models[0]["causal"], instances, tmp_path / "out", tmp_path / "ckpt", params)
    recorded = json.loads((tmp_path / "out/xlie_training.json").read_text())
    assert recorded == json.loads(json.dumps(summary))
    assert (recorded["effective_batch_size"], recorded["grad_accum"], recorded["processes"]) == (3, 3, 1)
    assert recorded["global_steps"] == 1


def test_head_cutoff_is_llama_factorys():
    prompt, completion = list(range(100)), list(range(1000, 1050))
    # The completion may keep int(60 * 50 / 150) = 20 tokens, the prompt the other 40: both their beginnings.
    assert cut_to_length(prompt, completion, 60, "head") == (prompt[:40], completion[:20])
    assert cut_to_length(prompt, [7], 10, "head") == (prompt[:9], [7])  # at least one completion token
    assert cut_to_length(prompt[:5], completion[:5], 10, "head") == (prompt[:5], completion[:5])  # fits: untouched
    # Ours keeps the prompt's end (the sentence) and at least half the room for the completion.
    kept_prompt, kept_completion = cut_to_length(prompt, completion, 60, "head_tail")
    assert kept_completion == completion[:30] and kept_prompt == prompt[:10] + prompt[80:]
    assert Params().truncation == "head"
    with pytest.raises(ValueError, match="truncation"):
        Params(truncation="tail")


def test_encode_instance_cuts_the_configured_way(tiny_models):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_models[0]["causal"])
    instance = Instance(
        'Input:\nsentence = "Obama met Merkel in Paris"\nOutput:\n', 'results = [\n\tPerson("Obama")\n]'
    )
    prompt = tokenizer(instance.prompt)["input_ids"]
    completion = tokenizer(instance.completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    limit = (len(prompt) + len(completion)) // 2
    feature, cut = encode_instance(tokenizer, instance, limit)  # the default: KnowCoder's
    kept = int(limit * len(completion) / (len(prompt) + len(completion)))
    assert cut and feature["input_ids"] == prompt[: limit - kept] + completion[:kept]
    assert feature["labels"] == [-100] * (limit - kept) + completion[:kept]
