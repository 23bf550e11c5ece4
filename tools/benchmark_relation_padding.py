"""Benchmark Prompt-XRE's training data path: dynamic padding + length-grouped batches (ours) against
padding every batch to the longest sequence of the split, same model, side by side in one run.

    python tools/benchmark_relation_padding.py                         # CPU: small config, 240 instances
    python tools/benchmark_relation_padding.py --config large --instances 1500 --precision bf16   # GPU
    python tools/benchmark_relation_padding.py --ace05-dir path/to/processed-data --lang en

Measured (2026-11-21, shared 2-core CPU, ``--repeats 2``, small config, 240 UD instances, template 1):
ours 1,045 real tokens/s, padded/real 1.30; dynamic padding in random order 690 tok/s, 2.04;
padded to the split's longest 446 tok/s, 3.00: our path 2.34x faster. No GPU figure yet.

Each data path trains one full epoch over the same instances (forward, backward, AdamW step; the
template's encoder and decoder inputs, xlie.papers.prompt_xre.methods.mbart_relation): batches come from the sampler
the Trainer uses (``LengthGroupedSampler`` for ours, random order for the padded baseline) and
go through ``mbart_relation.collate`` (padding to the batch's longest, or with ``pad_to`` to the
split's longest). A third row, dynamic padding in random order, separates the two effects.
With ``--repeats N`` each path trains N epochs (reshuffled) and keeps the fastest.
Printed per path: real tokens (encoder + decoder, no padding), padded positions, their ratio
(padded/real, 1.00 = no padding), seconds, real tokens/s, and our speed-up.

Model: ``MBartForRelationClassification`` randomly initialised. ``--config large`` = the
mBART-large-cc25 architecture (d_model 1024, 12+12 layers, 16 heads, FFN 4096, vocabulary
250,027; 611M parameters); ``--config small`` (the CPU default) = d_model 128, 2+2 layers, 4 heads,
FFN 512, the tokenizer's vocabulary (4,000), so the run fits in a few minutes on 2 cores.

Length grouping needs data: ``LengthGroupedSampler`` sorts mega-batches of
min(50, n // (4 x batch)) batches, so 48 instances get no grouping at all, 240 get mega-batches
of 5 batches, and real ACE05 (thousands) of 50: small runs understate our path's gain.
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
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UD_SAMPLE = REPO / "resources" / "demo" / "xtreme" / "udpos" / "train-en.tsv"
TOKENIZER_SIZE = dict(
    vocab_size=4000, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, max_positions=1024
)
CONFIGS = {
    "large": dict(
        d_model=1024,
        encoder_layers=12,
        decoder_layers=12,
        encoder_attention_heads=16,
        decoder_attention_heads=16,
        encoder_ffn_dim=4096,
        decoder_ffn_dim=4096,
        vocab_size=250027,
    ),
    "small": dict(
        d_model=128,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=512,
        decoder_ffn_dim=512,
    ),
}


def build_tokenizer(directory: Path):
    from transformers import AutoTokenizer

    from xlie.pipeline.tiny_models import build_tiny_models

    corpus = sorted((REPO / "resources" / "demo" / "xtreme").glob("*/*.tsv"))
    build_tiny_models(corpus, {"mbart": directory}, TOKENIZER_SIZE, seed=0)
    return AutoTokenizer.from_pretrained(directory)


def ud_instances(limit: int, seed: int):
    from xlie.papers.prompt_xre.ace05 import LABELS, RelationInstance
    from xlie.papers.topro.xtreme import read_xtreme_tsv
    from xlie.papers.topro.labels import UDPOS

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


def batches(features, batch_size: int, grouped: bool, seed: int) -> list[list[int]]:
    """Index batches in the order the Trainer would draw them for one epoch."""
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler

    generator = torch.Generator().manual_seed(seed)
    if grouped:
        order = list(
            LengthGroupedSampler(batch_size, lengths=[len(f["input_ids"]) for f in features], generator=generator)
        )
    else:
        order = torch.randperm(len(features), generator=generator).tolist()
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def run_epoch(model, features, index_batches, pad_id: int, pad_to: tuple[int, int] | None, device, precision: str):
    """One training epoch; returns (seconds, real tokens, padded positions)."""
    import torch

    from xlie.papers.prompt_xre.methods.mbart_relation import collate

    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16" and device.type == "cuda")
    model.train()
    real = padded = 0
    prepared = []
    for chunk in index_batches:
        rows = [features[k] for k in chunk]
        batch = collate(rows, pad_id)
        if pad_to is not None:  # the split's longest encoder and decoder inputs
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
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for batch in prepared:  # collation is timed too: it is part of the data path
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        with torch.autocast(
            device.type, dtype=dtype or torch.float32, enabled=dtype is not None and device.type == "cuda"
        ):
            loss = model(**batch).loss
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, real, padded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), help="model size (default: large on GPU, small on CPU)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--instances", type=int, default=None, help="instances per epoch (default: 1500 GPU, 240 CPU)")
    parser.add_argument("--batch-size", type=int, default=12, help="the authors' 12")
    parser.add_argument("--template", default="1", help="Prompt-XRE template id (none, 1..9)")
    parser.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default="bf16", help="autocast on GPU only")
    parser.add_argument("--ace05-dir", type=Path, help="an ACE05-Processor processed-data directory instead of UD")
    parser.add_argument("--lang", default="en", help="language of --ace05-dir to read (train split)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=222)
    parser.add_argument(
        "--repeats", type=int, default=1, help="epochs per path, the fastest is kept (shared CPUs are noisy)"
    )
    args = parser.parse_args()

    import torch

    from xlie.papers.prompt_xre.ace05 import LABELS, read_split
    from xlie.papers.prompt_xre.methods.mbart_relation import encode

    if args.threads:
        torch.set_num_threads(args.threads)
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
    longest = (max(len(f["input_ids"]) for f in features), max(len(f["decoder_input_ids"]) for f in features))
    model = build_model(config_name, tokenizer, args.seed).to(device)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    print(
        f"device {device} ({torch.cuda.get_device_name() if gpu else f'{torch.get_num_threads()} threads'}), "
        f"config {config_name} ({params:.0f}M parameters), precision {args.precision if gpu else 'fp32'}, "
        f"template {args.template}, batch {args.batch_size}"
    )
    print(
        f"data: {len(features)} instances from {source}; split's longest encoder/decoder input {longest[0]}/{longest[1]} tokens"
    )
    paths = [
        ("ours: dynamic padding + length-grouped", True, None),
        ("dynamic padding, random order", False, None),
        ("padded to the split's longest", False, longest),
    ]
    pad = tokenizer.pad_token_id
    # warm-up (kernels, allocator) on a few batches of the padded path, untimed
    run_epoch(
        model, features, batches(features, args.batch_size, False, args.seed)[:2], pad, longest, device, args.precision
    )
    results = []
    for name, grouped, pad_to in paths:
        runs = [
            run_epoch(
                model,
                features,
                batches(features, args.batch_size, grouped, args.seed + repeat),
                pad,
                pad_to,
                device,
                args.precision,
            )
            for repeat in range(args.repeats)
        ]
        seconds = min(r[0] for r in runs)
        real, padded = runs[0][1], runs[0][2]  # the first epoch's batches (later ones reshuffle alike)
        results.append((name, seconds, real, padded))
    print(
        f"{'data path':42} {'real tok':>9} {'padded':>9} {'pad/real':>8} {'seconds':>8} {'real tok/s':>10} {'speed-up':>8}"
    )
    baseline = results[-1][2] / results[-1][1]
    for name, seconds, real, padded in results:
        rate = real / seconds
        print(
            f"{name:42} {real:9d} {padded:9d} {padded / real:8.2f} {seconds:8.1f} {rate:10.0f} {rate / baseline:7.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
