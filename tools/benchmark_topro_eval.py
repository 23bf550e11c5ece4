"""Benchmark the ToPro encoder evaluators: the authors' (faithful) against ours (fast), side by side.

    python tools/benchmark_topro_eval.py                      # 100 PAN-X dev-de sentences, CPU (+ CUDA if present)
    python tools/benchmark_topro_eval.py --sentences 300 --faithful-sentences 300 --devices cuda
    python tools/benchmark_topro_eval.py --data path/to/dev-xx.tsv --threads 2

Model: a randomly initialised XLM-R-base-sized ``XLMRobertaForMaskedLM`` (hidden 768, 12 layers,
12 heads, FFN 3072, vocabulary 250,002, so embedding and LM-head costs are realistic). Tokenizer:
the demo SentencePiece tokenizer of ``xlie.pipeline.tiny_models`` (XLM-R special-token ids; all ids < 250,002),
built into a temporary directory. Data: the first ``--sentences`` sentences of real PAN-X dev-de
(``../shared/data/xtreme/panx/dev-de.tsv`` from the repository root; the shipped demo test-de is
used, with a note, when that file is absent).

For each device it prints, for both evaluators: prompts, wall seconds, prompts/s, peak memory
(CPU: peak RSS growth sampled with psutil, else the ru_maxrss high-water mark; GPU:
torch.cuda.max_memory_allocated above the model), then the speed-up (prompts/s ratio) and the number of
words whose predictions differ (must be 0; exit status 1 otherwise).

The faithful evaluator pads every prompt to 128 tokens and computes the full 250k-vocabulary logits
at every position: on 2 CPU cores that costs 1-2 s per prompt, so by default it runs on the first
``--faithful-sentences`` (CPU default 5, GPU default all) sentences; the fast evaluator is timed on
that subset (same input: wall-clock ratio) and on all ``--sentences`` (throughput). Predictions are
compared word by word on the subset. The default run takes about 3 minutes on 2 idle CPU cores
(longer when other processes share them).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "xtreme" / "panx" / "dev-de.tsv"
FALLBACK_DATA = REPO / "resources" / "demo" / "xtreme" / "panx" / "test-de.tsv"
TOKENIZER_SIZE = dict(
    vocab_size=4000, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, max_positions=512
)


class PeakMemory:
    """Peak memory growth during a block. CPU: RSS sampled every 5 ms with psutil (or the ru_maxrss
    high-water mark without psutil, which only grows past the process's earlier peak). GPU:
    torch.cuda.max_memory_allocated above what was allocated at the start."""

    def __init__(self, device: str):
        self.device, self.peak_mib, self.how = device, float("nan"), ""

    def __enter__(self):
        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
            self.how = "cuda max_memory_allocated"
            return self
        try:
            import psutil

            self.process = psutil.Process()
            self.base = self.process.memory_info().rss
            self.max_rss = self.base
            self.stop = threading.Event()
            self.thread = threading.Thread(target=self._sample, daemon=True)
            self.thread.start()
            self.how = "RSS growth (psutil, 5 ms samples)"
        except ImportError:
            self.process = None
            self.base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            self.how = "ru_maxrss growth (high-water mark)"
        return self

    def _sample(self):
        while not self.stop.is_set():
            self.max_rss = max(self.max_rss, self.process.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc):
        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()
            self.peak_mib = (torch.cuda.max_memory_allocated() - self.base) / 2**20
        elif self.process is not None:
            self.stop.set()
            self.thread.join()
            self.max_rss = max(self.max_rss, self.process.memory_info().rss)
            self.peak_mib = (self.max_rss - self.base) / 2**20
        else:
            self.peak_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self.base) / 2**20
        return False


def build_tokenizer(directory: Path):
    from transformers import AutoTokenizer

    from xlie.pipeline.tiny_models import build_tiny_models

    corpus = sorted((REPO / "resources" / "demo" / "xtreme").glob("*/*.tsv"))
    build_tiny_models(corpus, {"xlmr": directory}, TOKENIZER_SIZE, seed=0)
    return AutoTokenizer.from_pretrained(directory)


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


def timed(device: str, run):
    import torch

    with PeakMemory(device) as memory:
        started = time.perf_counter()
        result = run()
        if device == "cuda":
            torch.cuda.synchronize()
        wall = time.perf_counter() - started
    return result, wall, memory


def differing(a: list[list[str]], b: list[list[str]]) -> int:
    return sum(x != y for s, t in zip(a, b) for x, y in zip(s, t)) + sum(abs(len(s) - len(t)) for s, t in zip(a, b))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=100, help="first N sentences of the data file (default 100)")
    parser.add_argument(
        "--faithful-sentences",
        type=int,
        default=None,
        help="sentences for the faithful evaluator (default: 5 on CPU, all on GPU)",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"PAN-X tsv (default {DEFAULT_DATA})")
    parser.add_argument("--devices", default="cpu,cuda", help="comma-separated; cuda is skipped when unavailable")
    parser.add_argument("--fast-batch-size", type=int, default=64)
    parser.add_argument("--faithful-batch-size", type=int, default=8)
    parser.add_argument("--chunk-sentences", type=int, default=256)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--bf16", action="store_true", help="fast evaluator with bf16 autocast on GPU")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    from xlie.papers.topro.xtreme import Sentence, read_xtreme_tsv
    from xlie.papers.topro.labels import PANX
    from xlie.papers.topro.methods.topro_encoder import predict_faithful, predict_fast

    if args.threads:
        torch.set_num_threads(args.threads)
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
        f"data: {data}, {len(sentences)} sentences, {prompts} prompts (one per word); torch threads {torch.get_num_threads()}"
    )

    failures = 0
    for device in [d.strip() for d in args.devices.split(",") if d.strip()]:
        if device == "cuda" and not torch.cuda.is_available():
            print("cuda: not available, skipped")
            continue
        model.to(device)
        n_faithful = args.faithful_sentences or (len(sentences) if device == "cuda" else min(5, len(sentences)))
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
        fast(warm), faithful(warm)  # warm-up (kernels, allocator): two prompts each
        fast_all, fast_all_wall, fast_all_mem = timed(device, lambda: fast(sentences))
        fast_sub, fast_sub_wall, fast_sub_mem = timed(device, lambda: fast(subset))
        slow, slow_wall, slow_mem = timed(device, lambda: faithful(subset))
        diff = differing(fast_sub.tags, slow.tags) + differing(fast_all.tags[:n_faithful], slow.tags)
        failures += diff > 0
        print(
            f"\n== {device} ({torch.cuda.get_device_name() if device == 'cuda' else f'{torch.get_num_threads()} threads'})"
        )
        print(f"{'evaluator':<28}{'sentences':>10}{'prompts':>9}{'wall s':>9}{'prompts/s':>11}{'peak MiB':>10}")
        rows = [
            ("faithful (pad 128, full V)", n_faithful, subset_prompts, slow_wall, slow_mem),
            ("fast, same sentences", n_faithful, subset_prompts, fast_sub_wall, fast_sub_mem),
            ("fast, all sentences", len(sentences), prompts, fast_all_wall, fast_all_mem),
        ]
        for name, n, p, wall, memory in rows:
            print(f"{name:<28}{n:>10}{p:>9}{wall:>9.2f}{p / wall:>11.1f}{memory.peak_mib:>10.0f}")
        print(f"peak memory: {slow_mem.how}")
        print(
            f"speed-up, same sentences (wall ratio): {slow_wall / fast_sub_wall:.1f}x; "
            f"throughput ratio (fast on all / faithful): {(prompts / fast_all_wall) / (subset_prompts / slow_wall):.1f}x"
        )
        print(f"differing predictions (fast vs faithful, {subset_prompts} words): {diff}")
        print(f"fallback counts: fast {fast_all.counts}")
    if failures:
        print("FAILED: the fast and faithful evaluators disagree", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
