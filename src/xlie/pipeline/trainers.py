"""The Trainer subclasses several methods share (imported only when training: ``transformers.Trainer``
costs seconds of imports that an evaluation job does not need)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence

import torch
from transformers import Trainer


def numeric_scores(scores: dict) -> dict[str, float]:
    return {k: float(v) for k, v in scores.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


class DevSelectionTrainer(Trainer):
    """The dev-selection trainer: ``evaluate`` calls ``dev_scorer(model) -> dict`` (task metrics on
    the source dev set, e.g. from constrained scoring or generation + parsing) instead of an
    eval-loss loop, so that ``metric_for_best_model`` / ``load_best_model_at_end`` select by it."""

    def __init__(self, *args, dev_scorer: Callable[[torch.nn.Module], dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.dev_scorer = dev_scorer

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        start = time.time()
        was_training = self.model.training
        self.model.eval()
        try:
            scores = self.dev_scorer(self.model)
        finally:
            self.model.train(was_training)
        out = {f"{metric_key_prefix}_{k}": v for k, v in numeric_scores(scores).items()}
        out[f"{metric_key_prefix}_runtime"] = round(time.time() - start, 4)
        self.log(out)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, out)
        return out


class EpochExponentialTrainer(Trainer):
    """Trainer whose learning rate is multiplied by ``gamma`` after every epoch (MPT's
    ``ExponentialLR`` stepped per epoch); HF's scheduler steps per optimiser step, hence the floor."""

    def __init__(self, *args, gamma: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.gamma = gamma

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        if self.lr_scheduler is None:
            steps_per_epoch = max(1, math.ceil(num_training_steps / self.args.num_train_epochs))
            self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer or self.optimizer, lambda step: self.gamma ** (step // steps_per_epoch)
            )
        return self.lr_scheduler


# --- fairseq-style token-capped batches ---------------------------------------------------------


def token_budget_batches(
    lengths: Sequence[int], order: Iterable[int], max_tokens: int | None, max_sentences: int | None
) -> list[list[int]]:
    """fairseq's ``batch_by_size``: walk ``order`` and close the current batch before the example that
    would make it hold more than ``max_sentences`` examples or more than ``max_tokens`` tokens, counted
    as fairseq counts them: the batch's longest example times its number of examples (what the padded
    batch holds). None disables a limit. An example longer than ``max_tokens`` gets a batch of its own
    (fairseq stops with an assertion)."""
    batches: list[list[int]] = []
    batch: list[int] = []
    longest = 0
    for index in order:
        grown = max(longest, lengths[index])
        full = bool(batch) and (
            (max_sentences is not None and len(batch) >= max_sentences)
            or (max_tokens is not None and grown * (len(batch) + 1) > max_tokens)
        )
        if full:
            batches.append(batch)
            batch, grown = [], lengths[index]
        batch.append(index)
        longest = grown
    if batch:
        batches.append(batch)
    return batches


class TokenBudgetBatchSampler(torch.utils.data.Sampler):
    """Training batches as fairseq makes them: one permutation of the examples (``seed``) packed once
    by :func:`token_budget_batches`, so every epoch has the same batches, in an order shuffled anew
    each epoch (``seed + epoch``, as fairseq's EpochBatchIterator). ``lengths``: each example's
    token count (fairseq counts the encoder input)."""

    def __init__(self, lengths: Sequence[int], max_tokens: int | None, max_sentences: int | None, seed: int):
        order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(seed)).tolist()
        self.batches = token_budget_batches(lengths, order, max_tokens, max_sentences)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        for position in torch.randperm(len(self.batches), generator=generator).tolist():
            yield list(self.batches[position])


class BatchSamplerTrainer(Trainer):
    """A Trainer whose training batches come from ``train_batch_sampler`` (None: the Trainer's own
    sampling) and, with ``decay_all_parameters``, whose weight decay reaches every parameter (as
    fairseq's Adam) instead of exempting biases and LayerNorm weights (the Trainer's habit)."""

    def __init__(self, *args, train_batch_sampler=None, decay_all_parameters: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.train_batch_sampler = train_batch_sampler
        self.decay_all_parameters = decay_all_parameters

    def get_train_dataloader(self):
        if self.train_batch_sampler is None:
            return super().get_train_dataloader()
        from torch.utils.data import DataLoader

        loader = DataLoader(
            self.train_dataset,
            batch_sampler=self.train_batch_sampler,
            collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers,
            pin_memory=self.args.dataloader_pin_memory,
        )
        return self.accelerator.prepare(loader)

    def get_decay_parameter_names(self, model) -> list[str]:
        if self.decay_all_parameters:
            return [name for name, _ in model.named_parameters()]
        return super().get_decay_parameter_names(model)
