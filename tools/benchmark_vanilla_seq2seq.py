"""Benchmark ToPro's Vanilla mT5 generation: ours against the authors' way, side by side.

    python tools/benchmark_vanilla_seq2seq.py                          # PAN-X, small mT5 stand-in, CPU, 1 thread
    python tools/benchmark_vanilla_seq2seq.py --task udpos --sentences 4
    python tools/benchmark_vanilla_seq2seq.py --stop rising --size standin   # where early_stopping matters
    python tools/benchmark_vanilla_seq2seq.py --size base --real-vocab --sentences 100 --device cuda

Ours: ``xlie.papers.topro.methods.vanilla_seq2seq.predict_sentences`` (``encode``, ``generate_texts``,
the parser and the gold targets as the authors' metric reads them), what the workflow runs for method
``vanilla`` on an mT5 model, with the paper preset's parameters (``papers.topro.training.vanilla_seq2seq``
of workflow/presets/paper.yaml over the defaults of ``VanillaSeq2SeqParams``): sources cut at 128 tokens,
the sentences of a call sorted by source length, batches of ``eval_batch_size`` 32 padded to their longest
source, ``generate(num_beams=3, min_length=10, max_length=150)`` (decoder tokens, the start token included),
fp32 (``bf16`` is off in the preset). The workflow predicts each test language apart, as here.

The authors' way (boleima/ToPro, written here from what it does, not copied): scripts/train_panx_t5.sh and
scripts/train_udpos_t5.sh (lines 13, 42-53) run run_baseline/run_tag_t5.py with ``--max_seq_length 128``
and ``--per_gpu_eval_batch_size 48`` on one GPU (``CUDA_VISIBLE_DEVICES=$GPU``), without ``--fp16``:
fp32. ``--num_beam`` and ``--max_target_length`` keep their defaults, 3 and 150 (run_tag_t5.py:472-476).
Features (run_baseline/utils_tag_t5.py:250-286, ``convert_examples_to_features_t5``): the source
``tag: `` (PAN-X) / ``POS tagging: `` (UDPOS) + the words joined by spaces, and the target ``LABEL: word``
items joined by `` $$ ``, each example tokenized on its own with ``truncation=True`` and
``padding="max_length"``: every source padded to 128 tokens, every target to 150.
``load_and_cache_examples`` (run_tag_t5.py:365-442) stacks them in file order, one test language per
call (run_tag_t5.py:724-728). ``evaluate`` (run_tag_t5.py:264-362): a ``SequentialSampler`` (file order),
batches of 48, under ``torch.no_grad()`` ``model.generate(input_ids, attention_mask, num_beams=3,
min_length=10, max_length=150, early_stopping=True)`` (line 348), the outputs and the padded targets
decoded with ``skip_special_tokens=True, clean_up_tokenization_spaces=False`` (lines 349-350), then
``span_f1``. Both sides cut sources at 128 tokens and outputs at 150 the same way: no difference between
them is explained by a cut (the sources that the cut shortens are counted all the same).

Stopping rules (``--stop``), the same on both sides (a logits processor added to every ``generate``
call of either side, by a wrapper around the shared model's ``generate``, which also counts what each
call computes): a randomly initialised model hardly ever emits ``</s>``, so it generates to
``max_length`` everywhere, where a trained one stops after the tagged sentence, and the cost of batching
sentences whose outputs end at different steps does not show. ``target`` (default) stands in for a
trained model: each sentence's beams all end exactly where its gold target ends (its token count,
``</s>`` included, cut at 150 as the authors' targets, at least ``min_length``): ``</s>`` is forbidden
before and forced at that step, keyed by the sentence's source tokens, not by its place in a batch.
``rising``: ``</s>``'s log-probability raised by 8 per 50 decoder tokens, so that beams end at
different steps of their own. ``model``: the stand-in's own ``</s>`` (149 generated tokens a sentence).

Fidelity: the authors pass ``early_stopping=True`` (beam search ends once ``num_beams`` hypotheses are
finished), and so does ours (``VanillaSeq2SeqParams.early_stopping``). Under ``target`` and ``model``
all beams of a sentence end at the same step, so the setting changes nothing there; under ``rising``
it does: before ours set it (GenerationConfig's default, False), 11 of 24 texts differed (4 PAN-X
sentences per language, stand-in size; ours generating 1,982 tokens to their 1,831); with it, 0 of 24
(1,831 tokens each). ``--stop rising`` is the regression check of that setting.

Models: the ``google/mt5-base`` stand-in of ``xlie.pipeline.standins`` (the real ``T5Tokenizer`` class,
trained on the demo text), re-initialised at ``--size`` (``small``, the CPU default: hidden 256, 4 layers;
``base``: mt5-base's hidden 768, 12 layers, FFN 2048; ``standin``: as built, hidden 32, 2 layers), both
sides on the same weights (the same model object). ``--real-vocab`` widens the vocabulary to mT5's
250,112 rows: at a real hidden size the LM head then weighs against the decoder as on mt5-base.

Data: ``--sentences`` sentences evenly spaced over each shipped test file of ``--task``
(resources/demo/xtreme/panx: ar de en hi ru zh; resources/demo/xtreme/udpos: ar en fr hi ru zh; 100
sentences each), predicted language by language. With a few sentences per language both sides run one
partly filled batch per language; the real test files have 1,000-10,000 sentences per language.

Printed per side: sentences, batches, real and padded source tokens, generated tokens (``</s>``
included) and decoder row-steps (batch rows x beams x decoding steps: what beam search computes, the
generated tokens' padded figure), the median seconds of ``--repeats`` (interleaved) with their spread,
sentences/s and peak memory; the speed-up (ratio of medians); and the generated texts that differ. Exit
status 1 when any text differs (as under ``--stop rising``, see Fidelity).

Measured (default run: PAN-X, --size small, --stop target, 4 sentences per language = 24, 3 repeats,
1 torch thread, AMD EPYC with 2 cores shared with other jobs, load 2.7-3.4; torch 2.13.0 CPU,
transformers 5.23.0; 3 minutes of wall time): authors 6 batches, 590 real / 3,072 padded source tokens
(5.21x), 1,236 generated tokens, 5,688 decoder row-steps, 35.07 s (31.62-36.16), 0.68 sentences/s, 36 MiB;
ours 6 batches, 590 / 944 (1.60x), 1,236 generated, 5,688 row-steps, 22.10 s (21.56-23.21), 1.09
sentences/s, 27 MiB; speed-up 1.59x; 0 of 24 texts differ. With 4 sentences per language both sides run
the same batches (one per language): the gain is the source padding alone, paid once in the encoder and
at every decoding step (cross-attention over 128 positions, and beam search's reordering of the
cross-attention cache, ``EncoderDecoderCache.reorder_cache``). Counted (not timed) on all 100 sentences
of each demo file under --stop target: PAN-X source padding authors 5.13x / ours 1.46x of the real
tokens, decoder row-steps 2.58x / 1.45x of beams x generated tokens (rows of a batch run until its
longest output ends); UDPOS 2.45x / 1.28x and 1.66x / 1.24x. Ours is near its floor: KV cache on, 32
sentences a call, sorted batches whose padding shrinks as the test files (1,000-10,000 sentences a
language) fill them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common
import bench_standins

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "resources" / "demo" / "xtreme"
PRESET = REPO / "workflow" / "presets" / "paper.yaml"
MODEL_ID = "google/mt5-base"
SIZES = {
    "small": {"hidden": 256, "layers": 4, "heads": 4, "ffn": 1024},
    "base": {"hidden": 768, "layers": 12, "heads": 12, "ffn": 2048},
}
# The authors' settings (module doc): eval batch, source and target lengths, beams, min_length.
AUTHORS_BATCH, AUTHORS_SOURCE, AUTHORS_TARGET, AUTHORS_BEAMS, AUTHORS_MIN = 48, 128, 150, 3, 10
AUTHORS_PREFIX = {"panx": "tag: ", "udpos": "POS tagging: "}
AUTHORS_EARLY_STOPPING = True  # run_tag_t5.py:348; ours: VanillaSeq2SeqParams.early_stopping
RISING_EOS = 8.0  # --stop rising: </s>'s log-probability raised by this much per 50 decoder tokens


def preset_params(task: str):
    """``VanillaSeq2SeqParams`` as the paper preset sets them for ``task`` (its block, by_task applied)."""
    import yaml

    from xlie.papers.topro.params import VanillaSeq2SeqParams
    from xlie.pipeline.jobs import WORKFLOW_KEYS

    preset = yaml.safe_load(PRESET.read_text(encoding="utf-8"))
    block = dict(preset["papers"]["topro"]["training"].get("vanilla_seq2seq", {}))
    block.update(block.get("by_task", {}).get(task, {}))
    return VanillaSeq2SeqParams.from_dict({k: v for k, v in block.items() if k not in WORKFLOW_KEYS})


def read_languages(task: str, per_file: int) -> dict[str, list]:
    """Per language, ``per_file`` sentences evenly spaced over its test file (in file order)."""
    from xlie.papers.topro.labels import label_set
    from xlie.papers.topro.xtreme import read_xtreme_tsv

    languages = {}
    for path in sorted((DATA_DIR / task).glob("test-*.tsv")):
        in_file = read_xtreme_tsv(path, label_set(task))
        count = min(per_file, len(in_file))
        languages[path.stem.removeprefix("test-")] = [
            in_file[int((k + 0.5) * len(in_file) / count)] for k in range(count)
        ]
    return languages


def stop_processor(stops: list[int], num_beams: int, eos: int):
    """A logits processor under which ``</s>`` is the ``stops[i]``-th generated token of sentence i's beams:
    forbidden before, the only choice then (a step's input holds the start token and the tokens generated so
    far; beam search's rows are each sentence's beams in turn)."""
    import torch
    from transformers import LogitsProcessor

    class StopAtTargetLength(LogitsProcessor):
        def __init__(self):
            self.stops = torch.tensor(stops).repeat_interleave(num_beams)

        def __call__(self, input_ids, scores):
            stops, length = self.stops.to(scores.device), input_ids.shape[1]
            scores = scores.clone()
            scores[stops > length, eos] = -float("inf")
            at_stop = stops <= length
            scores[at_stop] = -float("inf")
            scores[at_stop, eos] = 0.0
            return scores

    return StopAtTargetLength()


def rising_eos_processor(eos: int):
    """A logits processor that adds ``RISING_EOS`` x (length / 50) to ``</s>``'s log-probability: a random
    model's beams then end at steps of their own, as a trained model's do."""
    from transformers import LogitsProcessor

    class RisingEos(LogitsProcessor):
        def __call__(self, input_ids, scores):
            scores = scores.clone()
            scores[:, eos] += RISING_EOS * input_ids.shape[1] / 50
            return scores

    return RisingEos()


def generated_tokens(out, eos: int) -> int:
    """Tokens of each output after the start token up to its first ``</s>`` (included): what follows is
    padding (the pad id, or ``</s>`` again where a generation config names no pad id)."""
    import torch

    body = out[:, 1:]
    ends = body == eos
    lengths = torch.where(ends.any(dim=1), ends.int().argmax(dim=1) + 1, body.shape[1])
    return int(lengths.sum())


class Recorder:
    """Wraps the model's ``generate`` (both sides call it, on the same model): adds the stopping rule
    (``stop``: ``target``, ``rising`` or ``model``; ``stops``: generated tokens per source's token ids,
    for ``target``) and counts each call's rows, real and padded source tokens, generated tokens and
    decoder row-steps."""

    def __init__(self, model, stop: str, stops: dict[tuple[int, ...], int] | None, num_beams: int, eos: int):
        from transformers import LogitsProcessorList

        self.reset()
        original = model.generate

        def generate(**kwargs):
            ids, mask = kwargs["input_ids"].cpu(), kwargs["attention_mask"].cpu()
            if stop == "target":
                rows = [tuple(row[keep.bool()].tolist()) for row, keep in zip(ids, mask)]
                processor = stop_processor([stops[row] for row in rows], num_beams, eos)
                kwargs["logits_processor"] = LogitsProcessorList([processor])
            elif stop == "rising":
                kwargs["logits_processor"] = LogitsProcessorList([rising_eos_processor(eos)])
            out = original(**kwargs)
            self.batches += 1
            self.real += int(mask.sum())
            self.padded += ids.numel()
            self.generated += generated_tokens(out, eos)
            self.row_steps += out.shape[0] * num_beams * (out.shape[1] - 1)
            return out

        model.generate = generate

    def reset(self) -> None:
        self.batches = self.real = self.padded = self.generated = self.row_steps = 0

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("batches", "real", "padded", "generated", "row_steps")}


def authors_features(tokenizer, sentences, task: str):
    """Their features: every source padded to 128 tokens, every target to 150, one example at a time."""
    import torch

    ids, masks, targets = [], [], []
    for sentence in sentences:
        source = AUTHORS_PREFIX[task] + " ".join(sentence.words)
        target = " $$ ".join(f"{tag}: {word}" for word, tag in zip(sentence.words, sentence.tags))
        encoded = tokenizer(
            text=source, max_length=AUTHORS_SOURCE, padding="max_length", truncation=True, return_tensors="pt"
        )
        target_ids = tokenizer(
            text=target, max_length=AUTHORS_TARGET, padding="max_length", truncation=True, return_tensors="pt"
        )
        ids.append(encoded.input_ids)
        masks.append(encoded.attention_mask)
        targets.append(target_ids.input_ids)
    return torch.stack(ids), torch.stack(masks), torch.stack(targets)


def authors_generate(model, tokenizer, sentences, task: str, device: str) -> list[str]:
    """Their ``evaluate`` of one language (module doc): generated texts in file order."""
    import torch

    input_ids, attention_mask, target_ids = authors_features(tokenizer, sentences, task)
    texts = []
    for start in range(0, len(sentences), AUTHORS_BATCH):
        batch = slice(start, start + AUTHORS_BATCH)
        with torch.no_grad():
            out = model.generate(
                input_ids=input_ids[batch].squeeze(1).to(device),
                attention_mask=attention_mask[batch].squeeze(1).to(device),
                num_beams=AUTHORS_BEAMS,
                min_length=AUTHORS_MIN,
                max_length=AUTHORS_TARGET,
                early_stopping=AUTHORS_EARLY_STOPPING,
            )
        texts += tokenizer.batch_decode(out, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        # the gold targets, decoded for their span_f1 (as ours decodes them for the authors' metric)
        tokenizer.batch_decode(
            target_ids[batch].squeeze(1), skip_special_tokens=True, clean_up_tokenization_spaces=False
        )
    return texts


def target_stops(tokenizer, languages: dict, task: str, hp) -> dict[tuple[int, ...], int]:
    """Per source (its token ids, cut at 128): the tokens its beams generate under ``--stop target``, as
    many as its gold target has (``</s>`` included, cut at 150 as the authors' target; at least
    ``min_length``; where that is 150, ``max_length`` stops it one token earlier, without ``</s>``)."""
    from xlie.papers.topro.methods.vanilla_seq2seq import encode, target_text

    stops = {}
    for sentences in languages.values():
        features, _ = encode(tokenizer, task, sentences, hp, with_targets=False)
        texts = [target_text(s.words, s.tags) for s in sentences]
        targets = tokenizer(text_target=texts, truncation=True, max_length=hp.max_target_length)["input_ids"]
        for feature, target in zip(features, targets):
            stops[tuple(feature["input_ids"])] = max(len(target), hp.min_length)
    return stops


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=["panx", "udpos"], default="panx")
    parser.add_argument("--sentences", type=int, default=4, help="sentences per test file, evenly spaced (100: all)")
    parser.add_argument("--size", choices=["standin", *SIZES], default="small")
    parser.add_argument("--real-vocab", action="store_true", help="mT5's 250,112 vocabulary rows")
    parser.add_argument(
        "--stop", choices=["target", "rising", "model"], default="target", help="the stopping rule (doc)"
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    bench_common.add_arguments(parser, repeats=3)
    args = parser.parse_args()
    bench_common.prepare(args.threads)
    from xlie.papers.topro.methods.topro_seq2seq import load_model
    from xlie.papers.topro.methods.vanilla_seq2seq import encode, predict_sentences

    print(bench_common.header(args.device))
    hp = preset_params(args.task)
    if (hp.max_source_length, hp.max_target_length, hp.num_beams, hp.min_length) != (
        AUTHORS_SOURCE,
        AUTHORS_TARGET,
        AUTHORS_BEAMS,
        AUTHORS_MIN,
    ):
        print(f"note: the preset's lengths / beams differ from the authors': {hp}")
    languages = read_languages(args.task, args.sentences)
    sentences = [s for in_language in languages.values() for s in in_language]
    print(
        f"data: {args.sentences} sentences, evenly spaced, of each {(DATA_DIR / args.task).relative_to(REPO)}/test-*.tsv "
        f"({' '.join(languages)}): {len(sentences)} sentences, {sum(len(s.words) for s in sentences)} words; model "
        f"size {args.size}{', real vocabulary' if args.real_vocab else ''}; stop {args.stop}; median of {args.repeats}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = bench_standins.resized_standin(
            Path(tmp), MODEL_ID, SIZES.get(args.size), args.real_vocab, args.seed
        )
        model, tokenizer = load_model(model_dir)
    model = model.to(args.device)
    eos = model.config.eos_token_id
    stops = target_stops(tokenizer, languages, args.task, hp) if args.stop == "target" else None
    recorder = Recorder(model, args.stop, stops, hp.num_beams, eos)

    def ours(items=languages):
        recorder.reset()
        texts = [
            t
            for in_language in items.values()
            for t in predict_sentences(model, tokenizer, args.task, in_language, hp)[1]
        ]
        return texts, recorder.counts()

    def theirs(items=languages):
        recorder.reset()
        texts = [
            t
            for in_language in items.values()
            for t in authors_generate(model, tokenizer, in_language, args.task, args.device)
        ]
        return texts, recorder.counts()

    first = next(iter(languages))
    few = {first: languages[first][:2]}
    warmups = {"authors": lambda: theirs(few), "ours": lambda: ours(few)}
    measured = bench_common.measure_sides({"authors": theirs, "ours": ours}, args.repeats, args.device, warmups)

    parameters = sum(p.numel() for p in model.parameters()) / 1e6
    print(
        f"\n== {type(model).__name__} ({parameters:.1f} M parameters, hidden {model.config.d_model}, "
        f"{model.config.num_layers} layers, vocabulary {model.config.vocab_size}), {type(tokenizer).__name__}, "
        f"fp32 both; beams {hp.num_beams}, min_length {hp.min_length}, max_length {hp.max_target_length}"
    )
    sides = {
        f"authors: pad {AUTHORS_SOURCE}, batch {AUTHORS_BATCH}, file order": measured["authors"],
        f"ours: length-sorted, batch {hp.eval_batch_size}, dynamic": measured["ours"],
    }
    headers = ("side", "sentences", "batches", "real src", "padded", "pad/real", "generated", "row-steps")
    body = []
    for side, m in sides.items():
        c = m.result[1]
        body.append(
            (side, len(sentences), c["batches"], c["real"], c["padded"], c["padded"] / c["real"], c["generated"])
            + (c["row_steps"], m.median, m.spread, len(sentences) / m.median, f"{m.peak_mib:.0f}")
        )
    print(bench_common.table((*headers, "median s", "spread", "sent/s", "peak MiB"), body))
    print(f"speed-up (median authors / median ours): {bench_common.ratio(measured['authors'], measured['ours']):.2f}x")

    cut = sum(
        encode(tokenizer, args.task, in_language, hp, with_targets=False)[1]["truncated_inputs"]
        for in_language in languages.values()
    )
    texts_authors, texts_ours = measured["authors"].result[0], measured["ours"].result[0]
    differ = bench_common.differing(texts_authors, texts_ours)
    print(
        f"differing generated texts: {differ} of {len(sentences)} (both sides cut sources at {AUTHORS_SOURCE} "
        f"tokens and outputs at {AUTHORS_TARGET} alike, so no difference is explained by a cut; sources cut: {cut})"
    )
    print(
        f"\npeak memory: {'torch.cuda.max_memory_allocated' if args.device == 'cuda' else 'RSS'} above each call's start"
    )
    if differ:
        print("FAILED: generated texts differ", file=sys.stderr)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
