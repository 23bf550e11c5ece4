"""Benchmark Prompt-XRE's training data path (mBART relation classification): the paper preset's batches,
which are the authors' fairseq batches, against the same token budget packed in length order, the demo
default's length-grouped batches and padding to the split's longest, same model, side by side in one run.

    python tools/benchmark_relation_padding.py                         # CPU: small config, 240 instances
    python tools/benchmark_relation_padding.py --max-tokens 700        # the cap binding as on Arabic ACE05
    python tools/benchmark_relation_padding.py --config large --instances 1500 --precision fp16   # GPU
    python tools/benchmark_relation_padding.py --ace05-dir path/to/processed-data --lang ar

Measured (shared 2-core CPU under load 2.8-3.3, 1 thread, median of 3, small config, 240 UD instances,
template 1, fp32). Default (4,400 tokens: never binds, 20 batches of 12 on every path): paper preset =
fairseq 6.92 s (padded/real 2.04); length-sorted 3.53 s (1.08), 1.96x; length-grouped 5.89 s (1.30),
1.17x; padded to the split's longest 14.23 s (3.00), 0.49x. ``--max-tokens 700`` (binds: 35 batches of
6.9 on the fairseq path, 24 length-sorted): fairseq 9.01 s (1.70); length-sorted 5.94 s (1.05), 1.52x;
length-grouped 6.59 s (1.30), 1.37x; padded 17.41 s (3.00), 0.52x. Under this load the ratios move
between runs (earlier runs: length-sorted 2.05x and 1.99x, length-grouped 1.87x and 1.27x, padded 0.55x
and 0.59x); padded/real is exact. Per-instance logits identical on every path (largest difference 5e-8, no
argmax differs). Peak memory (RSS growth, 0-160 MiB) says nothing at this model size. No GPU figure yet.

The data paths (rows), each one epoch over the same instances; "vs fairseq" is the ratio of median
seconds, the paper preset's over the row's (above 1 = faster):

- ``paper preset = authors' fairseq``: ``max_tokens: 4400`` (workflow/presets/paper.yaml) makes the
  batches with ``xlie.pipeline.trainers.TokenBudgetBatchSampler``: one seeded permutation packed by
  fairseq's ``batch_by_size`` (at most ``--batch-size`` 12 instances and ``--max-tokens`` tokens, counted
  as the batch's longest encoder input x its instances), the same batches every epoch in a new order.
- ``token budget, length-sorted``: the same budget packed from the instances sorted by encoder, then
  decoder length over a seeded shuffle (the order of fairseq's translation tasks), the batches' order
  shuffled. A different recipe, not the authors': batches of like lengths rather than random ones and,
  where the cap binds, fewer of them (fewer optimizer steps per epoch). xlie offers no option for it.
- ``demo default: length-grouped``: without ``max_tokens``, 12 per batch in the order of the Trainer's
  ``LengthGroupedSampler`` (``group_by_length``).
- ``padded to the split's longest``: 12 per batch in random order, every batch padded to the split's
  longest encoder and decoder inputs.

What the authors' fairseq run does (HSU-CHIA-MING/Prompt-XRE, which vendors its fairseq):
``my_scripts/2_fairseq_scripts_tmp.sh`` (``train_mbart_split_ace05``, fairseq-train at :136) passes
``--batch-size 12`` (:140, ``MAX_SENTENCES=12`` :104/:112/:120), ``--max-tokens 4400`` (:141), ``--task
mbart_sentence_prediction`` (:143), ``--required-batch-size-multiple 1`` (:150), ``--fp16 --fp16-init-scale
4 --threshold-loss-scale 1 --fp16-scale-window 128`` (:159), ``--seed 222`` (:161). The task
(``fairseq/fairseq/tasks/mbart_sentence_prediction .py``, a space in the name) draws one permutation
under ``numpy_seed(seed)`` (:272-273), gives the dataset the encoder sizes only (``sizes=[src_tokens.sizes]``,
:573-576; ``NestedDictionaryDataset.num_tokens``, nested_dictionary_dataset.py:94-97) and orders it by
``SortDataset(sort_order=[shuffle])`` (:578-585), whose ``ordered_indices`` is ``np.lexsort([shuffle])``
(sort_dataset.py:20-21): the permutation alone, no size key (the stock ``sentence_prediction.py`` does
the same, :176, :250-254; the translation tasks' ``LanguagePairDataset.ordered_indices`` sorts by target,
then source size, language_pair_dataset.py:419-430). ``get_batch_iterator`` (fairseq_task.py:234-249)
takes that order, drops instances longer than the positions or the cap (a warning, trainer.py:427-432) and
packs it with ``batch_by_size`` (data_utils.py:276-327, data_utils_fast.pyx:28-69: a batch closes at 12
instances or when (instances + 1) x longest would pass 4,400; with a multiple of 1 nothing is held back,
:58-62); the batches are frozen and shuffled each epoch with seed + epoch (iterators.py:414-415,
fairseq_cli/train.py:182-184). Padding: ``RightPadDataset`` (pad_dataset.py:17-18, 26-28) calls
``collate_tokens`` without ``pad_to_multiple`` (default 1, data_utils.py:34-47): encoder and decoder
inputs (:521-538) padded to the batch's longest, no multiple of 8; ``--required-batch-size-multiple 1``
concerns the number of instances, not lengths. fp16 in fairseq is its FP16Optimizer (fp16 weights, fp32
master copy, dynamic loss scale from 4); ``--precision fp16`` here is autocast with a GradScaler, as the
Trainer's fp16: the same compute dtype, not the same numerics.
How often the cap binds: for English and Chinese ACE05 hardly ever (their update counts are 12 per batch:
``555*30`` for 6,653 instances, ``594*30`` for 7,124; their log of an earlier run with the same cap,
``my_scripts/logs/ace05.mbart.prompt_2.en_XX.log``, shows 1,975 encoder tokens in 42.6 instances per
batch, 46 per instance), so the paper preset's batches there are 12 in random order. For Arabic it binds:
``383*30`` updates for 2,607 instances, 6.8 per batch (``...prompt_2.ar_AR.log``: 6.9 per batch, 244
tokens per instance). UD English here averages 53 encoder tokens (the default run is like English ACE05);
``--max-tokens 700`` gives 6.9 instances per batch on it, the Arabic shape at CPU cost.

Timed per epoch: host-to-device copies, forward, backward and optimizer steps; batches are collated
before the clock starts, as the Trainer's DataLoader prepares them ahead. Each path trains ``--repeats``
epochs (default 3) over the same batches, interleaved with the other paths (shared tools/bench_common.py;
torch threads ``--threads``, default 1). Printed per path: batches per epoch, real tokens (encoder +
decoder, no padding), padded positions, their ratio (padded/real, 1.00 = no padding), the median seconds
and their spread, real tokens/s, peak memory, and the ratio to the fairseq path. Identical outputs: before
training, every instance's logits on the same weights (eval mode, fp32) through each path's batches and
padding, compared with the fairseq path's (exit status 1 when an argmax differs or a logit by more than
1e-3).

Model: ``MBartForRelationClassification`` randomly initialised. ``--config large`` = the
mBART-large-cc25 architecture (d_model 1024, 12+12 layers, 16 heads, FFN 4096, vocabulary
250,027; 611M parameters); ``--config small`` (the CPU default) = d_model 128, 2+2 layers, 4 heads,
FFN 512, the tokenizer's vocabulary (4,000), so the run fits in a few minutes on 2 cores.

Length grouping needs data: ``LengthGroupedSampler`` sorts mega-batches of
min(50, n // (4 x batch)) batches, so 48 instances get no grouping at all, 240 get mega-batches
of 5 batches, and real ACE05 (thousands) of 50: small runs understate the length-grouped path's gain
(the length-sorted path sorts the whole split at any size).
Tokenizer: the demo SentencePiece tokenizer of ``xlie.pipeline.tiny_models`` (mBART language codes and
``<mask>`` included), built into a temporary directory; it splits words into somewhat more pieces
than mBART-cc25's, which only scales all lengths alike.

Data: by default real English sentences with their real length distribution: the shipped UD
English sample (``resources/demo/xtreme/udpos/train-en.tsv``, 1,500 sentences of EWT/GUM/LinES/
ParTUT), each made an instance with E1 = its first word and E2 = its last non-punctuation word and
a label drawn with ``--seed`` (labels do not change the cost). Synthetic ACE05 (5-9 words) has
almost no length spread and would say nothing about padding; ``--ace05-dir`` reads a real
(or synthetic) ACE05-Processor directory instead.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common

REPO = Path(__file__).resolve().parents[1]
UD_SAMPLE = REPO / "resources" / "demo" / "xtreme" / "udpos" / "train-en.tsv"
TOKENIZER_SIZE = {
    "vocab_size": 4000,
    "hidden_size": 32,
    "num_layers": 1,
    "num_heads": 2,
    "intermediate_size": 64,
    "max_positions": 1024,
}
CONFIGS = {
    "large": {
        "d_model": 1024,
        "encoder_layers": 12,
        "decoder_layers": 12,
        "encoder_attention_heads": 16,
        "decoder_attention_heads": 16,
        "encoder_ffn_dim": 4096,
        "decoder_ffn_dim": 4096,
        "vocab_size": 250027,
    },
    "small": {
        "d_model": 128,
        "encoder_layers": 2,
        "decoder_layers": 2,
        "encoder_attention_heads": 4,
        "decoder_attention_heads": 4,
        "encoder_ffn_dim": 512,
        "decoder_ffn_dim": 512,
    },
}


def build_tokenizer(directory: Path):
    from transformers import AutoTokenizer

    from xlie.pipeline.tiny_models import build_tiny_models

    corpus = sorted((REPO / "resources" / "demo" / "xtreme").glob("*/*.tsv"))
    build_tiny_models(corpus, {"mbart": directory}, TOKENIZER_SIZE, seed=0)
    return AutoTokenizer.from_pretrained(directory)


def ud_instances(limit: int, seed: int):
    from xlie.papers.prompt_xre.ace05 import LABELS, RelationInstance
    from xlie.papers.topro.labels import UDPOS
    from xlie.papers.topro.xtreme import read_xtreme_tsv

    rng = random.Random(seed)
    instances = []
    for number, sentence in enumerate(read_xtreme_tsv(UD_SAMPLE, UDPOS)):
        content = [w for w, t in zip(sentence.words, sentence.tags) if t != "PUNCT"]
        if len(content) < 2:
            continue
        instances.append(
            RelationInstance(
                " ".join(sentence.words),
                content[0],
                content[-1],
                rng.choice(LABELS),
                "UD",
                str(number),
                f"R{number}",
                "en",
                "train",
            )
        )
    return instances[:limit]


def build_model(config_name: str, tokenizer, seed: int):
    import torch
    from transformers import MBartConfig

    from xlie.papers.prompt_xre.ace05 import LABELS
    from xlie.papers.prompt_xre.methods.mbart_relation import MBartForRelationClassification

    torch.manual_seed(seed)
    sizes = dict(CONFIGS[config_name])
    sizes.setdefault("vocab_size", len(tokenizer))
    config = MBartConfig(
        **sizes,
        max_position_embeddings=1024,
        num_labels=len(LABELS),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        dropout=0.1,
        attention_dropout=0.1,
    )
    return MBartForRelationClassification(config)


def grouped_batches(features, batch_size: int, seed: int) -> list[list[int]]:
    """The demo default: ``batch_size`` per batch in the order the Trainer's ``LengthGroupedSampler`` draws
    one epoch (``group_by_length``, no ``max_tokens``)."""
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler

    generator = torch.Generator().manual_seed(seed)
    lengths = [len(f["input_ids"]) for f in features]
    order = list(LengthGroupedSampler(batch_size, lengths=lengths, generator=generator))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def token_budget_batches(features, max_tokens: int, batch_size: int, seed: int, length_sorted: bool) -> list[list[int]]:
    """Batches of at most ``batch_size`` instances and ``max_tokens`` encoder tokens (longest x instances),
    one epoch. Shuffled: the paper preset's ``TokenBudgetBatchSampler`` itself (fairseq's sentence_prediction
    order). ``length_sorted``: the same budget packed from instances sorted by encoder length, ties by decoder
    length, over a seeded shuffle (fairseq's LanguagePairDataset order), the batches' order shuffled."""
    import torch

    from xlie.pipeline import trainers

    lengths = [len(f["input_ids"]) for f in features]
    if not length_sorted:
        return list(trainers.TokenBudgetBatchSampler(lengths, max_tokens, batch_size, seed))
    order = torch.randperm(len(features), generator=torch.Generator().manual_seed(seed)).tolist()
    order.sort(key=lambda k: len(features[k]["decoder_input_ids"]))  # stable: ties keep the shuffle
    order.sort(key=lambda k: lengths[k])
    packed = trainers.token_budget_batches(lengths, order, max_tokens, batch_size)
    shuffle = torch.randperm(len(packed), generator=torch.Generator().manual_seed(seed)).tolist()
    return [packed[i] for i in shuffle]


def padded_batches(features, batch_size: int, seed: int) -> list[list[int]]:
    """``batch_size`` per batch in a seeded random order (collated to the split's longest)."""
    import torch

    order = torch.randperm(len(features), generator=torch.Generator().manual_seed(seed)).tolist()
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def collate_path(features, index_batches, pad_id: int, pad_to: tuple[int, int] | None):
    """The batches of one data path, collated: padded to each batch's longest or, with ``pad_to``, to the
    split's longest encoder and decoder inputs. Returns (batches, real tokens, padded positions)."""
    from xlie.papers.prompt_xre.methods.mbart_relation import collate

    real = padded = 0
    prepared = []
    for chunk in index_batches:
        rows = [features[k] for k in chunk]
        batch = collate(rows, pad_id)
        if pad_to is not None:
            enc = collate(
                [{"input_ids": r["input_ids"], "decoder_input_ids": r["input_ids"]} for r in rows], pad_id, pad_to[0]
            )
            dec = collate(
                [{"input_ids": r["decoder_input_ids"], "decoder_input_ids": r["decoder_input_ids"]} for r in rows],
                pad_id,
                pad_to[1],
            )
            batch.update(
                input_ids=enc["input_ids"],
                attention_mask=enc["attention_mask"],
                decoder_input_ids=dec["input_ids"],
                decoder_attention_mask=dec["attention_mask"],
            )
        real += int(batch["attention_mask"].sum() + batch["decoder_attention_mask"].sum())
        padded += batch["input_ids"].numel() + batch["decoder_input_ids"].numel()
        prepared.append(batch)
    return prepared, real, padded


def train_epoch(model, prepared, device, precision: str) -> None:
    """One training epoch over collated batches: AdamW, autocast at ``precision`` on a GPU."""
    import torch

    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16" and device.type == "cuda")
    model.train()
    # Timed: host-to-device copy, forward, backward and optimizer step. Batches are collated before the
    # clock starts, as the Trainer's DataLoader prepares them ahead of the step that consumes them.
    for batch in prepared:
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        with torch.autocast(
            device.type, dtype=dtype or torch.float32, enabled=dtype is not None and device.type == "cuda"
        ):
            loss = model(**batch).loss
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)


def instance_logits(model, prepared, index_batches, device) -> dict:
    """Per instance, the classification logits of one path's batches (eval mode: no dropout; fp32)."""
    import torch

    model.eval()
    logits = {}
    with torch.inference_mode():
        for chunk, batch in zip(index_batches, prepared):
            out = model(**{k: v.to(device) for k, v in batch.items()}).logits.float().cpu()
            logits.update(zip(chunk, out))
    return logits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), help="model size (default: large on GPU, small on CPU)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--instances", type=int, default=None, help="instances per epoch (default: 1500 GPU, 240 CPU)")
    parser.add_argument("--batch-size", type=int, default=12, help="instances per batch at most (the authors' 12)")
    parser.add_argument(
        "--max-tokens", type=int, default=4400, help="encoder tokens per batch at most, longest x instances (4400)"
    )
    parser.add_argument("--template", default="1", help="Prompt-XRE template id (none, 1..9)")
    parser.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default="fp16", help="autocast on GPU only")
    parser.add_argument("--ace05-dir", type=Path, help="an ACE05-Processor processed-data directory instead of UD")
    parser.add_argument("--lang", default="en", help="language of --ace05-dir to read (train split)")
    parser.add_argument("--seed", type=int, default=222)
    bench_common.add_arguments(parser, repeats=3)
    args = parser.parse_args()
    bench_common.prepare(args.threads)

    import torch

    from xlie.papers.prompt_xre.ace05 import LABELS, read_split
    from xlie.papers.prompt_xre.methods.mbart_relation import encode

    device = torch.device(
        "cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu"
    )
    gpu = device.type == "cuda"
    config_name = args.config or ("large" if gpu else "small")
    limit = args.instances or (1500 if gpu else 240)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = build_tokenizer(Path(tmp) / "mbart")
    if args.ace05_dir:
        instances = read_split(args.ace05_dir, args.lang, "train")[0][:limit]
        source = f"{args.ace05_dir} {args.lang}/train"
    else:
        instances = ud_instances(limit, args.seed)
        source = f"{UD_SAMPLE.relative_to(REPO)} (real UD English sentences)"
    label_ids = {label: i for i, label in enumerate(LABELS)}
    features, _ = encode(tokenizer, args.template, instances, args.lang if args.ace05_dir else "en", 1024, label_ids)
    lengths = [len(f["input_ids"]) for f in features]
    longest = (max(lengths), max(len(f["decoder_input_ids"]) for f in features))
    model = build_model(config_name, tokenizer, args.seed).to(device)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    print(bench_common.header(device.type))
    print(
        f"config {config_name} ({params:.0f}M parameters), precision {args.precision if gpu else 'fp32'}, "
        f"template {args.template}, at most {args.batch_size} instances and {args.max_tokens} tokens per batch; "
        f"median of {args.repeats} epochs per path, interleaved"
    )
    print(
        f"data: {len(features)} instances from {source}; encoder input mean {statistics.mean(lengths):.0f}, "
        f"longest {longest[0]} tokens, decoder input longest {longest[1]}"
    )
    pad = tokenizer.pad_token_id
    fairseq = "paper preset = authors' fairseq: token budget, shuffled"
    padded = "padded to the split's longest"
    paths = {  # name -> its batches of instance indices, in the order one epoch draws them
        fairseq: token_budget_batches(features, args.max_tokens, args.batch_size, args.seed, False),
        "token budget, length-sorted": token_budget_batches(
            features, args.max_tokens, args.batch_size, args.seed, True
        ),
        "demo default: length-grouped": grouped_batches(features, args.batch_size, args.seed),
        padded: padded_batches(features, args.batch_size, args.seed),
    }
    collated = {
        name: collate_path(features, index_batches, pad, longest if name == padded else None)
        for name, index_batches in paths.items()
    }
    # Identical outputs: every instance's logits on the same (initial) weights, through each path's batches.
    logits = {name: instance_logits(model, collated[name][0], paths[name], device) for name in paths}
    reference = logits[fairseq]
    checks = []
    for name in list(paths)[1:]:
        gap = max(float((reference[k] - logits[name][k]).abs().max()) for k in reference)
        flips = sum(int(reference[k].argmax() != logits[name][k].argmax()) for k in reference)
        checks.append((name, gap, flips))
    sides = {name: (lambda name=name: train_epoch(model, collated[name][0], device, args.precision)) for name in paths}
    warmup = collated[padded][0][:2]  # kernels, allocator: two padded batches, untimed
    warmups = {name: (lambda: train_epoch(model, warmup, device, args.precision)) for name in paths}
    measured = bench_common.measure_sides(sides, args.repeats, device.type, warmups)
    baseline = measured[fairseq]
    rows = []
    for name, (prepared, real, positions) in collated.items():
        m = measured[name]
        rows.append((name, len(prepared), real, positions, positions / real, m.median, m.spread))
        rows[-1] += (f"{real / m.median:.0f}", f"{m.peak_mib:.0f}", f"{bench_common.ratio(baseline, m):.2f}x")
    headers = (
        "data path",
        "batches",
        "real tok",
        "padded",
        "pad/real",
        "median s",
        "spread",
        "real tok/s",
        "peak MiB",
        "vs fairseq",
    )
    print(bench_common.table(headers, rows))
    print(
        "vs fairseq: median seconds of the paper preset's (the authors' fairseq) batches / this path's "
        f"(above 1 = faster); peak memory: {baseline.memory_how}"
    )
    failed = False
    for name, gap, flips in checks:
        print(
            f"identical outputs, fairseq's batches vs {name}: per-instance logits on the same weights (eval mode, "
            f"fp32), largest |difference| {gap:.1e}, differing argmax {flips} of {len(reference)}"
        )
        failed |= flips > 0 or gap > 1e-3
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
