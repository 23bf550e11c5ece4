"""fairseq-style training batches for Prompt-XRE (--max-tokens 4400 --batch-size 12) and fairseq's
weight decay on every parameter: xlie.pipeline.trainers' token-capped sampler and trainer."""

from __future__ import annotations

import pytest
import torch

from xlie.pipeline.trainers import BatchSamplerTrainer, TokenBudgetBatchSampler, token_budget_batches


def test_tokens_are_the_longest_example_times_the_batch_size_as_fairseq_counts():
    # 300 + 100 + 100 + 100 = 600 real tokens, but padded to the longest: 4 x 300 = 1200 > 1000
    assert token_budget_batches([300, 100, 100, 100], range(4), max_tokens=1000, max_sentences=12) == [[0, 1, 2], [3]]
    # the sentence cap binds first for short examples; no cap at all gives one batch
    assert token_budget_batches([10] * 5, range(5), max_tokens=1000, max_sentences=2) == [[0, 1], [2, 3], [4]]
    assert token_budget_batches([10] * 5, range(5), max_tokens=None, max_sentences=None) == [list(range(5))]
    # an example longer than the cap gets a batch of its own (fairseq would stop with an assertion)
    assert token_budget_batches([50, 2000, 50], range(3), max_tokens=1000, max_sentences=12) == [[0], [1], [2]]
    # the order given is the order packed
    assert token_budget_batches([300, 100, 100, 100], [3, 2, 1, 0], 1000, 12) == [[3, 2, 1], [0]]


def test_batch_count_of_the_authors_caps_on_a_fixture():
    """--max-tokens 4400 --batch-size 12: short inputs fill 12 per batch, 1,000-token ones only 4."""
    short = TokenBudgetBatchSampler([100] * 120, max_tokens=4400, max_sentences=12, seed=222)
    assert len(short) == 10 and all(len(batch) == 12 for batch in short)
    long = TokenBudgetBatchSampler([1000] * 120, max_tokens=4400, max_sentences=12, seed=222)
    assert len(long) == 30 and all(len(batch) == 4 for batch in long)
    uncapped = TokenBudgetBatchSampler([1000] * 120, max_tokens=None, max_sentences=12, seed=222)
    assert len(uncapped) == 10


def test_same_batches_every_epoch_in_a_new_order():
    lengths = [(i * 37) % 400 + 20 for i in range(200)]
    sampler = TokenBudgetBatchSampler(lengths, max_tokens=1200, max_sentences=12, seed=222)
    first = list(sampler)
    assert sorted(i for batch in first for i in batch) == list(range(200))  # each example once
    assert all(max(lengths[i] for i in b) * len(b) <= 1200 and len(b) <= 12 for b in first)
    assert list(sampler) == first  # the epoch decides the order, not the call
    sampler.set_epoch(1)
    second = list(sampler)
    assert second != first and sorted(map(tuple, second)) == sorted(map(tuple, first))
    again = TokenBudgetBatchSampler(lengths, max_tokens=1200, max_sentences=12, seed=222)
    again.set_epoch(1)
    assert list(again) == second  # seeded
    other = TokenBudgetBatchSampler(lengths, max_tokens=1200, max_sentences=12, seed=7)
    assert sorted(map(tuple, other)) != sorted(map(tuple, first))  # another shuffle, other batches


class _Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = torch.nn.Linear(4, 4)
        self.layer_norm = torch.nn.LayerNorm(4)

    def forward(self, x):
        return self.layer_norm(self.dense(x))


@pytest.mark.parametrize("decay_all", [True, False])
def test_trainer_takes_the_samplers_batches_and_decays_as_asked(tmp_path, decay_all):
    from transformers import TrainingArguments

    args = TrainingArguments(str(tmp_path), weight_decay=0.01, use_cpu=True, report_to=[])
    sampler = TokenBudgetBatchSampler([100] * 10 + [1000] * 8, max_tokens=4400, max_sentences=12, seed=222)
    trainer = BatchSamplerTrainer(
        model=_Tiny(),
        args=args,
        train_dataset=list(range(18)),
        data_collator=lambda indices: indices,
        train_batch_sampler=sampler,
        decay_all_parameters=decay_all,
    )
    loader = trainer.get_train_dataloader()
    assert len(loader) == len(sampler) and sorted(map(tuple, loader)) == sorted(map(tuple, sampler))
    optimizer = trainer.create_optimizer()
    decayed = {id(p) for group in optimizer.param_groups if group["weight_decay"] == 0.01 for p in group["params"]}
    model = trainer.model
    everything = {id(p) for p in model.parameters()}
    # fairseq's Adam decays every parameter; the Trainer's habit exempts biases and LayerNorm weights
    assert decayed == (everything if decay_all else {id(model.dense.weight)})
