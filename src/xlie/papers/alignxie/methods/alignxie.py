"""AlignXIE as a pipeline method: two-phase LoRA instruction tuning of a causal LM, then batched
greedy generation of code-style extractions (xlie.papers.alignxie).

train: phase 1 (variant ``tip``) tunes a LoRA adapter on translated-instance-prediction instances
(the ``build_tip`` rule's file, which the codeie task hands over as ``alignment_data``); phase 2
continues on the run's training mixture (code-style IE instructions, loss on the completion only).
Variant ``none`` is the ablation without phase 1. There is no dev-based model selection (one
epoch, KnowCoder's recipe); the dev split is unused.

load_predictor: base model + the run's adapter merged in memory (Hugging Face generation, left
padding, length-sorted batches) or served as a LoRA by vLLM; outputs are returned as text and only
ever parsed (``ast``), never executed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

from xlie.papers.alignxie.params import LoraParams as Params

SUMMARY_FILE = "xlie_training.json"


def _instances(examples) -> list:
    from xlie.papers.alignxie.lora_training import Instance
    from xlie.papers.alignxie.schema import render_prompt

    return [Instance(render_prompt(e.query), e.output) for e in examples]


def train(model_path, task, train, dev, output_dir, checkpoint_dir, params, seed, alignment_data=None) -> dict:
    """Phase 1 (TIP, variant ``tip``) into ``output_dir/phase1``, phase 2 (``train``) into ``output_dir``."""
    from xlie.papers.alignxie.lora_training import read_instances_jsonl, train_phase

    hp = Params.from_dict(params)
    if not train:
        raise ValueError("AlignXIE phase 2 needs training instances (the source mixture's train split is empty)")
    output_dir, checkpoint_dir = Path(output_dir), Path(checkpoint_dir)
    phases, init_adapter = {}, None
    if hp.alignment == "tip":
        if not alignment_data:
            raise ValueError("variant 'tip' needs the TIP instances (data.codeie.alignment_data)")
        tip = read_instances_jsonl(alignment_data)
        phases["phase1"] = train_phase(
            model_path, tip, output_dir / "phase1", checkpoint_dir / "phase1", hp, seed, phase="phase1 (TIP alignment)"
        )
        init_adapter = output_dir / "phase1"
    phases["phase2"] = train_phase(
        model_path,
        _instances(train),
        output_dir,
        checkpoint_dir / "phase2",
        hp,
        seed,
        init_adapter=init_adapter,
        phase="phase2 (IE instructions)",
    )
    from xlie.pipeline.training import write_training_summary

    summary = {
        "method": "alignxie",
        "alignment": hp.alignment,
        "base_model": str(model_path),
        "alignment_data": alignment_data if hp.alignment == "tip" else None,
        "best_dev": None,  # no dev-based selection: KnowCoder's one-epoch recipe
        "phases": phases,
        "global_steps": sum(p["global_steps"] for p in phases.values()),
    }
    return write_training_summary(output_dir, summary)


def _load_merged(model_dir: Path, hp: Params):
    """The base named in the run's summary with the run's adapter merged in (fp32 on CPU)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    summary = json.loads((model_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
    remote = {"trust_remote_code": True} if hp.trust_remote_code else {}
    dtype = torch.bfloat16 if hp.bf16 and torch.cuda.is_available() else torch.float32
    base = AutoModelForCausalLM.from_pretrained(summary["base_model"], dtype=dtype, **remote)
    merged = PeftModel.from_pretrained(base, str(model_dir)).merge_and_unload()
    merged.config.use_cache = True
    return merged, AutoTokenizer.from_pretrained(str(model_dir), **remote)


def load_predictor(model_dir: str | Path, task: str, params: dict) -> Callable:
    """Load once; ``predict(examples, desc)`` -> CodePrediction (raw outputs + counts)."""
    from xlie.papers.alignxie.generation import HFGenerator, cuda_available, vllm_available
    from xlie.papers.alignxie.parser import parse_output
    from xlie.papers.alignxie.schema import render_prompt
    from xlie.papers.alignxie.tasks import CodePrediction

    hp = Params.from_dict(params)
    model_dir = Path(model_dir)
    options = dict(
        max_new_tokens=hp.max_new_tokens,
        keep_head=hp.keep_head,
        keep_tail=hp.keep_tail,
        bf16=hp.bf16,
        trust_remote_code=hp.trust_remote_code,
    )
    use_vllm = hp.backend == "vllm" or (hp.backend == "auto" and vllm_available() and cuda_available())
    if use_vllm:
        from xlie.papers.alignxie.generation import VLLMGenerator

        summary = json.loads((model_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
        generator = VLLMGenerator(summary["base_model"], lora=model_dir, lora_rank=hp.lora_r, **options)
    else:
        merged, tokenizer = _load_merged(model_dir, hp)
        generator = HFGenerator(str(model_dir), batch_size=hp.eval_batch_size, loaded=(merged, tokenizer), **options)

    def predict(examples: Sequence, desc: str = "predict") -> CodePrediction:
        generations = generator.generate([render_prompt(e.query) for e in examples], desc=desc)
        parsed = [parse_output(text, e.task) for e, text in zip(examples, generations.texts)]
        counts = {
            "prompts_cut": generations.counts.get("prompts_cut", 0),
            "unparsed_outputs": sum(p.failed for p in parsed),
            "truncated_outputs": sum(p.truncated for p in parsed),
            "rejected_items": sum(p.rejected for p in parsed),
            "empty_outputs": sum(not p.failed and not p.records for p in parsed),
        }
        return CodePrediction(generations.texts, counts)

    return predict
