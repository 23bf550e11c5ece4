"""The options of AlignXIE's method (torch-free: the grid checks a config's ``training:`` blocks
against them without importing a model library); ``lora_training`` and the method import the
class as ``Params``."""

from __future__ import annotations

from dataclasses import dataclass

from xlie.pipeline.params import TrainingParams

PHASE2_STARTS = ("continue", "merge")
ALIGNMENTS = ("tip", "none")
TRUNCATIONS = ("head", "head_tail")


@dataclass
class LoraParams(TrainingParams):
    """Hyper-parameters of one LoRA phase (both phases read the same keys; ``alignxie``). Defaults:
    KnowCoder's released SFT script, the proxy for AlignXIE's unpublished ones (../shared/specs/alignxie.md)."""

    lora_r: int = 32
    lora_alpha: int = 64
    lora_dropout: float = 0.1
    target_modules: list[str] | str = "auto"  # "auto": TARGET_MODULES by model type, else "all-linear"
    # Modules trained in full beside the adapter (peft's modules_to_save), e.g. [embed_tokens, lm_head]
    # for a random-init demo base that a low-rank update alone cannot teach a new output format.
    modules_to_save: list[str] | None = None
    learning_rate: float = 3e-4
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.1
    max_steps: int = -1  # > 0 overrides epochs (demo, tests)
    batch_size: int = 1
    # The optimiser's batch over all processes (KnowCoder's 1 per device x 32 accumulation x 4 GPUs = 128;
    # the paper preset's): the accumulation is derived from batch_size and the processes (GPUs) the job
    # runs on, so the recipe stays the same on 1, 2 or 4 GPUs. null: grad_accum per process, as given.
    effective_batch_size: int | None = None
    grad_accum: int = 32  # only when effective_batch_size is null
    max_length: int = 2048  # prompt + completion tokens; longer instances are cut (counted)
    # How an over-long instance is cut to max_length: "head" (KnowCoder's LLaMA-Factory cutoff: prompt and
    # completion keep their beginnings, the room shared in proportion to their lengths) or "head_tail" (ours:
    # the completion keeps at least half, the prompt its first third and its end, where the sentence is).
    truncation: str = "head"
    gradient_checkpointing: bool = True
    bf16: bool = True  # on a GPU only; CPU trains in fp32
    save_steps: int = 500
    save_total_limit: int = 2
    logging_steps: int = 10
    phase2_start: str = "continue"  # or "merge" (see xlie.papers.alignxie.lora_training)
    # Run a checkpoint's own modelling code (a model that needs it; the paper preset's Baichuan2 does
    # not: it is converted into a Llama checkpoint, models.<m>.convert).
    trust_remote_code: bool = False
    # The pipeline's method (xlie.papers.alignxie.methods.alignxie): its variant sets `alignment`.
    alignment: str = "tip"  # "tip": phase 1 on TIP, then phase 2; "none": phase 2 only (the ablation)
    # Inference (KnowCoder's decoding: greedy, stop at the docstring quote, 640 new tokens).
    eval_batch_size: int = 8
    max_new_tokens: int = 640
    keep_head: int = 1500  # a longer prompt keeps its first keep_head and last keep_tail tokens
    keep_tail: int = 2000
    backend: str = "auto"  # hf | vllm | auto (vLLM when installed and a GPU is present)

    def __post_init__(self) -> None:
        self.check_choices(phase2_start=PHASE2_STARTS, alignment=ALIGNMENTS, truncation=TRUNCATIONS)
        self.check_positive_ints("batch_size", "grad_accum")
        if self.effective_batch_size is not None:
            self.check_positive_ints("effective_batch_size")
            if self.effective_batch_size % self.batch_size:
                raise ValueError(
                    f"{type(self).__qualname__}.effective_batch_size: {self.effective_batch_size} is not a multiple "
                    f"of batch_size {self.batch_size}"
                )
        if self.max_length < 8:
            raise ValueError(f"{type(self).__qualname__}.max_length: {self.max_length} is too small")
