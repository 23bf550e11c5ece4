"""Benchmark ToPro's zero-shot LLM scoring (logits and generation modes): ours against the authors' way.

    python tools/benchmark_llm_scoring.py                                  # bloomz and mt0 stand-ins, CPU
    python tools/benchmark_llm_scoring.py --models bloomz --modes logits --sentences 10 --repeats 5
    python tools/benchmark_llm_scoring.py --size base --real-vocab --sentences 50 --device cuda

Ours: ``xlie.papers.topro.methods.llm_zero_shot.predict_sentences`` as the workflow runs it (the paper
preset's settings: PAN-X prompt ``b``, the authors' verbalizer words): the prompts of a chunk of
sentences sorted by length, batches of 16 padded to their longest prompt, prompts over 512 tokens cut
from the left; logits mode computes the LM head at the last position only; bf16 on a GPU.

The authors' way (``run_baseline/run_prompt_tag_direct.py`` of boleima/ToPro, written here from what
it does, not copied): every prompt tokenized on its own, in file order. Logits mode: cut from the
right at ``max_seq_length`` 128, padded on the right to 128, batches of 8 (``--per_gpu_eval_batch_size``),
one forward pass computing the logits of the whole vocabulary at all 128 positions. Generation mode:
batches of 1, padded on the left to 128 (``padding="max_length"`` without truncation: longer prompts are
kept whole), ``generate(max_new_tokens=10)``. ``model.half()`` (fp16) on a GPU, fp32 on CPU. Two of
their bugs are left out so that predictions can be compared, at the same cost: their logits mode reads
bloomz's next-token logits at the batch's last position, a padding position under right padding (here:
the last real token), and starts mt0's decoder from a newly added ``<s>`` (here: the model's own start
token); both sides match a generation to a label with our ``match_label``.

Models: the stand-ins of ``xlie.pipeline.standins`` (the real BLOOM tokenizer class and conventions,
and mT5's sentencepiece ``T5Tokenizer``, trained on the demo text), re-initialised at ``--size``
(``small``, the CPU default: hidden 256, 4 layers; ``base``: hidden 768, 12 layers; ``standin``: as
built, hidden 32, 2 layers), both sides on the same weights. ``--real-vocab`` widens the vocabulary to
the real 250,880 (bloomz) / 250,112 (mt0) rows; the authors' LM head over all 128 positions then weighs
against the transformer body as on the real models (hidden 4096) only at a real hidden size: at 256 it
dominates, and overstates our speed-up.

Data: ``--sentences`` sentences evenly spaced over each shipped PAN-X test file
(resources/demo/xtreme/panx: ar de en hi ru zh), one prompt per word. Default 2 (12 sentences, 145
prompts); 100 is the whole files (5,640 prompts, 629 of them over 128 bloomz tokens, nearly all
Chinese: its words are characters, so a long sentence makes many long prompts); 10 has 26 such prompts.

Printed per model and mode: both sides' prompts, batches, real and padded prompt tokens, the median
seconds of ``--repeats`` (interleaved) with their spread, prompts/s and peak memory; the speed-up (ratio
of medians); and the words whose prediction differs, counted apart for the prompts that the authors'
128-token cut (or our 512-token cut) changes. Exit status 1 when a prompt that neither cut changes
gets a different prediction (or, in generation mode, a different text). The default run takes about
5 minutes on one CPU thread.
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
PANX_DIR = REPO / "resources" / "demo" / "xtreme" / "panx"
MODELS = {"bloomz": "bigscience/bloomz-7b1", "mt0": "bigscience/mt0-xxl"}
SIZES = {
    "small": {"hidden": 256, "layers": 4, "heads": 4, "ffn": 1024},
    "base": {"hidden": 768, "layers": 12, "heads": 12, "ffn": 3072},
}
AUTHORS_LENGTH, AUTHORS_LOGITS_BATCH, AUTHORS_GENERATE_BATCH = 128, 8, 1
OUR_BATCH, OUR_LENGTH, NEW_TOKENS = 16, 512, 10
TASK, PROMPT_VARIANT, VERBALIZER = "panx", "b", "authors"  # the paper preset's PAN-X settings


def read_sentences(per_file: int):
    """``per_file`` sentences evenly spaced over each PAN-X test file (a systematic sample: every prompt
    of a file is as likely to be drawn, so the prompt lengths follow the file's in expectation)."""
    from xlie.papers.topro.labels import PANX
    from xlie.papers.topro.xtreme import read_xtreme_tsv

    sentences = []
    for path in sorted(PANX_DIR.glob("test-*.tsv")):
        in_file = read_xtreme_tsv(path, PANX)
        count = min(per_file, len(in_file))
        sentences += [in_file[int((k + 0.5) * len(in_file) / count)] for k in range(count)]
    return sentences


class Recorder:
    """Wraps an LLM's two batch functions: counts each batch's rows, real and padded prompt tokens, and
    keeps each prompt's output (verbalizer logits or decoded text) under its token ids."""

    def __init__(self, llm):
        self.outputs: dict[tuple[int, ...], object] = {}
        self.reset()
        logits, generate = llm.next_token_logits, llm.generate

        def next_token_logits(ids, columns=None):
            self._record(ids, out := logits(ids, columns))
            return out

        def generate_texts(ids, max_new_tokens):
            self._record(ids, out := generate(ids, max_new_tokens))
            return out

        llm.next_token_logits, llm.generate = next_token_logits, generate_texts

    def reset(self) -> None:
        self.batches = self.real = self.padded = 0

    def _record(self, ids, outputs) -> None:
        self.batches += 1
        self.real += sum(len(row) for row in ids)
        self.padded += len(ids) * max(len(row) for row in ids)
        self.outputs.update({tuple(row): out for row, out in zip(ids, outputs)})


def authors_logits(model, tokenizer, prompts, columns, seq2seq: bool, device):
    """Their logits mode (module doc): per prompt its verbalizer logits (float32, CPU)."""
    import torch

    rows = [tokenizer(p, truncation=True, max_length=AUTHORS_LENGTH)["input_ids"] for p in prompts]
    pad, logits_rows = tokenizer.pad_token_id, []
    for start in range(0, len(rows), AUTHORS_LOGITS_BATCH):
        batch = rows[start : start + AUTHORS_LOGITS_BATCH]
        ids = torch.tensor([r + [pad] * (AUTHORS_LENGTH - len(r)) for r in batch], device=device)
        mask = torch.tensor([[1] * len(r) + [0] * (AUTHORS_LENGTH - len(r)) for r in batch], device=device)
        with torch.no_grad():
            if seq2seq:
                start_ids = torch.full((len(batch), 1), model.config.decoder_start_token_id, device=device)
                logits = model(input_ids=ids, attention_mask=mask, decoder_input_ids=start_ids).logits[:, 0]
            else:  # the vocabulary's logits at all 128 positions, as theirs; read at the last real token
                logits = model(input_ids=ids, attention_mask=mask).logits
                logits = logits[torch.arange(len(batch), device=device), mask.sum(-1) - 1]
        logits_rows += logits[:, columns].float().cpu()
    return logits_rows


def authors_generate(model, tokenizer, prompts, seq2seq: bool, device):
    """Their generation mode (module doc): one decoded continuation per prompt."""
    import torch

    tokenizer.padding_side, texts = "left", []
    for prompt in prompts:
        inputs = tokenizer(prompt, return_tensors="pt", padding="max_length", max_length=AUTHORS_LENGTH).to(device)
        with torch.no_grad():
            out = model.generate(
                **inputs, max_new_tokens=NEW_TOKENS, do_sample=False, num_beams=1, pad_token_id=tokenizer.pad_token_id
            )
        out = out if seq2seq else out[:, inputs["input_ids"].shape[1] :]
        texts += tokenizer.batch_decode(out.cpu(), skip_special_tokens=True)
    return texts


def compare(mode, our_tags, our_outputs, their_outputs, full_lengths, labels, words) -> dict:
    """Word by word: which prompts a cut changes, which predictions (and logits or texts) differ."""
    from xlie.papers.topro.labels import FALLBACK_LABEL
    from xlie.papers.topro.methods.llm_zero_shot import match_label

    their_limit = AUTHORS_LENGTH if mode == "logits" else OUR_LENGTH  # their generation mode cuts nothing
    changed = [n > min(their_limit, OUR_LENGTH) for n in full_lengths]
    kept = [(a, b) for a, b, c in zip(our_outputs, their_outputs, changed) if not c]
    if mode == "logits":
        their_tags = [labels[int(row.argmax())] for row in their_outputs]
        gap = max((float((a - b).abs().max()) for a, b in kept), default=0.0)
        outputs, outputs_differ = f"largest |verbalizer logit difference| on them {gap:.1e}", 0
    else:
        their_tags = [match_label(text, TASK, words) or FALLBACK_LABEL[TASK] for text in their_outputs]
        outputs_differ = sum(a != b for a, b in kept)
        outputs = f"differing generated texts on them {outputs_differ}"
    diff = [a != b for a, b in zip(our_tags, their_tags)]
    return {
        "words": len(diff),
        "changed": sum(changed),
        "differ_changed": sum(d and c for d, c in zip(diff, changed)),
        "differ_kept": sum(d and not c for d, c in zip(diff, changed)),
        "outputs": outputs,
        "outputs_differ": outputs_differ,
    }


def load(model_dir: Path, device: str, paper_precision: bool):
    """Our LLM (bf16 on a GPU under the paper's precision) and the authors' model: the same one, or
    ``model.half()`` of the checkpoint on a GPU under the paper's precision."""
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    from xlie.papers.topro.methods.llm_zero_shot import LLM

    llm = LLM(model_dir, bf16=paper_precision, device=device)
    if not paper_precision:
        return llm, llm.model
    loader = AutoModelForSeq2SeqLM if llm.seq2seq else AutoModelForCausalLM
    return llm, loader.from_pretrained(model_dir).half().to(device).eval()


def run_pair(name: str, model_dir: Path, mode: str, sentences, args) -> int:
    """Both sides of one model and mode, printed; 1 when predictions differ where they must not."""
    from xlie.papers.topro.methods import llm_zero_shot as ours_module
    from xlie.papers.topro.params import LLMParams
    from xlie.papers.topro.verbalizers import llm_verbalizer

    paper_precision = args.device == "cuda" and args.precision == "paper"
    llm, their_model = load(model_dir, args.device, paper_precision)
    recorder, tokenizer = Recorder(llm), llm.tokenizer
    hp = LLMParams(
        mode=mode,
        prompt_variant=PROMPT_VARIANT,
        verbalizer=VERBALIZER,
        batch_size=OUR_BATCH,
        max_length=OUR_LENGTH,
        max_new_tokens=NEW_TOKENS,
    )
    words = llm_verbalizer(TASK, VERBALIZER, llm.seq2seq)
    label_ids = labels = columns = None
    if mode == "logits":
        label_ids, _ = ours_module.verbalizer_token_ids(tokenizer, TASK, PROMPT_VARIANT, "first_piece", name, words)
        labels = list(label_ids)
        columns = [label_ids[label] for label in labels]
    prompts = [p for s in sentences for p in ours_module.word_prompts(s, TASK, PROMPT_VARIANT)]

    def ours(items=sentences):
        recorder.reset()
        return ours_module.predict_sentences(llm, TASK, items, hp, label_ids)

    def theirs(items=prompts):
        if mode == "logits":
            return authors_logits(their_model, tokenizer, items, columns, llm.seq2seq, llm.device)
        return authors_generate(their_model, tokenizer, items, llm.seq2seq, llm.device)

    warmups = {"authors": lambda: theirs(prompts[:2]), "ours": lambda: ours(sentences[:1])}
    measured = bench_common.measure_sides({"authors": theirs, "ours": ours}, args.repeats, args.device, warmups)

    full_lengths = [len(ids) for ids in tokenizer(prompts)["input_ids"]]
    their_real = [min(n, AUTHORS_LENGTH) if mode == "logits" else n for n in full_lengths]
    their_padded = sum(max(n, AUTHORS_LENGTH) for n in their_real)
    their_batch = AUTHORS_LOGITS_BATCH if mode == "logits" else AUTHORS_GENERATE_BATCH
    rows = [
        (f"authors: pad {AUTHORS_LENGTH}, batch {their_batch}, file order", -(-len(prompts) // their_batch))
        + (sum(their_real), their_padded, measured["authors"]),
        (f"ours: length-sorted, batch {OUR_BATCH}, dynamic", recorder.batches)
        + (recorder.real, recorder.padded, measured["ours"]),
    ]
    parameters = sum(p.numel() for p in llm.model.parameters()) / 1e6
    print(
        f"\n== {name}, {mode}: {type(llm.model).__name__} ({parameters:.1f} M parameters, vocabulary "
        f"{llm.model.config.vocab_size}), {type(tokenizer).__name__}, precision authors / ours "
        f"{'fp16 / bf16' if paper_precision else 'fp32 / fp32'}"
    )
    headers = ("side", "prompts", "batches", "real tok", "padded", "pad/real", "median s", "spread", "prompts/s")
    body = [
        (side, len(prompts), batches, real, padded, padded / real, m.median, m.spread, len(prompts) / m.median)
        + (f"{m.peak_mib:.0f}",)
        for side, batches, real, padded, m in rows
    ]
    print(bench_common.table((*headers, "peak MiB"), body))
    print(f"speed-up (median authors / median ours): {bench_common.ratio(measured['authors'], measured['ours']):.2f}x")

    our_ids, _ = ours_module.encode_prompts(tokenizer, prompts, OUR_LENGTH)
    our_outputs = [recorder.outputs[tuple(ids)] for ids in our_ids]
    our_tags = [tag for tags in measured["ours"].result.tags for tag in tags]
    found = compare(mode, our_tags, our_outputs, measured["authors"].result, full_lengths, labels, words)
    cut = (
        f"the authors' {AUTHORS_LENGTH}-token or our {OUR_LENGTH}-token"
        if mode == "logits"
        else f"our {OUR_LENGTH}-token"
    )
    print(
        f"differing predictions: {found['differ_kept']} of {found['words'] - found['changed']} words whose prompt "
        f"no cut changes ({found['outputs']}); counted apart: {found['differ_changed']} of {found['changed']} "
        f"words whose prompt {cut} cut changes"
    )
    if paper_precision:  # fp16 against bf16: differences are the precisions', not the batching's
        print("(precisions differ: --precision fp32 is the identity check)")
        return 0
    return int(found["differ_kept"] > 0 or found["outputs_differ"] > 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="bloomz,mt0", help=f"comma-separated, of {sorted(MODELS)}")
    parser.add_argument("--modes", default="logits,generate", help="comma-separated: logits, generate")
    parser.add_argument(
        "--sentences", type=int, default=2, help="sentences per PAN-X test file, evenly spaced (100: all)"
    )
    parser.add_argument("--size", choices=["standin", *SIZES], default="small")
    parser.add_argument("--real-vocab", action="store_true", help="the real models' vocabulary rows")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument(
        "--precision", choices=["paper", "fp32"], default="paper", help="GPU: paper = authors fp16, ours bf16"
    )
    parser.add_argument("--seed", type=int, default=0)
    bench_common.add_arguments(parser, repeats=3)
    args = parser.parse_args()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not set(names) <= set(MODELS) or not set(modes) <= {"logits", "generate"}:
        parser.error(f"--models takes {sorted(MODELS)}, --modes logits and generate")
    bench_common.prepare(args.threads)
    from xlie.pipeline.standins import build_hub_cache

    print(bench_common.header(args.device))
    sentences = read_sentences(args.sentences)
    print(
        f"data: {args.sentences} sentences, evenly spaced, of each {PANX_DIR.relative_to(REPO)}/test-*.tsv: {len(sentences)} "
        f"sentences, {sum(len(s.words) for s in sentences)} words (one prompt each, prompt {PROMPT_VARIANT}); "
        f"model size {args.size}{', real vocabulary' if args.real_vocab else ''}; median of {args.repeats}"
    )
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        built = build_hub_cache(Path(tmp) / "hub", [MODELS[n] for n in names], seed=args.seed)
        for name in names:
            model_dir = Path(tmp) / name
            bench_standins.build_model_dir(
                Path(built[MODELS[name]]["snapshot"]), model_dir, SIZES.get(args.size), args.real_vocab, args.seed
            )
            for mode in modes:
                failures += run_pair(f"{name} stand-in", model_dir, mode, sentences, args)
    print(
        f"\npeak memory: {'torch.cuda.max_memory_allocated' if args.device == 'cuda' else 'RSS'} above each call's start"
    )
    if failures:
        print("FAILED: predictions differ on prompts that no cut changes", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
