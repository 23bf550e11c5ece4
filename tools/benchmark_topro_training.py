"""Benchmark ToPro's encoder training step: ours against the authors' way of training ToPro on mBERT/XLM-R,
on the same prompts in the same batches and order, side by side in one run.

    python tools/benchmark_topro_training.py                        # PAN-X, small XLM-R stand-in, CPU
    python tools/benchmark_topro_training.py --task udpos
    python tools/benchmark_topro_training.py --size base --real-vocab --steps 20 --device cuda

Measured (AMD EPYC, 2 cores shared with other jobs, load 1.8-3.3; torch 2.13 CPU, 1 thread; small
stand-in, vocabulary 6,002; 40 sentences, 4 optimizer steps = 16 micro-batches of 8 = 128 prompts per call,
median of 3; about 85 s per run). PAN-X (prompts of 40 tokens on average): the authors 12.54 s
(12.04-12.98), 16,384 padded positions for 5,124 real (3.20); ours 4.06 s (3.91-4.47), 9,304 padded
(1.82); 3.09x; peak 131 / 89 MiB. ``--task udpos`` (56 tokens on average): the authors 11.40 s
(10.29-12.13), 16,384 for 7,200 real (2.28); ours 5.47 s (4.67-5.79), 10,872 (1.51); 2.08x; peak
130 / 146 MiB. Both: no argmax differs (largest logit difference 3e-7), losses agree to 2.4e-7 (PAN-X)
and 4.8e-7 (UDPOS). ``--real-vocab --steps 1 --repeats 1 --no-check-losses``
(XLM-R's 250,002 rows, 68M parameters; PAN-X, 32 prompts, one call, 2 min in all): the authors 35.35 s,
ours 4.71 s, 7.51x (padded/real 3.30 / 1.78; peak 1,555 / 1,272 MiB, most of it AdamW's state of the
embedding); 0 argmax differ (2.4e-7). No GPU figure yet.

Ours (``xlie.papers.topro.methods.topro_encoder``, method topro on an encoder): ``PromptDataset.from_sentences``
(one pair-encoded prompt per word, the sentence cut to ``max_length`` 128), ``PromptCollator`` (each batch
padded to its longest prompt), the ``ToProTrainer``'s ``compute_loss`` called as it is (``class_logits``:
the encoder, the hidden state at the mask, the MLM head on those rows only, the verbalizer columns;
cross-entropy), the loss divided by ``grad_accum`` as the Trainer does, gradient clipping at 1.0
(``xlie.pipeline.training.training_arguments``), AdamW (lr 1e-5, no weight decay), linear decay. Batch:
the paper preset's ``ToProEncoderParams`` (``batch_size`` 8, ``grad_accum`` 4, fp32: the preset sets no
``bf16``; src/xlie/papers/topro/params.py, workflow/presets/paper.yaml).

The authors' way (boleima/ToPro, described from what it does, not copied): ``scripts/train_prompt_panx.sh``
and ``train_prompt_udpos.sh`` run ``run_baseline/run_prompt_tag.py`` with ``MAX_LENGTH=128`` (:17, passed
as ``--max_seq_length``, :56), for mBERT and XLM-R-base ``BATCH_SIZE=8``, ``GRAD_ACC=4`` (:35-36, passed at
:51-52; xlm-roberta-large 2 x 16, :31-32), lr 1e-5 (:18), 5 epochs (:16), no ``--fp16`` (fp32; the apex
import that ``--fp16`` would need is commented out, run_prompt_tag.py:157-162). Examples: one per word
(``processors/panx.py:65-73``, the udpos processor alike), the sentence as text_a and the word as text_b;
``pvp.py:76-126`` tokenizes the pattern's parts one by one (``PanxPVP.get_parts`` :401-407, UDPOS
:377-383: sentence | ``The named entity of `` word `` is a kind of: `` mask `` .``), cuts with
``PVP.truncate`` (:146-167) and joins them with the pair's special tokens; ``MLMPreprocessor.get_input_features``
(``preprocessor.py:66-93``) pads EVERY example to ``max_seq_length`` 128 (input ids, attention mask,
token type ids) and marks the mask position in ``mlm_labels``; ``load_and_cache_examples``
(run_prompt_tag.py:551-569) stacks them into one ``TensorDataset`` of 128-wide rows. ``train``
(:120-345): a ``RandomSampler`` (:126) over batches of ``per_gpu_train_batch_size`` x the GPUs
visible (:125; the spec and the preset take 8, one GPU); per micro-batch ``mlm_train_step`` (:572-584):
the whole ``*ForMaskedLM`` forward, i.e. the MLM head (dense, layer norm, decoder to the whole
vocabulary) at all 128 positions of every row (token type ids passed too: ``generate_default_inputs``
defaults to bert, :593-598), then ``convert_mlm_logits_to_cls_logits`` (``pvp.py:178-199``) keeps the
mask rows and, row by row, the verbalizer columns (one word per label: the sum over one word divided by
1), cross-entropy (:583); the loss divided by the accumulation (:238-239), ``backward``, and every 4
micro-batches ``clip_grad_norm_`` 1.0 (:252), AdamW (:144, ``weight_decay`` 0, eps 1e-8), the linear
schedule (:145, no warm-up), ``zero_grad``.

So both sides compute the same loss on the same prompts; what differs is the padding (128 against the
batch's longest) and the MLM head at every position against the mask row only. Here the authors' side
reuses OUR token ids (pair-encoded by ``encode_prompts``; their part-wise tokenization can split a few
words differently and cuts over-long prompts by another rule) so that both sides train on identical
inputs: each of our prompts padded on the right to 128, its mask position as ``mlm_labels``.

Timed per call: ``--steps`` optimizer steps (each ``grad_accum`` micro-batches of ``batch_size``:
host-to-device copy, forward, backward; then clipping, AdamW step, schedule step), the batches taken in
order from one seeded permutation of the prompts (``torch.randperm``: what a ``RandomSampler`` draws),
the same index batches on both sides, collated before the clock starts (their TensorDataset is padded
ahead; the Trainer's DataLoader prepares ours ahead). The sides run ``--repeats`` calls each, interleaved
(tools/bench_common.py, torch threads ``--threads``, default 1), each call continuing to train the
shared model. Printed per side: prompts, batches, real tokens (attention mask), padded positions, their
ratio, the median seconds with their spread, prompts/s, peak memory, and the speed-up (ratio of medians).

Identical outputs: before training, on the same weights (eval mode, fp32), every prompt's verbalizer
logits at the mask through each side's padding and head; exit status 1 when an argmax differs or a
logit by more than 1e-3. Then (``--check-losses``, on by default) both sides train ``--steps`` steps from
the same initial weights and optimizer state with dropout off (eval mode: dropout masks drawn over
different shapes would differ); their per-micro-batch losses must agree within 1e-4 (exit status 1).

Model: the ``xlm-roberta-base`` stand-in of ``xlie.pipeline.standins`` (the real ``XLMRobertaTokenizer``,
sentencepiece trained on the demo text, the verbalizer words as vocabulary entries) re-initialised at
``--size``: ``small`` (the CPU default: hidden 256, 4 layers, 4 heads, FFN 1024) or ``base`` (XLM-R-base:
768, 12, 12, 3072); the stand-in's vocabulary (about 6,000 entries) unless ``--real-vocab`` (XLM-R's
250,002 rows, where the authors' head at every position costs most). Data: the first ``--sentences``
sentences of the shipped ``resources/demo/xtreme/{panx,udpos}/train-en.tsv`` (``--task``), one prompt per word.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common
import bench_standins

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "resources" / "demo" / "xtreme"
MODEL_ID = "xlm-roberta-base"
SIZES = {
    "small": {"hidden": 256, "layers": 4, "heads": 4, "ffn": 1024},
    "base": {"hidden": 768, "layers": 12, "heads": 12, "ffn": 3072},
}
AUTHORS_LENGTH = 128  # MAX_LENGTH, scripts/train_prompt_{panx,udpos}.sh:17


def build_tokenizer_and_config(directory: Path, size: str, real_vocab: bool):
    """The stand-in's tokenizer and its model config resized to ``size`` (and XLM-R's vocabulary)."""
    from transformers import AutoConfig, AutoTokenizer

    from xlie.pipeline.standins import build_hub_cache

    snapshot = build_hub_cache(directory, [MODEL_ID])[MODEL_ID]["snapshot"]
    config = bench_standins.resize_config(AutoConfig.from_pretrained(snapshot), SIZES[size], real_vocab)
    return AutoTokenizer.from_pretrained(snapshot), config


def collate_ours(dataset, index_batches, pad_id: int):
    """Our batches: ``PromptCollator`` (padded to each batch's longest)."""
    from xlie.papers.topro.methods.topro_encoder import PromptCollator

    collator = PromptCollator(pad_id)
    return [collator([dataset[k] for k in chunk]) for chunk in index_batches]


def collate_authors(dataset, index_batches, pad_id: int, mask_id: int):
    """The authors' batches: every prompt padded on the right to 128, token type ids (zeros for XLM-R,
    whose tokenizer gives none) and the mask position marked 1 in ``mlm_labels`` (-1 elsewhere)."""
    import torch

    batches = []
    for chunk in index_batches:
        ids = torch.full((len(chunk), AUTHORS_LENGTH), pad_id, dtype=torch.long)
        types = torch.zeros_like(ids)
        attention = torch.zeros_like(ids)
        for row, k in enumerate(chunk):
            item = dataset[k]
            n = len(item["input_ids"])
            ids[row, :n] = torch.from_numpy(item["input_ids"].astype("int64"))
            attention[row, :n] = 1
            if "token_type_ids" in item:
                types[row, :n] = torch.from_numpy(item["token_type_ids"].astype("int64"))
        mlm_labels = torch.where(ids == mask_id, 1, -1)
        labels = torch.tensor([dataset[k]["labels"] for k in chunk], dtype=torch.long)
        batches.append(
            {
                "input_ids": ids,
                "attention_mask": attention,
                "token_type_ids": types,
                "labels": labels,
                "mlm_labels": mlm_labels,
            }
        )
    return batches


def authors_class_logits(model, batch, label_ids):
    """Their scores: the full MLM forward (the whole vocabulary at every position), the mask rows, then
    per row the verbalizer columns (one word per label, so their sum / 1 is the column itself)."""
    import torch

    vocab_logits = model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], token_type_ids=batch["token_type_ids"]
    ).logits
    masked = vocab_logits[batch["mlm_labels"] >= 0]
    return torch.stack([row[label_ids] for row in masked])


def our_loss(trainer, model, batch):
    """The ToProTrainer's own compute_loss (it pops the labels: give it a copy)."""
    return trainer.compute(model, dict(batch))


def make_steps(model, batches, grad_accum: int, device, label_ids, trainer, authors: bool, losses=None):
    """Train ``len(batches) / grad_accum`` optimizer steps on ``batches``; returns a callable (the timed side)."""
    import torch
    import torch.nn.functional as F
    from transformers import get_linear_schedule_with_warmup

    def run():
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, eps=1e-8, weight_decay=0.0)
        steps = len(batches) // grad_accum
        scheduler = get_linear_schedule_with_warmup(optimizer, 0, steps)
        verbal = torch.tensor(label_ids, device=device)
        for number, batch in enumerate(batches, start=1):
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            if authors:
                loss = F.cross_entropy(authors_class_logits(model, batch, verbal), batch["labels"])
            else:
                loss = our_loss(trainer, model, batch)
            if losses is not None:
                losses.append(float(loss.detach()))
            (loss / grad_accum).backward()
            if number % grad_accum == 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)

    return run


def main() -> int:
    from xlie.papers.topro.params import ToProEncoderParams

    preset = ToProEncoderParams()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=["panx", "udpos"], default="panx")
    parser.add_argument("--sentences", type=int, default=40, help="first N sentences of train-en (default 40)")
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps per timed call (default 4)")
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument(
        "--real-vocab", action="store_true", help=f"XLM-R's {bench_standins.REAL_VOCAB['xlm-roberta']:,}-row vocabulary"
    )
    parser.add_argument("--batch-size", type=int, default=preset.batch_size, help="per micro-batch (preset: 8)")
    parser.add_argument("--grad-accum", type=int, default=preset.grad_accum, help="micro-batches per step (4)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--check-losses", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--seed", type=int, default=42)
    bench_common.add_arguments(parser, repeats=3)
    args = parser.parse_args()
    bench_common.prepare(args.threads)

    import torch
    from transformers import XLMRobertaForMaskedLM

    from xlie.papers.topro.labels import label_set
    from xlie.papers.topro.methods.topro_encoder import PromptDataset, class_logits, trainer_class, verbalizer_ids
    from xlie.papers.topro.xtreme import read_xtreme_tsv

    device = torch.device(
        "cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer, config = build_tokenizer_and_config(Path(tmp), args.size, args.real_vocab)
    torch.manual_seed(args.seed)
    model = XLMRobertaForMaskedLM(config).to(device)
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    label_ids, _ = verbalizer_ids(tokenizer, args.task, "strict", MODEL_ID, lookup=preset.verbalizer_lookup)
    # The ToProTrainer's compute_loss, unbound: it reads only these two attributes of the trainer.
    host = SimpleNamespace(label_token_ids=label_ids, processing_class=tokenizer)
    trainer = SimpleNamespace(compute=lambda m, inputs: trainer_class().compute_loss(host, m, inputs))

    data = DATA_DIR / args.task / "train-en.tsv"
    sentences = read_xtreme_tsv(data, label_set(args.task))[: args.sentences]
    dataset, counts = PromptDataset.from_sentences(tokenizer, args.task, sentences, preset.max_length)
    micro = args.steps * args.grad_accum
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(args.seed)).tolist()
    index_batches = [order[i : i + args.batch_size] for i in range(0, len(order), args.batch_size)]
    index_batches = [b for b in index_batches if len(b) == args.batch_size][:micro]
    if len(index_batches) < micro:
        parser.error(f"{len(dataset)} prompts make {len(index_batches)} full batches; {micro} needed: more --sentences")
    ours = collate_ours(dataset, index_batches, tokenizer.pad_token_id)
    theirs = collate_authors(dataset, index_batches, tokenizer.pad_token_id, tokenizer.mask_token_id)
    prompts = micro * args.batch_size

    print(bench_common.header(device.type))
    params = sum(p.numel() for p in model.parameters()) / 1e6
    print(
        f"model: {MODEL_ID} stand-in at size {args.size} ({params:.0f}M parameters, vocabulary {config.vocab_size:,}), "
        f"fp32; {args.steps} optimizer steps of {args.grad_accum} x {args.batch_size} prompts per call; "
        f"median of {args.repeats}, interleaved"
    )
    lengths = [len(dataset[k]["input_ids"]) for b in index_batches for k in b]
    print(
        f"data: {data.relative_to(REPO)}, {len(sentences)} sentences, {len(dataset)} prompts ({dict(counts)}); "
        f"timed prompts {prompts}: mean {sum(lengths) / len(lengths):.1f} tokens, longest {max(lengths)}"
    )

    # Identical outputs: every timed prompt's verbalizer logits on the initial weights, both paddings.
    verbal = torch.tensor(label_ids, device=device)
    model.eval()
    with torch.inference_mode():
        gap, flips = 0.0, 0
        for mine, theirs_batch in zip(ours, theirs):
            a = {k: v.to(device) for k, v in mine.items()}
            b = {k: v.to(device) for k, v in theirs_batch.items()}
            ours_logits = class_logits(
                model, a["input_ids"], a["attention_mask"], a.get("token_type_ids"), tokenizer.mask_token_id, verbal
            )
            their_logits = authors_class_logits(model, b, verbal)
            gap = max(gap, float((ours_logits - their_logits).abs().max()))
            flips += int((ours_logits.argmax(-1) != their_logits.argmax(-1)).sum())
    model.train()

    authors_name, ours_name = "authors: pad 128, MLM head everywhere", "ours: PromptCollator, head at the mask"
    sides = {
        authors_name: make_steps(model, theirs, args.grad_accum, device, label_ids, trainer, authors=True),
        ours_name: make_steps(model, ours, args.grad_accum, device, label_ids, trainer, authors=False),
    }
    warmups = {  # kernels, allocator: one step each, untimed
        authors_name: make_steps(model, theirs[: args.grad_accum], args.grad_accum, device, label_ids, trainer, True),
        ours_name: make_steps(model, ours[: args.grad_accum], args.grad_accum, device, label_ids, trainer, False),
    }
    measured = bench_common.measure_sides(sides, args.repeats, device.type, warmups)

    rows = []
    for name, batches in ((authors_name, theirs), (ours_name, ours)):
        real = sum(int(b["attention_mask"].sum()) for b in batches)
        padded = sum(b["input_ids"].numel() for b in batches)
        m = measured[name]
        rows.append(
            (name, prompts, len(batches), real, padded, padded / real, m.median, m.spread, f"{prompts / m.median:.1f}")
        )
        rows[-1] += (f"{m.peak_mib:.0f}",)
    headers = ("side", "prompts", "batches", "real tok", "padded", "pad/real", "median s", "spread", "prompts/s")
    print(bench_common.table(headers + ("peak MiB",), rows))
    print(
        f"speed-up (authors' median / ours): {bench_common.ratio(measured[authors_name], measured[ours_name]):.2f}x; "
        f"peak memory: {measured[ours_name].memory_how}"
    )
    failed = flips > 0 or gap > 1e-3
    print(
        f"identical outputs: per-prompt verbalizer logits on the same weights (eval mode, fp32), largest "
        f"|difference| {gap:.1e}, differing argmax {flips} of {prompts}"
    )
    if args.check_losses:
        sequences = {}
        for name, batches, authors in ((authors_name, theirs, True), (ours_name, ours, False)):
            model.load_state_dict(initial)
            model.eval()  # no dropout: masks drawn over different shapes would differ
            sequences[name] = []
            make_steps(model, batches, args.grad_accum, device, label_ids, trainer, authors, sequences[name])()
        loss_gap = max(abs(x - y) for x, y in zip(*sequences.values()))
        print(
            f"losses from the same weights over the same {micro} micro-batches (dropout off): largest |difference| "
            f"{loss_gap:.1e} (first {sequences[ours_name][0]:.4f}, last {sequences[ours_name][-1]:.4f})"
        )
        failed |= loss_gap > 1e-4
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
