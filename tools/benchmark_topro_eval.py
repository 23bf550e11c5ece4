"""Benchmark the ToPro encoder evaluators: the authors' (faithful) against ours (fast), side by side.

    python tools/benchmark_topro_eval.py                      # 20 PAN-X dev-de sentences, CPU (+ CUDA if present)
    python tools/benchmark_topro_eval.py --sentences 300 --faithful-sentences 300 --devices cuda
    python tools/benchmark_topro_eval.py --data path/to/dev-xx.tsv --threads 2

Model: a randomly initialised XLM-R-base-sized ``XLMRobertaForMaskedLM`` (hidden 768, 12 layers,
12 heads, FFN 3072, vocabulary 250,002, so embedding and LM-head costs are realistic). Tokenizer:
the ``xlm-roberta-base`` stand-in's of ``xlie.pipeline.standins`` (``XLMRobertaTokenizer``, XLM-R's
special-token ids, the verbalizer words as vocabulary entries; all ids < 250,002), built into a
temporary directory. Data: the first ``--sentences`` sentences of real PAN-X dev-de
(``../shared/data/xtreme/panx/dev-de.tsv`` from the repository root; the shipped demo test-de is
used, with a note, when that file is absent).

For each device it prints, for both evaluators: sentences, prompts, the median seconds of ``--repeats``
calls (interleaved: every evaluator once per round) with their spread, prompts/s and peak memory
(bench_common.PeakMemory: CPU RSS growth sampled every 5 ms; GPU torch.cuda.max_memory_allocated
above the model), then the speed-up (ratio of medians) and the number of words whose predictions
differ (must be 0; exit status 1 otherwise). Torch threads: ``--threads``, default 1.

The faithful evaluator pads every prompt to 128 tokens and computes the full 250k-vocabulary logits
at every position: on one CPU thread that costs 1-2 s per prompt, so by default it runs on the
first ``--faithful-sentences`` (CPU default 3, GPU default all) sentences; the fast evaluator is timed
on that subset (same input: wall-clock ratio) and on all ``--sentences`` (default 20; throughput).
Predictions are compared word by word on the subset. The default run takes about 4 minutes on one
free CPU core.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "xtreme" / "panx" / "dev-de.tsv"
FALLBACK_DATA = REPO / "resources" / "demo" / "xtreme" / "panx" / "test-de.tsv"


def build_tokenizer(directory: Path):
    """The xlm-roberta-base stand-in's tokenizer (xlie.pipeline.standins): the real class, special ids and
    a vocabulary that holds the verbalizer words as entries, as XLM-R's does."""
    from transformers import AutoTokenizer

    from xlie.pipeline.standins import build_hub_cache

    built = build_hub_cache(directory, ["xlm-roberta-base"])
    return AutoTokenizer.from_pretrained(built["xlm-roberta-base"]["snapshot"])


def build_model(tokenizer, seed: int):
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    torch.manual_seed(seed)
    config = XLMRobertaConfig(
        vocab_size=250002,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return XLMRobertaForMaskedLM(config).eval()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=20, help="first N sentences of the data file (default 20)")
    parser.add_argument(
        "--faithful-sentences",
        type=int,
        default=None,
        help="sentences for the faithful evaluator (default: 3 on CPU, all on GPU)",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"PAN-X tsv (default {DEFAULT_DATA})")
    parser.add_argument("--devices", default="cpu,cuda", help="comma-separated; cuda is skipped when unavailable")
    parser.add_argument("--fast-batch-size", type=int, default=64)
    parser.add_argument("--faithful-batch-size", type=int, default=8)
    parser.add_argument("--chunk-sentences", type=int, default=256)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--bf16", action="store_true", help="fast evaluator with bf16 autocast on GPU")
    parser.add_argument("--seed", type=int, default=0)
    bench_common.add_arguments(parser, repeats=3)
    args = parser.parse_args()
    bench_common.prepare(args.threads)
    import torch

    from xlie.papers.topro.labels import PANX
    from xlie.papers.topro.methods.topro_encoder import predict_faithful, predict_fast
    from xlie.papers.topro.xtreme import Sentence, read_xtreme_tsv

    print(bench_common.header())
    data = args.data
    if not data.is_file():
        print(f"note: {data} not found; using the shipped demo file {FALLBACK_DATA} instead")
        data = FALLBACK_DATA
    sentences = read_xtreme_tsv(data, PANX)[: args.sentences]
    prompts = sum(len(s.words) for s in sentences)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        tokenizer = build_tokenizer(Path(tmp) / "xlmr")
        model = build_model(tokenizer, args.seed)
        print(
            f"setup: tokenizer + XLM-R-base-sized random model ({sum(p.numel() for p in model.parameters()) / 1e6:.0f}M "
            f"parameters) in {time.perf_counter() - started:.1f} s"
        )
    print(
        f"data: {data}, {len(sentences)} sentences, {prompts} prompts (one per word); median of {args.repeats}, interleaved"
    )

    failures = 0
    for device in [d.strip() for d in args.devices.split(",") if d.strip()]:
        if device == "cuda" and not torch.cuda.is_available():
            print("cuda: not available, skipped")
            continue
        model.to(device)
        n_faithful = args.faithful_sentences or (len(sentences) if device == "cuda" else min(3, len(sentences)))
        subset = sentences[:n_faithful]
        subset_prompts = sum(len(s.words) for s in subset)

        def fast(items):
            return predict_fast(
                model,
                tokenizer,
                "panx",
                items,
                batch_size=args.fast_batch_size,
                max_length=args.max_length,
                chunk_sentences=args.chunk_sentences,
                bf16=args.bf16,
            )

        def faithful(items):
            return predict_faithful(
                model, tokenizer, "panx", items, batch_size=args.faithful_batch_size, max_length=args.max_length
            )

        warm = [Sentence(("Berlin", "calling"), ("B-LOC", "O"))]
        sides = {
            "faithful (pad 128, full V)": lambda items=subset: faithful(items),
            "fast, same sentences": lambda items=subset: fast(items),
            "fast, all sentences": lambda: fast(sentences),
        }
        # warm-up (kernels, allocator): two prompts each
        warmups = {name: partial(faithful if name.startswith("faithful") else fast, warm) for name in sides}
        measured = bench_common.measure_sides(sides, args.repeats, device, warmups)
        slow, fast_sub, fast_all = (measured[name] for name in sides)
        diff = bench_common.differing(fast_sub.result.tags, slow.result.tags)
        diff += bench_common.differing(fast_all.result.tags[:n_faithful], slow.result.tags)
        failures += diff > 0
        where = torch.cuda.get_device_name() if device == "cuda" else f"{torch.get_num_threads()} threads"
        print(f"\n== {device} ({where})")
        counts = [(n_faithful, subset_prompts), (n_faithful, subset_prompts), (len(sentences), prompts)]
        rows = [
            (name, n, p, m.median, m.spread, p / m.median, f"{m.peak_mib:.0f}")
            for (name, m), (n, p) in zip(measured.items(), counts)
        ]
        headers = ("evaluator", "sentences", "prompts", "median s", "spread", "prompts/s", "peak MiB")
        print(bench_common.table(headers, rows))
        print(f"peak memory: {slow.memory_how}")
        print(
            f"speed-up, same sentences (ratio of medians): {bench_common.ratio(slow, fast_sub):.1f}x; "
            f"throughput ratio (fast on all / faithful): {(prompts / fast_all.median) / (subset_prompts / slow.median):.1f}x"
        )
        print(f"differing predictions (fast vs faithful, {subset_prompts} words): {diff}")
        print(f"fallback counts: fast {fast_all.result.counts}")
    if failures:
        print("FAILED: the fast and faithful evaluators disagree", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
