"""Regenerate the demo samples in resources/demo/xtreme from a full XTREME copy.

Run once by a maintainer (the samples are committed); not part of the workflow:
    python tools/make_demo_data.py ../shared/data/xtreme resources/demo/xtreme

Takes the first N sentences of each file (deterministic, no shuffling) so a reviewer can
check a sample against its source with ``head``. PAN-X test files in XTREME carry no labels,
so the demo's PAN-X "test" files are the labelled dev files; English dev/test are disjoint
slices of dev-en.
"""

from __future__ import annotations

import sys
from pathlib import Path

TRAIN, DEV, TEST = 1500, 200, 100
PLAN = {
    # task: (train source, dev source, test source per target, targets)
    "panx": ("train", "dev", "dev", ["de", "ar", "zh", "hi", "ru"]),
    "udpos": ("train", "dev", "test", ["fr", "ar", "zh", "hi", "ru"]),
}


def read_blocks(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [block for block in text.split("\n\n") if block.strip()]


def write(path: Path, blocks: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(block.strip("\n") for block in blocks) + "\n", encoding="utf-8")
    print(f"{path}: {len(blocks)} sentences")


def main(source: Path, target: Path) -> None:
    for task, (train_split, dev_split, test_split, langs) in PLAN.items():
        write(target / task / "train-en.tsv", read_blocks(source / task / f"{train_split}-en.tsv")[:TRAIN])
        dev_en = read_blocks(source / task / f"{dev_split}-en.tsv")
        write(target / task / "dev-en.tsv", dev_en[:DEV])
        test_en = read_blocks(source / task / f"{test_split}-en.tsv")
        # English test must not overlap English dev when both come from the same file.
        write(target / task / "test-en.tsv", test_en[DEV : DEV + TEST] if test_split == dev_split else test_en[:TEST])
        for lang in langs:
            write(target / task / f"test-{lang}.tsv", read_blocks(source / task / f"{test_split}-{lang}.tsv")[:TEST])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
