"""Batched greedy generation of code-style completions (AlignXIE's evaluation is mostly this).

Two backends with one interface, ``generate(prompts) -> Generations`` (completions in input order):

- ``HFGenerator``: Hugging Face ``generate`` on length-sorted batches; causal LMs are left-padded
  (position ids then follow the attention mask, so a padded row computes what it computes alone),
  seq2seq models right-padded. Greedy, ``max_new_tokens``, and a stop string: transformers'
  ``StopStringCriteria`` ends a row as soon as the string appears, and the completion is cut
  before it (KnowCoder stops at the closing ``\"\"\"``).
- ``VLLMGenerator``: vLLM with temperature 0 and the same stop string, used by ``make_generator``
  when vLLM is importable and a GPU is present.

Long prompts keep their first ``keep_head`` and last ``keep_tail`` tokens, as KnowCoder's
evaluation does (1500 + 2000); the cut is counted, never silent.
"""

from __future__ import annotations

import importlib.util
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

# KnowCoder's evaluation settings (its released inference script).
DEFAULT_STOP = '"""'
DEFAULT_MAX_NEW_TOKENS = 640
DEFAULT_KEEP_HEAD = 1500
DEFAULT_KEEP_TAIL = 2000


@dataclass
class Generations:
    """Completions in input order, plus counts of what was not plain (cut prompts, stops)."""

    texts: list[str]
    counts: dict[str, int] = field(default_factory=dict)


def cut_at_stop(text: str, stop: str | None) -> tuple[str, bool]:
    """``text`` up to the first ``stop`` (excluded) and whether the stop string was there."""
    if stop and stop in text:
        return text[: text.index(stop)], True
    return text, False


def keep_head_and_tail(ids: Sequence[int], keep_head: int, keep_tail: int) -> tuple[list[int], bool]:
    """The first ``keep_head`` and last ``keep_tail`` ids of a prompt longer than both together."""
    if len(ids) <= keep_head + keep_tail:
        return list(ids), False
    return list(ids[:keep_head]) + list(ids[len(ids) - keep_tail :]), True


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first, so memory trouble shows early)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def cuda_available() -> bool:
    return torch.cuda.is_available()


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


class HFGenerator:
    """A causal or seq2seq LM (hub id or local path) generating greedily in length-sorted batches."""

    def __init__(
        self,
        model: str | Path,
        *,
        batch_size: int = 8,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        stop: str | None = DEFAULT_STOP,
        keep_head: int = DEFAULT_KEEP_HEAD,
        keep_tail: int = DEFAULT_KEEP_TAIL,
        bf16: bool = True,
        device: str | None = None,
        trust_remote_code: bool = False,
        loaded: tuple | None = None,
    ):
        """``loaded``: an already built (model, tokenizer), e.g. a base with its LoRA adapter merged
        in memory; ``model`` then only names it."""
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        self.name = str(model)
        self.batch_size, self.max_new_tokens, self.stop = batch_size, max_new_tokens, stop or None
        self.keep_head, self.keep_tail = keep_head, keep_tail
        self.device = torch.device(device or ("cuda" if cuda_available() else "cpu"))
        # bf16 on a GPU; fp32 on CPU, where bf16 matmuls are slow and numerically different.
        dtype = torch.bfloat16 if bf16 and self.device.type == "cuda" else torch.float32
        remote = {"trust_remote_code": True} if trust_remote_code else {}  # Baichuan2 ships its own code
        if loaded is not None:
            model_object, self.tokenizer = loaded
            self.seq2seq = bool(getattr(model_object.config, "is_encoder_decoder", False))
            self.model = model_object.to(dtype=dtype, device=self.device).eval()
        else:
            self.seq2seq = bool(getattr(AutoConfig.from_pretrained(model, **remote), "is_encoder_decoder", False))
            loader = AutoModelForSeq2SeqLM if self.seq2seq else AutoModelForCausalLM
            self.model = loader.from_pretrained(model, dtype=dtype, **remote).to(self.device).eval()
            self.tokenizer = AutoTokenizer.from_pretrained(model, **remote)
        self._position_ids = not self.seq2seq and "position_ids" in inspect.signature(self.model.forward).parameters
        self.tokenizer.model_max_length = int(1e30)  # prompts are cut by keep_head_and_tail, counted
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        if pad is None:
            raise ValueError(f"{self.name}: the tokenizer has neither a pad nor an eos token to pad batches with")
        self.pad_id = pad

    def encode(self, prompts: Sequence[str]) -> tuple[list[list[int]], int]:
        """Token ids of each prompt (model's special tokens included), long ones cut; (ids, number cut)."""
        ids, cut = [], 0
        encoded = self.tokenizer(list(prompts), add_special_tokens=True)["input_ids"] if prompts else []
        for row in encoded:
            row, was_cut = keep_head_and_tail(row, self.keep_head, self.keep_tail)
            ids.append(row)
            cut += was_cut
        return ids, cut

    def _pad(self, rows: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
        width = max(len(row) for row in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            # A causal LM continues from the last column, so its prompts end there (left padding).
            span = slice(0, len(row)) if self.seq2seq else slice(width - len(row), width)
            input_ids[i, span] = torch.tensor(row, dtype=torch.long)
            mask[i, span] = 1
        batch = {"input_ids": input_ids, "attention_mask": mask}
        if self._position_ids:
            # Positions count real tokens only, else a left-padded row would start at position
            # `padding` instead of 0 and differ from the same prompt run alone. transformers 5's
            # generate derives the same ids from the mask; remote-code models may not.
            batch["position_ids"] = (mask.cumsum(-1) - 1).clamp(min=0)
        return {k: v.to(self.device) for k, v in batch.items()}

    @torch.inference_mode()
    def _generate_batch(self, rows: Sequence[Sequence[int]]) -> list[list[int]]:
        batch = self._pad(rows)
        extra = {}
        if self.stop:
            extra = {"stop_strings": [self.stop], "tokenizer": self.tokenizer}
        out = self.model.generate(
            **batch,
            max_new_tokens=self.max_new_tokens,
            do_sample=False,
            num_beams=1,
            pad_token_id=self.pad_id,
            **extra,
        )
        if not self.seq2seq:  # a causal LM returns prompt + continuation
            out = out[:, batch["input_ids"].shape[1] :]
        return out.cpu().tolist()

    def generate(self, prompts: Sequence[str], desc: str | None = None) -> Generations:
        """Greedy completions in input order; ``desc``: label of a progress bar over the batches."""
        from tqdm.auto import tqdm

        ids, cut = self.encode(prompts)
        texts: list[str] = [""] * len(ids)
        stopped = 0
        batches = length_sorted_batches([len(row) for row in ids], self.batch_size)
        for batch in tqdm(batches, desc=desc, unit="batch", leave=False, disable=desc is None):
            outputs = self._generate_batch([ids[i] for i in batch])
            decoded = self.tokenizer.batch_decode(outputs, skip_special_tokens=True)
            for i, text in zip(batch, decoded, strict=True):
                texts[i], hit = cut_at_stop(text, self.stop)
                stopped += hit
        return Generations(texts, {"prompts": len(ids), "prompts_cut": cut, "stopped_at_stop_string": stopped})


class VLLMGenerator:
    """vLLM, greedy (temperature 0), with the same stop string and prompt cut as HFGenerator."""

    def __init__(
        self,
        model: str | Path,
        *,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        stop: str | None = DEFAULT_STOP,
        keep_head: int = DEFAULT_KEEP_HEAD,
        keep_tail: int = DEFAULT_KEEP_TAIL,
        bf16: bool = True,
        trust_remote_code: bool = False,
        lora: str | Path | None = None,
        lora_rank: int = 64,
        **engine_options,
    ):
        """``lora``: a peft adapter directory served on top of ``model`` (vLLM's LoRA support)."""
        from transformers import AutoTokenizer
        from vllm import LLM, SamplingParams

        self.name, self.stop = str(model), stop or None
        self.keep_head, self.keep_tail = keep_head, keep_tail
        self.tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
        if lora is not None:
            from vllm.lora.request import LoRARequest

            engine_options = {**engine_options, "enable_lora": True, "max_lora_rank": lora_rank}
            self.lora_request = LoRARequest("adapter", 1, str(lora))
        else:
            self.lora_request = None
        self.engine = LLM(
            model=str(model),
            dtype="bfloat16" if bf16 else "float32",
            seed=0,
            trust_remote_code=trust_remote_code,
            **engine_options,
        )
        # vLLM drops the stop string from the text, like cut_at_stop.
        self.sampling = SamplingParams(
            temperature=0.0, max_tokens=max_new_tokens, stop=[self.stop] if self.stop else None
        )

    def generate(self, prompts: Sequence[str], desc: str | None = None) -> Generations:
        rows, cut = [], 0
        if not prompts:
            return Generations([], {"prompts": 0, "prompts_cut": 0, "stopped_at_stop_string": 0})
        for row in self.tokenizer(list(prompts), add_special_tokens=True)["input_ids"]:
            row, was_cut = keep_head_and_tail(row, self.keep_head, self.keep_tail)
            rows.append({"prompt_token_ids": row})
            cut += was_cut
        outputs = self.engine.generate(rows, self.sampling, use_tqdm=desc is not None, lora_request=self.lora_request)
        texts, stopped = [], 0
        for out in outputs:  # vLLM returns outputs in input order
            completion = out.outputs[0]
            texts.append(completion.text)
            stopped += completion.finish_reason == "stop" and completion.stop_reason == self.stop
        return Generations(texts, {"prompts": len(rows), "prompts_cut": cut, "stopped_at_stop_string": stopped})


def make_generator(model: str | Path, backend: str = "auto", **options) -> HFGenerator | VLLMGenerator:
    """``backend``: "hf", "vllm", or "auto" (vLLM when it is importable and a GPU is present)."""
    if backend not in ("auto", "hf", "vllm"):
        raise ValueError(f"generation backend {backend!r}: expected auto, hf or vllm")
    use_vllm = backend == "vllm" or (backend == "auto" and vllm_available() and cuda_available())
    if use_vllm:
        if not vllm_available():
            raise ValueError("generation backend 'vllm' asked for, but vllm is not installed (pip install vllm)")
        options.pop("batch_size", None)  # vLLM schedules its own batches
        options.pop("device", None)
        return VLLMGenerator(model, **options)
    return HFGenerator(model, **options)
