"""The Trainer subclasses several methods share (imported only when training: ``transformers.Trainer``
costs seconds of imports that an evaluation job does not need)."""

from __future__ import annotations

import math
import time
from typing import Callable

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
