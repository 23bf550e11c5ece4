"""Benchmark the code-style output parser: time per output on real-looking and hostile inputs.

    python tools/benchmark_codeie_parser.py            # every case, best of 5 repeats
    python tools/benchmark_codeie_parser.py --repeats 20

Prints, per case: input size, milliseconds per parse (best of --repeats, each the mean over enough
calls to take >= 0.05 s), records kept, items rejected, and whether the output failed as a whole.
The hostile cases are the multi-megabyte ones of tests/test_codeie_parser.py: the input cap
(MAX_CHARS) and the bracket-depth cap are what keep them in the same range as a normal output.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from xlie.papers.alignxie.parser import parse_output  # noqa: E402

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


def time_parse(task: str, text: str, repeats: int) -> float:
    """Best over `repeats` of the mean seconds per call, each repeat lasting at least 0.05 s."""
    best = float("inf")
    for _ in range(repeats):
        calls, start = 0, time.perf_counter()
        while True:
            parse_output(text, task)
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= 0.05:
                break
        best = min(best, elapsed / calls)
    return best


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--repeats", type=int, default=5)
    repeats = args.parse_args().repeats
    print(f"{'case':28} {'chars':>10} {'ms/parse':>9} {'records':>8} {'rejected':>8} failed")
    for name, (task, text) in CASES.items():
        seconds = time_parse(task, text, repeats)
        result = parse_output(text, task)
        print(
            f"{name:28} {len(text):>10,} {seconds * 1e3:>9.3f} {len(result.records):>8} {result.rejected:>8} {result.failed}"
        )


if __name__ == "__main__":
    main()
