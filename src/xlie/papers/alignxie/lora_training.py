"""AlignXIE's two-phase LoRA instruction tuning of a causal LM (peft + HF Trainer).

Phase 1 trains on translated-instance-prediction (TIP) instances (cross-lingual alignment),
phase 2 on multilingual IE instructions; both are prompt -> completion pairs with the LM loss on
the completion only (labels -100 on the prompt and the padding).

Phase 2 starts from phase 1's adapter. ``phase2_start`` chooses how:
- "continue" (default): phase 2 keeps training the same LoRA adapter, with a fresh optimiser and
  learning-rate schedule. One rank-r adapter on the untouched base comes out, which is what a
  LoRA-serving engine (vLLM) loads, and the base is never copied (14 GB for a 7B model).
- "merge": phase 1's adapter is merged into a copy of the base (saved in ``<phase 2 dir>/base``)
  and phase 2 trains a new adapter on it; its adapter_config points at that copy.
The paper does not say which it did; both are here, and a config value picks. The method
(``xlie.papers.alignxie.methods.alignxie``) runs the phases; the options are ``Params``
(``xlie.papers.alignxie.params``).

Every phase is resumable: its checkpoints live in ``checkpoint_dir`` and a rerun continues from the
newest (``transformers.trainer_utils.get_last_checkpoint``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import torch

from xlie.papers.alignxie.generation import keep_head_and_tail
from xlie.papers.alignxie.params import LoraParams as Params
from xlie.papers.alignxie.scorer import InputFileError, read_jsonl
from xlie.pipeline.runtime import atomic_write_text
from xlie.pipeline.training import accumulation_steps, data_parallel_processes

IGNORE_INDEX = -100  # the label value torch's cross-entropy skips

# LoRA on every linear projection of the decoder blocks (KnowCoder's released SFT script), named
# per architecture; Baichuan packs q, k, v into one W_pack. Others: peft's "all-linear".
TARGET_MODULES = {
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "baichuan": ["W_pack", "o_proj", "gate_proj", "up_proj", "down_proj"],
}


@dataclass(frozen=True)
class Instance:
    """One instruction instance: the full model input and the completion the loss is on."""

    prompt: str
    completion: str


def read_instances_jsonl(path: str | Path) -> list[Instance]:
    """Lines ``{"prompt": ..., "completion": ...}``; a bad line raises InputFileError naming the file and line."""
    instances = []
    for number, record in read_jsonl(Path(path), ("prompt", "completion")):
        if not all(isinstance(record[k], str) for k in ("prompt", "completion")):
            raise InputFileError(f"{path}:{number}: 'prompt' and 'completion' must be strings")
        instances.append(Instance(record["prompt"], record["completion"]))
    return instances


# ---------------------------------------------------------------- encoding and collation


def cut_to_length(prompt: list[int], completion: list[int], max_length: int, truncation: str) -> tuple[list, list]:
    """(prompt, completion) of at most ``max_length`` tokens together.

    "head" is KnowCoder's cutoff (LLaMA-Factory's ``infer_max_len``, ``sft/src/llmtuner/data/preprocess.py``):
    the completion may keep ``int(max_length * its share of the tokens)``, at least 1, the prompt the
    rest, and each keeps its beginning, so a long prompt loses its end, the sentence to extract from.
    "head_tail" (ours) keeps that sentence: the completion keeps at most the larger of what fits after
    the prompt and half of ``max_length``, the prompt its first third and its end in the rest."""
    if len(prompt) + len(completion) <= max_length:
        return prompt, completion
    if truncation == "head":
        completion_room = max(int(max_length * (len(completion) / (len(prompt) + len(completion)))), 1)
        return prompt[: max_length - completion_room], completion[:completion_room]
    completion = completion[: max(max_length - len(prompt), max_length // 2)]
    room = max_length - len(completion)
    prompt, _ = keep_head_and_tail(prompt, room // 3, room - room // 3)
    return prompt, completion


def encode_instance(tokenizer, instance: Instance, max_length: int, truncation: str = "head") -> tuple[dict, bool]:
    """input_ids = prompt (with the model's special tokens) + completion + eos; labels = -100 on the
    prompt. Too long: cut to ``max_length`` the ``truncation`` way (:func:`cut_to_length`)."""
    prompt = tokenizer(instance.prompt, add_special_tokens=True)["input_ids"]
    completion = tokenizer(instance.completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    cut = len(prompt) + len(completion) > max_length
    prompt, completion = cut_to_length(prompt, completion, max_length, truncation)
    return {"input_ids": prompt + completion, "labels": [IGNORE_INDEX] * len(prompt) + completion}, cut


@dataclass
class CompletionCollator:
    """Right-pads a batch: pad id in input_ids, 0 in attention_mask, -100 in labels."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, features: Sequence[dict]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)
        if self.pad_to_multiple_of:
            width = -(-width // self.pad_to_multiple_of) * self.pad_to_multiple_of
        batch = {
            "input_ids": torch.full((len(features), width), self.pad_token_id, dtype=torch.long),
            "attention_mask": torch.zeros((len(features), width), dtype=torch.long),
            "labels": torch.full((len(features), width), IGNORE_INDEX, dtype=torch.long),
        }
        for i, f in enumerate(features):
            n = len(f["input_ids"])
            batch["input_ids"][i, :n] = torch.tensor(f["input_ids"])
            batch["attention_mask"][i, :n] = 1
            batch["labels"][i, :n] = torch.tensor(f["labels"])
        return batch


# ---------------------------------------------------------------- models


def target_modules_for(model, target_modules: list[str] | str) -> list[str] | str:
    if target_modules != "auto":
        return target_modules
    return TARGET_MODULES.get(getattr(model.config, "model_type", ""), "all-linear")


def _use_bf16(params: Params) -> bool:
    return params.bf16 and torch.cuda.is_available()


def _load_base(path: str | Path, params: Params):
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if _use_bf16(params) else torch.float32
    remote = {"trust_remote_code": True} if params.trust_remote_code else {}
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **remote)
    model.config.use_cache = False  # no KV cache while training (and none with checkpointing)
    return model


def _trainable_model(base_model: str | Path, params: Params, init_adapter: str | Path | None, output_dir: Path):
    """(peft model to train, description of where it started)."""
    from peft import LoraConfig, PeftModel, get_peft_model

    if init_adapter is None or params.phase2_start == "merge":
        if init_adapter is None:
            model, start = _load_base(base_model, params), "fresh adapter on the base"
        else:
            merged_dir = output_dir / "base"
            if not (merged_dir / "config.json").exists():  # a resumed run reuses the merged copy
                merged = PeftModel.from_pretrained(_load_base(base_model, params), str(init_adapter)).merge_and_unload()
                merged.save_pretrained(merged_dir)
            model, start = _load_base(merged_dir, params), f"fresh adapter on the base merged with {init_adapter}"
        config = LoraConfig(
            r=params.lora_r,
            lora_alpha=params.lora_alpha,
            lora_dropout=params.lora_dropout,
            target_modules=target_modules_for(model, params.target_modules),
            modules_to_save=params.modules_to_save,
            task_type="CAUSAL_LM",
        )
        return get_peft_model(model, config), start
    # "continue": the phase-1 adapter, trainable (its r/alpha/targets win over params').
    model = PeftModel.from_pretrained(_load_base(base_model, params), str(init_adapter), is_trainable=True)
    return model, f"adapter {init_adapter}, trained further"


def batch_plan(params: Params, processes: int | None = None) -> tuple[int, int]:
    """(processes, gradient accumulation) of a phase: with ``effective_batch_size`` the accumulation
    that makes ``batch_size`` x the processes up to it (a ValueError when it does not divide), else
    ``grad_accum``. ``processes``: those this job trains on (torchrun's WORLD_SIZE) unless given."""
    processes = data_parallel_processes() if processes is None else processes
    if params.effective_batch_size is None:
        return processes, params.grad_accum
    return processes, accumulation_steps(params.effective_batch_size, params.batch_size, processes)


def last_checkpoint(checkpoint_dir: str | Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(checkpoint_dir)) if Path(checkpoint_dir).is_dir() else None


def train_phase(
    base_model: str | Path,
    instances: Sequence[Instance],
    output_dir: str | Path,
    checkpoint_dir: str | Path,
    params: Params,
    seed: int = 42,
    *,
    init_adapter: str | Path | None = None,
    phase: str = "phase",
) -> dict:
    """Train one LoRA phase; the adapter and tokenizer go to ``output_dir`` with
    ``xlie_training.json`` (the summary returned). ``init_adapter``: the previous phase's output."""
    from transformers import AutoTokenizer, Trainer, TrainingArguments, set_seed

    if not instances:
        raise ValueError(f"{phase}: no training instances")
    set_seed(seed)
    output_dir, checkpoint_dir = Path(output_dir), Path(checkpoint_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(base_model, trust_remote_code=params.trust_remote_code)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pad is None or tokenizer.eos_token_id is None:
        raise ValueError(f"{base_model}: the tokenizer needs an eos token (the completion's end)")
    features, cut = [], 0
    for instance in instances:
        feature, was_cut = encode_instance(tokenizer, instance, params.max_length, params.truncation)
        features.append(feature)
        cut += was_cut
    model, start = _trainable_model(base_model, params, init_adapter, output_dir)
    processes, grad_accum = batch_plan(params)
    args = TrainingArguments(
        output_dir=str(checkpoint_dir),
        learning_rate=params.learning_rate,
        lr_scheduler_type=params.lr_scheduler,
        warmup_steps=params.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        num_train_epochs=params.epochs,
        max_steps=params.max_steps,
        per_device_train_batch_size=params.batch_size,
        gradient_accumulation_steps=grad_accum,
        weight_decay=params.weight_decay,
        activation_checkpointing=params.gradient_checkpointing,  # transformers 5's name for it
        activation_checkpointing_kwargs={"use_reentrant": False} if params.gradient_checkpointing else None,
        bf16=_use_bf16(params),
        use_cpu=not torch.cuda.is_available(),
        save_strategy="steps",
        save_steps=params.save_steps,
        save_total_limit=params.save_total_limit,
        logging_steps=params.logging_steps,
        seed=seed,
        data_seed=seed,
        report_to=[],
        remove_unused_columns=False,  # the collator needs labels as built, not a column filter
        dataloader_num_workers=0,
        # Under torchrun (several GPUs) every LoRA weight gets a gradient; DDP's search for unused
        # ones would only cost time and, with activation checkpointing, fail.
        ddp_find_unused_parameters=False,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=features,
        data_collator=CompletionCollator(pad, pad_to_multiple_of=8 if _use_bf16(params) else None),
        processing_class=tokenizer,
    )
    resume = last_checkpoint(checkpoint_dir)
    result = trainer.train(resume_from_checkpoint=resume)
    trainer.save_model(str(output_dir))
    summary = {
        "phase": phase,
        "base_model": str(base_model),
        "started_from": start,
        "resumed_from": resume,
        "global_steps": trainer.state.global_step,
        "train_loss": result.training_loss,
        "instances": len(instances),
        "instances_cut": cut,
        "truncation": params.truncation,
        # The optimiser's batch: per-device batch x accumulation x the processes (GPUs) trained on.
        "per_device_batch_size": params.batch_size,
        "grad_accum": grad_accum,
        "processes": processes,
        "effective_batch_size": params.batch_size * grad_accum * processes,
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "bf16": _use_bf16(params),
        "params": asdict(params),
        "losses": [entry["loss"] for entry in trainer.state.log_history if "loss" in entry],
    }
    atomic_write_text(output_dir / "xlie_training.json", json.dumps(summary, indent=2) + "\n")
    return summary
