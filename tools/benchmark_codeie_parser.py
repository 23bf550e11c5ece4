"""Benchmark the code-style output parser: time per output on real-looking and hostile inputs.

    python tools/benchmark_codeie_parser.py            # every case, median of 5 repeats
    python tools/benchmark_codeie_parser.py --repeats 20

Prints, per case: input size, milliseconds per parse (median of --repeats, each the mean over enough
calls to take >= 0.05 s), peak memory (RSS growth), records kept, items rejected, and whether the
output failed as a whole.
The hostile cases are the multi-megabyte ones of tests/test_codeie_parser.py: the input cap
(MAX_CHARS) and the bracket-depth cap are what keep them in the same range as a normal output.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_common

from xlie.papers.alignxie.parser import parse_output

KNOWCODER_NER = 'results = [\n\tOrganization("Port Phillip Housing Association"),\n\tPerson("Larry Takis")\n]'
KNOWCODER_EAE = (
    'results = [\n\tEducation(trigger = "student", institution = [Entity("American University of Beirut")], '
    'student = [Entity("George Habash")])\n]'
)

CASES = {
    "KnowCoder NER output": ("ner", KNOWCODER_NER),
    "KnowCoder EAE output": ("eae", KNOWCODER_EAE),
    "chat preamble + fence": ("ner", "Sure! Here it is:\n```python\n" + KNOWCODER_NER + "\n```\nAnything else?"),
    "100 entities": ("ner", "results = [" + ", ".join(f'Person("name {i}")' for i in range(100)) + "]"),
    "truncated after 100": (
        "ner",
        "results = [" + ", ".join(f'Person("name {i}")' for i in range(100)) + ', Person("na',
    ),
    "5.6 MB, 400k items": ("ner", "results = [" + 'Person("a"), ' * 400_000 + "]"),
    "3 MB of '('": ("ner", "results = [" + "(" * 3_000_000),
    "4 MB unterminated string": ("ner", 'results = [Person("' + "x" * 4_000_000),
    "99k unary minus": ("ner", "results = [" + "-" * 99_000 + "1]"),
    "49k attribute chain": ("ner", "results = [a" + ".a" * 49_000 + "]"),
    "20k items, truncated": ("ner", "results = [" + ",".join(["Person('x')"] * 20_000) + ",Person('"),
}


def time_parse(task: str, text: str, repeats: int) -> tuple[float, float]:
    """Median over ``repeats`` of the mean seconds per call (each repeat lasting at least 0.05 s), and the
    peak memory (MiB above the start) over them."""
    seconds, peak = [], 0.0
    for _ in range(repeats):
        with bench_common.PeakMemory() as memory:
            calls, start = 0, time.perf_counter()
            while True:
                parse_output(text, task)
                calls += 1
                elapsed = time.perf_counter() - start
                if elapsed >= 0.05:
                    break
        seconds.append(elapsed / calls)
        peak = max(peak, memory.peak_mib)
    return statistics.median(seconds), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    bench_common.prepare(threads=1)  # pure Python: the threads only keep numbers comparable with the others
    print(bench_common.header())
    rows = []
    for name, (task, text) in CASES.items():
        seconds, peak = time_parse(task, text, repeats)
        result = parse_output(text, task)
        rows.append((name, f"{len(text):,}", f"{seconds * 1e3:.3f}", f"{peak:.0f}"))
        rows[-1] += (len(result.records), result.rejected, result.failed)
    headers = ("case", "chars", "ms/parse", "peak MiB", "records", "rejected", "failed")
    print(bench_common.table(headers, rows))
    print(f"median of {repeats} repeats; peak memory: RSS above the start, sampled every 5 ms")


if __name__ == "__main__":
    main()
