"""Benchmark ToPro's mT5 prediction: our constrained label scoring against the authors' generation.

    python tools/benchmark_topro_seq2seq.py                          # PAN-X, small mT5 stand-in, CPU
    python tools/benchmark_topro_seq2seq.py --task udpos --sentences 3 --repeats 5
    python tools/benchmark_topro_seq2seq.py --size base --real-vocab --sentences 20 --device cuda

Ours: ``xlie.papers.topro.methods.topro_seq2seq.predict_sentences`` as the workflow runs it for method
topro on mT5 (``load_predictor``: one ``LabelScorer`` built once; the ``ToProSeq2SeqParams`` defaults,
which the paper preset keeps: ``max_length`` 128, ``eval_batch_size`` 32, fp32): every word's
(sentence, prompt) pair tokenized with the pair template, the sentence cut (``only_first``) to 128
tokens; the prompts sorted by length, batches of 32 padded to their longest; per batch, the encoder
once, the decoder's start step once, every label's remaining tokens teacher-forced over a copy of
the start step's cache, the output layer only at the labels' distinct prefixes; the label of highest
summed log-likelihood wins.

The authors' way (boleima/ToPro, written here from what it does, not copied): ``run_baseline/
run_prompt_tag_t5.py`` run by ``scripts/train_prompt_{panx,udpos}_t5.sh`` (``MAX_LENGTH=128``, line 16,
as ``--max_seq_length``; no ``--fp16``: fp32). Each word is an example of its own
(``processors/{panx,udpos}.py:65-73``: the sentence joined by spaces as text_a, the word as text_b);
``pvp.py:76-126`` tokenizes the pattern's parts one by one (``PanxPVP.get_parts``, ``pvp.py:401-407``;
UDPOS ``377-383``: the sentence | ``The named entity of `` (``The pos tag of ``) word `` is a kind of:
`` [mask: None for mT5, dropped] `` .``), cuts with ``PVP.truncate`` (``pvp.py:146-167``: one token at a
time from the end of the sentence or of the word, whichever is longer, ties cutting the word, to 128
with the pair's 2 special tokens) and joins ``sentence </s> prompt </s>``; ``preprocessor.py:179-192``
pads every example to 128 on the right. ``evaluate`` (``run_prompt_tag_t5.py:343-397``) runs the
examples in file order (``SequentialSampler``, line 360) in batches of ``--per_gpu_eval_batch_size`` (24
for PAN-X, ``train_prompt_panx_t5.sh:54``; the default 8, ``run_prompt_tag_t5.py:622-624``, for UDPOS,
whose script does not set it), each through ``model.generate(num_beams=<--num_beam>, min_length=1,
max_length=5, early_stopping=True)`` (line 384; ``--num_beam`` 1 for PAN-X,
``train_prompt_panx_t5.sh:57``, the default 3 for UDPOS, line 601) and ``batch_decode(...,
skip_special_tokens=True)``; the decoded string is the prediction (here: the label it spells, or none).
There is no per-label scoring: one generation per word, at most 4 decoder steps.

The two sides choose by different rules (constrained scoring is the spec's clean equivalent of their
free generation, ../shared/specs/topro.md "mT5 ToPro"), so their predictions are compared in two ways.
(1) The identity check: the authors' model scores every label on the authors' inputs (their encoding,
128 padding, their batch): the encoder once per word, then a plain teacher-forced forward pass per
(word, label) without cache, the logits at every position, as the loss of their training
(``run_prompt_tag_t5.py:228``) computes them; its best label must be ours on every word whose encoder
input is the same token for token on both sides. Words whose input differs (their part-wise tokenization
or their truncation rule: a word longer than what is left of its sentence is cut, where ours gives the
fallback label as ``prompt_too_long``) are counted apart. That check runs once, outside the table; its
seconds are printed. (2) Their generated labels against ours, printed for information: the stand-ins'
random weights generate no label at all (nor an eos: every generate call runs its 4 steps, as a trained
model does for a label of three pieces and eos).

Model: the ``google/mt5-base`` stand-in of ``xlie.pipeline.standins`` (the real ``T5Tokenizer`` class,
sentencepiece trained on the demo text and the tag strings: UDPOS tags are one piece each, PAN-X's
``B-LOC`` three, ``B - LOC``; each target ends with eos), re-initialised at ``--size`` (``small``, the
CPU default: d_model 256, 4+4 layers; ``base``: mT5-base's 768, 12+12 layers, FFN 2048; ``standin``: as
built, 32, 2+2), its output layer untied as mT5's is; both sides use the same model object.
``--real-vocab`` widens the vocabulary to mT5's 250,112 rows.

Data: ``--sentences`` sentences evenly spaced over each shipped test file of ``--task``
(resources/demo/xtreme/panx: ar de en hi ru zh; udpos: ar en fr hi ru zh), one example per word.

Printed: both sides' words, batches, real and padded encoder tokens, decoder positions (ours: the start
step plus every label's remaining tokens, per word; "real": the labels' distinct prefixes, the floor of
a scorer that shares them; theirs: generated steps x batch rows x beams; "real": the tokens generated up
to eos), the median seconds of ``--repeats`` (interleaved) with their spread, words/s and peak memory;
the speed-up (ratio of medians); and the words whose prediction differs. Exit status 1 when the identity
check finds a differing word whose input is the same on both sides.

Measured (AMD EPYC, 2 cores shared with other jobs; torch 2.13 CPU, 1 thread; small stand-in; 2
sentences per file): PAN-X, the default run (145 words, 71 s in all, load 0.6 at its start): the authors
8.48 s (7.58-9.08), 18,560 padded encoder tokens for 10,079 real (1.84), 580 decoder positions; ours
6.75 s (6.60-7.14), 11,293 padded (1.12), 3,190 decoder positions where the labels' distinct prefixes
are 1,740; speed-up 1.26x (1.10x in a run under load 3: 7.52 against 6.83 s); peak 66 / 247 MiB;
identity check 0 of 145 words differ (largest label score difference 9.2e-05; 13.9 s for its 1,015
rows). With ``--real-vocab`` (load 2): 12.81 against 12.76 s, 1.00x (the output layer's 250,112 rows at
1,740 prefixes against their 580 steps), peak 237 / 938 MiB, 0 differ. ``--task udpos`` (187 words; 17
labels, one piece each here; load 3): the authors (batches of 8, 3 beams) 26.07 s (20.49-31.31), ours
15.29 s (14.25-16.53): 1.71x; 0 of 187 differ (6.1e-05); 3 min in all. Where ours spends a UDPOS batch
of 32 prompts of 111 tokens (profiled apart): encoder 1.5 s, the start step 0.16 s, copying its cache
over the 17 labels 0.40 s, the label step 0.44 s. Their free generation needs 4 decoder steps per word
(x beams); exact scoring needs every label's, so the encoder's saving (no padding to 128) is what ours
gains, and much of it goes to the decoder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common
import bench_standins

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "resources" / "demo" / "xtreme"
MODEL_ID = "google/mt5-base"
SIZES = {
    "small": {"hidden": 256, "layers": 4, "heads": 4, "ffn": 1024},
    "base": {"hidden": 768, "layers": 12, "heads": 12, "ffn": 2048},
}
AUTHORS_LENGTH = 128  # --max_seq_length, scripts/train_prompt_{panx,udpos}_t5.sh
AUTHORS_BATCH = {"panx": 24, "udpos": 8}  # --per_gpu_eval_batch_size (udpos: the script leaves the default)
AUTHORS_BEAMS = {"panx": 1, "udpos": 3}  # --num_beam (udpos: the default)
AUTHORS_GENERATE_LENGTH = 5  # generate(max_length=5): the start token and at most 4 generated
# PanxPVP / UdposPVP.get_parts (pattern 0) after the sentence: text, then whether it is shortenable.
AUTHORS_HEAD = {"panx": "The named entity of ", "udpos": "The pos tag of "}
AUTHORS_TAIL = (" is a kind of: ", " .")  # the [mask] part between them is None for mT5 and dropped


def read_sentences(task: str, per_file: int):
    """``per_file`` sentences evenly spaced over each shipped test file of ``task``."""
    from xlie.papers.topro.labels import label_set
    from xlie.papers.topro.xtreme import read_xtreme_tsv

    sentences = []
    for path in sorted((DATA_DIR / task).glob("test-*.tsv")):
        in_file = read_xtreme_tsv(path, label_set(task))
        count = min(per_file, len(in_file))
        sentences += [in_file[int((k + 0.5) * len(in_file) / count)] for k in range(count)]
    return sentences


def authors_encode(tokenizer, task: str, sentence, word_index: int, length: int = AUTHORS_LENGTH) -> list[int]:
    """One word's encoder input the authors' way (module doc): the parts tokenized apart, the sentence
    or the word cut one token at a time (the longer one; a tie cuts the word), ``A </s> B </s>``."""

    def ids(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False)

    text, word = ids(" ".join(sentence.words)), ids(sentence.words[word_index])
    head, tail = ids(AUTHORS_HEAD[task]), [i for part in AUTHORS_TAIL for i in ids(part)]
    excess = len(text) + len(head) + len(word) + len(tail) + 2 - length
    for _ in range(max(excess, 0)):
        if len(text) > len(word):
            text = text[:-1]
        elif word:
            word = word[:-1]
        else:
            raise ValueError(f"the prompt alone exceeds {length} tokens")
    eos = tokenizer.eos_token_id
    return text + [eos] + head + word + tail + [eos]


def authors_inputs(tokenizer, task: str, sentences) -> list[list[int]]:
    return [authors_encode(tokenizer, task, s, j) for s in sentences for j in range(len(s.words))]


def padded_batches(rows: list[list[int]], batch_size: int, pad: int, device):
    """File-order batches, every row padded on the right to the authors' 128: (input_ids, attention_mask)."""
    import torch

    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        ids = torch.tensor([r + [pad] * (AUTHORS_LENGTH - len(r)) for r in batch], device=device)
        mask = torch.tensor([[1] * len(r) + [0] * (AUTHORS_LENGTH - len(r)) for r in batch], device=device)
        yield ids, mask


def authors_predict(model, tokenizer, task: str, sentences, device, counts: dict) -> list[str]:
    """Their evaluation (module doc): one decoded generation per word, in file order."""
    import torch

    rows, texts = authors_inputs(tokenizer, task, sentences), []
    counts.update(batches=0, decoder_real=0, decoder_padded=0)
    for ids, mask in padded_batches(rows, AUTHORS_BATCH[task], tokenizer.pad_token_id, device):
        with torch.no_grad():
            out = model.generate(
                input_ids=ids,
                attention_mask=mask,
                num_beams=AUTHORS_BEAMS[task],
                min_length=1,
                max_length=AUTHORS_GENERATE_LENGTH,
                early_stopping=True,
            )
        texts += tokenizer.batch_decode(out, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        steps = out.shape[1] - 1  # decoder calls, one position per row and beam each
        counts["batches"] += 1
        counts["decoder_padded"] += steps * len(ids) * AUTHORS_BEAMS[task]
        counts["decoder_real"] += sum(_generated_length(row, tokenizer.eos_token_id) for row in out[:, 1:].tolist())
    return texts


def _generated_length(row: list[int], eos: int) -> int:
    return row.index(eos) + 1 if eos in row else len(row)


def per_label_scores(model, tokenizer, task: str, rows: list[list[int]], labels, device):
    """(words, labels) summed log-likelihoods of every label on the authors' padded inputs and batches:
    the encoder once per word, then a plain teacher-forced forward pass of the model per (word, label),
    the logits of every position (the identity check's reference)."""
    import torch

    targets = [tokenizer(label, max_length=AUTHORS_GENERATE_LENGTH, truncation=True)["input_ids"] for label in labels]
    width, start, pad = max(map(len, targets)), model.config.decoder_start_token_id, tokenizer.pad_token_id
    target = torch.tensor([t + [pad] * (width - len(t)) for t in targets], device=device)
    decoder_inputs = torch.tensor([[start] + t[:-1] + [pad] * (width - len(t)) for t in targets], device=device)
    scored = torch.tensor([[1] * len(t) + [0] * (width - len(t)) for t in targets], device=device)
    n_labels, scores = len(labels), []
    for ids, mask in padded_batches(rows, AUTHORS_BATCH[task], pad, device):
        batch = len(ids)
        with torch.no_grad():
            encoded = model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state
            logits = model(
                encoder_outputs=(encoded.repeat_interleave(n_labels, dim=0),),
                attention_mask=mask.repeat_interleave(n_labels, dim=0),
                decoder_input_ids=decoder_inputs.repeat(batch, 1),
            ).logits
        token_lp = torch.log_softmax(logits.float(), dim=-1).gather(-1, target.repeat(batch, 1).unsqueeze(-1))
        summed = (token_lp.squeeze(-1) * scored.repeat(batch, 1)).sum(-1)
        scores.append(summed.view(batch, n_labels).cpu())
    return torch.cat(scores)


class ScorerRecorder:
    """Wraps our ``LabelScorer``: counts each batch's rows, real and padded encoder tokens, and keeps each
    input's label scores under its token ids."""

    def __init__(self, scorer):
        self.scorer, self.labels = scorer, scorer.labels
        self.scores: dict[tuple[int, ...], object] = {}
        self.reset()

    def reset(self) -> None:
        self.batches = self.rows = self.real = self.padded = 0

    def __call__(self, model, input_ids, attention_mask):
        self.batches += 1
        self.rows += input_ids.shape[0]
        self.real += int(attention_mask.sum())
        self.padded += input_ids.numel()
        scores = self.scorer(model, input_ids, attention_mask)
        for ids, length, row in zip(input_ids.tolist(), attention_mask.sum(-1).tolist(), scores.float().cpu()):
            self.scores[tuple(ids[:length])] = row
        return scores


def compare(task, sentences, our_tags, our_inputs, our_scores, their_rows, reference, their_texts):
    """Word by word: which inputs differ between the sides; where they do not, whether the per-label
    reference's best label is ours (and the largest score gap); and how their generations relate."""
    from xlie.papers.topro.labels import label_set

    labels = label_set(task)
    flat_ours = [tag for tags in our_tags for tag in tags]
    flat_index = [(i, j) for i, s in enumerate(sentences) for j in range(len(s.words))]
    same_input, gap = [], 0.0
    for n, key in enumerate(flat_index):
        same = our_inputs.get(key) == tuple(their_rows[n])  # a word ours does not encode has no input
        same_input.append(same)
        if same:
            gap = max(gap, float((our_scores[our_inputs[key]] - reference[n]).abs().max()))
    reference_tags = [labels[int(row.argmax())] for row in reference]
    differ = [a != b for a, b in zip(flat_ours, reference_tags)]
    generated = [text.strip() if text.strip() in labels else None for text in their_texts]
    return {
        "words": len(flat_ours),
        "inputs_differ": same_input.count(False),
        "differ_same": sum(d and s for d, s in zip(differ, same_input)),
        "differ_other": sum(d and not s for d, s in zip(differ, same_input)),
        "gap": gap,
        "generated_labels": sum(g is not None for g in generated),
        "generated_equal": sum(g == ours for g, ours in zip(generated, flat_ours)),
    }


def run(task: str, model_dir: Path, sentences, args) -> int:
    """Both sides on one task, printed; 1 when the identity check finds a difference it must not."""
    from xlie.papers.topro.labels import label_set
    from xlie.papers.topro.methods import topro_seq2seq as ours_module
    from xlie.papers.topro.params import ToProSeq2SeqParams

    hp = ToProSeq2SeqParams()
    model, tokenizer = ours_module.load_model(model_dir)
    model = model.to(args.device)
    ours_module.check_scoring_head(model)
    recorder = ScorerRecorder(ours_module.LabelScorer(model, tokenizer, label_set(task)))
    their_counts: dict = {}

    def ours(items=sentences):
        recorder.reset()
        return ours_module.predict_sentences(
            model, tokenizer, task, items, hp.max_length, hp.eval_batch_size, hp.bf16, recorder
        )

    def theirs(items=sentences):
        return authors_predict(model, tokenizer, task, items, args.device, their_counts)

    warmups = {"authors": lambda: theirs(sentences[:1]), "ours": lambda: ours(sentences[:1])}
    measured = bench_common.measure_sides({"authors": theirs, "ours": ours}, args.repeats, args.device, warmups)

    their_rows = authors_inputs(tokenizer, task, sentences)
    instances = ours_module.encode_instances(tokenizer, task, sentences, hp.max_length, with_targets=False)
    our_inputs = {key: tuple(feature["input_ids"]) for key, feature in zip(instances.index, instances.features)}
    scorer = recorder.scorer
    started = time.perf_counter()
    reference = per_label_scores(model, tokenizer, task, their_rows, scorer.labels, args.device)
    reference_seconds = time.perf_counter() - started

    words, n_labels = len(their_rows), len(scorer.labels)
    label_lengths = [len(seq) for seq in ours_module.label_targets(tokenizer, scorer.labels).values()]
    our_decoder_padded = recorder.rows * (1 + n_labels * (scorer.decoder_input_ids.shape[1] - 1))
    rows = [
        (f"authors: pad {AUTHORS_LENGTH}, batch {AUTHORS_BATCH[task]}, beams {AUTHORS_BEAMS[task]}, file order",)
        + (their_counts["batches"], sum(map(len, their_rows)), words * AUTHORS_LENGTH)
        + (their_counts["decoder_real"], their_counts["decoder_padded"], measured["authors"]),
        (f"ours: length-sorted, batch {hp.eval_batch_size}, dynamic", recorder.batches, recorder.real)
        + (recorder.padded, recorder.rows * len(scorer.source_label), our_decoder_padded, measured["ours"]),
    ]
    parameters = sum(p.numel() for p in model.parameters()) / 1e6
    print(
        f"\n== {task}: {type(model).__name__} ({parameters:.1f} M parameters, vocabulary {model.config.vocab_size}), "
        f"{type(tokenizer).__name__}, {n_labels} labels of {min(label_lengths)}-{max(label_lengths)} target tokens, "
        "fp32 both"
    )
    headers = ("side", "words", "batches", "enc real", "enc padded", "pad/real", "dec real", "dec padded")
    body = [
        (side, words, batches, real, padded, padded / real, dec_real, dec_padded)
        + (m.median, m.spread, words / m.median, f"{m.peak_mib:.0f}")
        for side, batches, real, padded, dec_real, dec_padded, m in rows
    ]
    print(bench_common.table((*headers, "median s", "spread", "words/s", "peak MiB"), body))
    print(f"speed-up (median authors / median ours): {bench_common.ratio(measured['authors'], measured['ours']):.2f}x")

    found = compare(
        task,
        sentences,
        measured["ours"].result.tags,
        our_inputs,
        recorder.scores,
        their_rows,
        reference,
        measured["authors"].result,
    )
    same = found["words"] - found["inputs_differ"]
    print(
        f"identity check (the authors' model, inputs and batches, a forward pass per (word, label): "
        f"{words * n_labels} rows, {reference_seconds:.2f} s once): differing predictions {found['differ_same']} "
        f"of {same} words whose encoder input is the same on both sides (largest |label score difference| "
        f"{found['gap']:.1e}); counted apart: {found['differ_other']} of {found['inputs_differ']} words whose "
        "input differs (their part-wise tokenization or cut)"
    )
    print(
        f"their generate(): {found['generated_labels']} of {words} words got a label string, "
        f"{found['generated_equal']} of them equal to ours (random weights: generation is not expected to "
        "spell labels; decoding rules differ by design)"
    )
    return int(found["differ_same"] > 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=["panx", "udpos"], default="panx")
    parser.add_argument("--sentences", type=int, default=2, help="sentences per test file, evenly spaced")
    parser.add_argument("--size", choices=["standin", *SIZES], default="small")
    parser.add_argument("--real-vocab", action="store_true", help="mT5's 250,112 vocabulary rows")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    bench_common.add_arguments(parser, repeats=3)
    args = parser.parse_args()
    bench_common.prepare(args.threads)

    print(bench_common.header(args.device))
    sentences = read_sentences(args.task, args.sentences)
    print(
        f"data: {args.sentences} sentences, evenly spaced, of each {(DATA_DIR / args.task).relative_to(REPO)}/"
        f"test-*.tsv: {len(sentences)} sentences, {sum(len(s.words) for s in sentences)} words (one example "
        f"each); model size {args.size}{', real vocabulary' if args.real_vocab else ''}; median of {args.repeats}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = bench_standins.resized_standin(
            Path(tmp), MODEL_ID, SIZES.get(args.size), args.real_vocab, args.seed, untie_output=True
        )
        failed = run(args.task, model_dir, sentences, args)
    print(
        f"\npeak memory: {'torch.cuda.max_memory_allocated' if args.device == 'cuda' else 'RSS'} above each call's start"
    )
    if failed:
        print("FAILED: predictions differ on words whose input is the same on both sides", file=sys.stderr)
    return failed


if __name__ == "__main__":
    sys.exit(main())
