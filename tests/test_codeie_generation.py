"""Batched generation: same completions as one prompt at a time, in input order, cut at the stop string."""

from __future__ import annotations

import pytest

from xlie.papers.alignxie.generation import (
    HFGenerator,
    cut_at_stop,
    cuda_available,
    keep_head_and_tail,
    length_sorted_batches,
    make_generator,
    vllm_available,
)

PROMPTS = [
    "Hello world",
    "A much longer prompt about Paris and London in the year of the river",
    "x",
    "Berlin is a city",
    'sentence = "Michel Roux Junior"',
]


@pytest.fixture(scope="module")
def causal(tiny_models):
    out_dirs, _ = tiny_models
    return HFGenerator(out_dirs["causal"], batch_size=4, max_new_tokens=10, stop=None)


def _one_at_a_time(generator, prompts):
    size = generator.batch_size
    generator.batch_size = 1
    try:
        return generator.generate(prompts)
    finally:
        generator.batch_size = size


def test_batched_equals_one_at_a_time_causal(causal):
    batched = causal.generate(PROMPTS)
    single = _one_at_a_time(causal, PROMPTS)
    assert batched.texts == single.texts
    assert all(batched.texts)  # a random model still writes something within 10 tokens
    assert batched.counts == {"prompts": 5, "prompts_cut": 0, "stopped_at_stop_string": 0}


def test_completions_come_back_in_input_order(causal):
    forward = causal.generate(PROMPTS).texts
    backward = causal.generate(PROMPTS[::-1]).texts
    assert backward == forward[::-1]
    assert causal.generate([]).texts == []


def test_stop_string_cuts_and_stops_early(causal):
    free = causal.generate(PROMPTS).texts
    # A stop string the model is known to write: two characters from the middle of a completion.
    text = free[0].replace(" ", "")
    stop = text[len(text) // 2 : len(text) // 2 + 2]
    causal.stop = stop
    try:
        stopped = causal.generate(PROMPTS)
        single = _one_at_a_time(causal, PROMPTS)
        ids, _ = causal.encode(PROMPTS[:1])
        tokens = causal._generate_batch(ids)[0]
    finally:
        causal.stop = None
    assert stopped.texts == single.texts
    assert stopped.texts == [cut_at_stop(t, stop)[0] for t in free]
    assert stopped.counts["stopped_at_stop_string"] == sum(stop in t for t in free) >= 1
    assert len(tokens) < causal.max_new_tokens  # the StoppingCriteria ended generation, not the length limit


def test_batched_equals_one_at_a_time_seq2seq(tiny_models):
    out_dirs, _ = tiny_models
    generator = HFGenerator(out_dirs["mt5"], batch_size=3, max_new_tokens=6, stop=None)
    assert generator.seq2seq
    assert generator.generate(PROMPTS).texts == _one_at_a_time(generator, PROMPTS).texts


def test_long_prompts_keep_head_and_tail(causal):
    assert keep_head_and_tail(list(range(10)), 3, 4) == ([0, 1, 2, 6, 7, 8, 9], True)
    assert keep_head_and_tail(list(range(7)), 3, 4) == (list(range(7)), False)
    causal.keep_head, causal.keep_tail = 2, 3
    try:
        ids, cut = causal.encode(PROMPTS)
        counts = causal.generate(PROMPTS[:2]).counts
    finally:
        causal.keep_head, causal.keep_tail = 1500, 2000
    assert cut == sum(1 for p in PROMPTS if len(causal.tokenizer(p)["input_ids"]) > 5)
    assert all(len(row) <= 5 for row in ids) and counts["prompts_cut"] == 2


def test_length_sorted_batches():
    assert length_sorted_batches([3, 9, 1, 9, 5], 2) == [[1, 3], [4, 0], [2]]
    with pytest.raises(ValueError, match="batch_size"):
        length_sorted_batches([1], 0)


def test_cut_at_stop():
    assert cut_at_stop('results = []\n"""\nmore', '"""') == ("results = []\n", True)
    assert cut_at_stop("results = []", '"""') == ("results = []", False)
    assert cut_at_stop("abc", None) == ("abc", False)


def test_backend_choice(tiny_models):
    out_dirs, _ = tiny_models
    if not (vllm_available() and cuda_available()):
        assert isinstance(make_generator(out_dirs["causal"], max_new_tokens=2), HFGenerator)
    if not vllm_available():
        with pytest.raises(ValueError, match="vllm is not installed"):
            make_generator(out_dirs["causal"], backend="vllm")
    with pytest.raises(ValueError, match="backend"):
        make_generator(out_dirs["causal"], backend="tgi")


@pytest.mark.skipif(not vllm_available(), reason="vLLM is not installed (pip install vllm): no vLLM/HF comparison")
@pytest.mark.skipif(not cuda_available(), reason="no GPU: vLLM needs one, so no vLLM/HF comparison")
def test_vllm_greedy_equals_hf_greedy(tiny_models):
    from xlie.papers.alignxie.generation import VLLMGenerator

    out_dirs, _ = tiny_models
    options = dict(max_new_tokens=10, stop=None, bf16=False)
    hf = HFGenerator(out_dirs["causal"], batch_size=4, **options).generate(PROMPTS)
    vllm = VLLMGenerator(out_dirs["causal"], gpu_memory_utilization=0.3, **options).generate(PROMPTS)
    assert vllm.texts == hf.texts
