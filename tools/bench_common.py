"""What every side-by-side benchmark in tools/ does the same way, so that its figures can be trusted.

tools/ is not a package: a benchmark puts its own folder on ``sys.path`` and imports this module.

- ``add_arguments`` / ``prepare``: ``--threads`` (default 1) pins torch's CPU threads. With more
  threads than free cores, small models slow down by an order of magnitude, and unevenly between the two
  sides, so that a ratio measured on a shared machine says more about its load than about the code.
- ``header``: one line with the machine, its cores and load, the torch and transformers versions, the
  threads and the device, printed first by every benchmark.
- ``measure_sides``: each side's warm-up call, then ``--repeats`` rounds timing every side once per
  round (interleaved, so that a change of load hits both sides alike); the median per side, its
  spread, and the peak memory over its calls (``PeakMemory``).
- ``differing``: how many predictions of two sides differ, the identical-output check.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import platform
import resource
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# glibc's mallopt parameter: blocks of at least this many bytes are mmap-ed (and unmapped when freed).
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1 << 20


def add_arguments(parser: argparse.ArgumentParser, repeats: int = 3) -> None:
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument(
        "--repeats", type=int, default=repeats, help=f"timed calls per side; the median is reported (default {repeats})"
    )


def prepare(threads: int) -> None:
    """Pin torch's threads, keep tokenizers and progress bars quiet, and let RSS follow live tensors."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")
    import torch

    torch.set_num_threads(threads)
    try:  # transformers' own bars (weights loading, shard writing) ignore TQDM_DISABLE set this late
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    except ImportError:
        pass
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before the first parallel work of the process
        pass
    # glibc adapts its mmap threshold upwards as big blocks are freed and then keeps such blocks in its
    # heap: a side run after another would reuse the first side's memory without growing RSS. A fixed
    # threshold sends every block of a tensor's size to mmap, so RSS growth is each side's own.
    try:
        ctypes.CDLL(ctypes.util.find_library("c")).mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError, TypeError):  # not glibc: RSS figures may understate a later side
        pass


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def header(device: str = "cpu") -> str:
    """Machine, cores, load, library versions, threads and device, in one line."""
    import torch
    import transformers

    load = " ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    where = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    return (
        f"machine: {_cpu_name()}, {os.cpu_count()} cores, load {load}; torch {torch.__version__}, "
        f"transformers {transformers.__version__}; torch threads {torch.get_num_threads()}; device {where}"
    )


def synchronize(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


class PeakMemory:
    """Peak memory growth during a block, in MiB. CPU: RSS sampled every 5 ms with psutil above the RSS
    at the start (without psutil, the ru_maxrss high-water mark, which only grows past the process's
    earlier peak). GPU: torch.cuda.max_memory_allocated above what was allocated at the start."""

    def __init__(self, device: str = "cpu"):
        self.device, self.peak_mib, self.how = device, float("nan"), ""

    def __enter__(self):
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
            self.how = "torch.cuda.max_memory_allocated above the start"
            return self
        try:
            import psutil
        except ImportError:
            self.process = None
            self.base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            self.how = "ru_maxrss growth (high-water mark: understates all but the largest)"
            return self
        self.process = psutil.Process()
        self.base = self.max_rss = self.process.memory_info().rss
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        self.how = "RSS above the start, sampled every 5 ms"
        return self

    def _sample(self) -> None:
        while not self.stop.is_set():
            self.max_rss = max(self.max_rss, self.process.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc) -> bool:
        if self.device == "cuda":
            import torch

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


@dataclass
class Measured:
    """One side's timed calls: seconds per call, peak memory over them, the last call's result."""

    seconds: list[float] = field(default_factory=list)
    peak_mib: float = 0.0
    result: Any = None
    memory_how: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def spread(self) -> str:
        return f"{min(self.seconds):.2f}-{max(self.seconds):.2f}"


def measure_sides(
    sides: dict[str, Callable[[], Any]],
    repeats: int,
    device: str = "cpu",
    warmups: dict[str, Callable[[], Any]] | None = None,
) -> dict[str, Measured]:
    """Time every side ``repeats`` times, interleaved round by round, after one untimed warm-up call per
    side (``warmups[name]``, e.g. the side on a small input; default the side itself)."""
    warmups = warmups or {}
    for name, run in sides.items():
        warmups.get(name, run)()
    measured = {name: Measured() for name in sides}
    for _ in range(repeats):
        for name, run in sides.items():
            side = measured[name]
            synchronize(device)
            with PeakMemory(device) as memory:
                started = time.perf_counter()
                side.result = run()
                synchronize(device)
                side.seconds.append(time.perf_counter() - started)
            side.peak_mib = max(side.peak_mib, memory.peak_mib)
            side.memory_how = memory.how
    return measured


def ratio(theirs: Measured, ours: Measured) -> float:
    """Speed-up of ours: the ratio of the medians."""
    return theirs.median / ours.median


def differing(a: Sequence, b: Sequence) -> int:
    """Items of two (possibly nested) sequences that differ, position by position; an item missing on
    one side counts as differing."""
    count = abs(len(a) - len(b))
    for x, y in zip(a, b):
        nested = isinstance(x, (list, tuple)) and isinstance(y, (list, tuple))
        count += differing(x, y) if nested else int(x != y)
    return count


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table: the first column left-aligned, the others right-aligned; floats with two decimals."""

    def cell(value: Any) -> str:
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    cells = [list(headers)] + [[cell(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(
            text.ljust(width) if i == 0 else text.rjust(width) for i, (text, width) in enumerate(zip(row, widths))
        )
        for row in cells
    ]
    return "\n".join(lines)
