"""Benchmark code-style generation: batched (length-sorted, left-padded) vs one prompt at a time.

    python tools/benchmark_codeie_generation.py                     # small random-init Llama, CPU
    python tools/benchmark_codeie_generation.py --sentences 64 --batch-size 32
    python tools/benchmark_codeie_generation.py --model PATH_OR_HUB_ID   # any causal LM instead

Both runs use the same model, the same AlignXIE NER prompts (KnowCoder system prompt, three entity
classes, one PAN-X demo sentence each: 6 languages) and greedy decoding with the same
max_new_tokens and stop string; the script checks that the completions are identical and prints
the median seconds of ``--repeats`` calls per mode (interleaved), sentences/s, peak memory and the
speed-up (ratio of medians), torch threads pinned by ``--threads`` (default 1). With vLLM installed and
a GPU present it also times vLLM.

The default model is built here, with no network: the tokenizer of the tiny demo models (trained
on the shipped demo corpus) and a random-init LlamaConfig of hidden 256, 4 layers, 4 heads,
intermediate 688, 2048 positions (4.2 M parameters, a quarter of them the embedding and output tables). A random model never writes the stop
string, so every completion runs to max_new_tokens: the worst case, and the same work both ways.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tools"))

import bench_common

from xlie.papers.alignxie.generation import HFGenerator, cuda_available, vllm_available
from xlie.papers.alignxie.schema import Schema, TypeDef, render_prompt, render_query
from xlie.papers.topro.labels import PANX
from xlie.papers.topro.xtreme import read_xtreme_tsv
from xlie.pipeline.tiny_models import build_tiny_models

DEMO = REPO / "resources" / "demo" / "xtreme"
SIZE = dict(vocab_size=2000, hidden_size=256, num_layers=4, num_heads=4, intermediate_size=688, max_positions=512)
SCHEMA = Schema.from_types(
    [
        TypeDef("entity", "Person", "A human being, alive or dead, real or fictional.", ("Michel Roux Junior",)),
        TypeDef("entity", "Organization", "A company, institution or other group of people.", ("United Nations",)),
        TypeDef("entity", "Location", "A geographical place: country, city, river, mountain.", ("Paris",)),
    ]
)


def prompts(count: int) -> list[str]:
    files = sorted((DEMO / "panx").glob("test-*.tsv"))
    sentences = [s for f in files for s in read_xtreme_tsv(f, PANX)[:count]]
    # Round-robin over languages so that any count mixes lengths and scripts.
    per_language = len(sentences) // len(files)
    mixed = [sentences[i + k * per_language] for i in range(per_language) for k in range(len(files))]
    return [render_prompt(render_query(SCHEMA, "ner", " ".join(s.words))) for s in mixed[:count]]


def generate_with(generator, texts: list[str], batch_size: int) -> list[str]:
    generator.batch_size = batch_size
    return generator.generate(texts).texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="causal LM (hub id or path); default: the random-init Llama above")
    parser.add_argument("--sentences", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    bench_common.add_arguments(parser, repeats=3)
    args = parser.parse_args()
    bench_common.prepare(args.threads)
    texts = prompts(args.sentences)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            model = Path(tmp) / "causal"
            build_tiny_models(sorted(DEMO.glob("*/*.tsv")), {"causal": model}, SIZE, seed=0)
        options = dict(max_new_tokens=args.max_new_tokens, stop='"""', bf16=True)
        generator = HFGenerator(model, batch_size=args.batch_size, **options)
        lengths = [len(ids) for ids in generator.encode(texts)[0]]
        params = sum(p.numel() for p in generator.model.parameters())
        print(bench_common.header(generator.device.type))
        print(f"model: {model} ({params / 1e6:.2f} M parameters, {generator.device}, {generator.model.dtype})")
        print(
            f"{len(texts)} prompts of {min(lengths)}-{max(lengths)} tokens (mean {sum(lengths) / len(lengths):.0f}), "
            f'max_new_tokens {args.max_new_tokens}, greedy, stop \'"""\'; median of {args.repeats}, interleaved'
        )
        sides = {
            "one at a time": lambda: generate_with(generator, texts, 1),
            f"batched ({args.batch_size})": lambda: generate_with(generator, texts, args.batch_size),
        }
        warmups = {name: (lambda: generator.generate(texts[:2])) for name in sides}  # first-call allocations
        measured = bench_common.measure_sides(sides, args.repeats, generator.device.type, warmups)
        single, batched = measured.values()
        same = batched.result == single.result
        if vllm_available() and cuda_available():
            from xlie.papers.alignxie.generation import VLLMGenerator

            engine = VLLMGenerator(model, **options)
            measured.update(
                bench_common.measure_sides(
                    {"vLLM": lambda: engine.generate(texts).texts}, args.repeats, "cuda", {"vLLM": lambda: None}
                )
            )
            print(f"vLLM completions identical to HF batched: {measured['vLLM'].result == batched.result}")
        rows = [
            (
                name,
                m.median,
                m.spread,
                len(texts) / m.median,
                f"{m.peak_mib:.0f}",
                f"{bench_common.ratio(single, m):.2f}x",
            )
            for name, m in measured.items()
        ]
        headers = ("mode", "median s", "spread", "sentences/s", "peak MiB", "speed-up")
        print(bench_common.table(headers, rows))
        print(f"speed-up: median seconds one at a time / this mode's; peak memory: {single.memory_how}")
        print(f"batched completions identical to one-at-a-time: {same}")
        return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
