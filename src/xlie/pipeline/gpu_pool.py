"""Give each locally running GPU job its own device.

Snakemake's ``resources: gpu=N`` is only a counter and never sets CUDA_VISIBLE_DEVICES
(snakemake issue #281), so four local GPU jobs would all land on device 0. Each job takes
as many of the N lock files (one per device id) as it asks GPUs for, with a non-blocking
``flock``, and keeps them for its lifetime (the kernel frees them even on SIGKILL), then
exports CUDA_VISIBLE_DEVICES before torch touches CUDA. Under SLURM (which sets
CUDA_VISIBLE_DEVICES itself), or when CUDA_VISIBLE_DEVICES is already set, nothing is done.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import shutil
import subprocess
import time
from pathlib import Path
from typing import IO

LOCK_DIR_ENV = "XLIE_GPU_LOCK_DIR"
IDS_ENV = "XLIE_GPU_IDS"
_held = []  # open lock files, kept referenced for the life of the process
log = logging.getLogger(__name__)


def available_ids() -> list[str]:
    if os.environ.get(IDS_ENV):
        return [i.strip() for i in os.environ[IDS_ENV].split(",") if i.strip()]
    if shutil.which("nvidia-smi"):
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True
        )
        if out.returncode == 0:
            return [line.strip() for line in out.stdout.splitlines() if line.strip()]
    return []


def acquire(
    lock_dir: str | Path | None = None,
    ids: list[str] | None = None,
    timeout_s: float = 3600,
    count: int = 1,
    poll_s: float = 0.5,
) -> str | None:
    """Lock ``count`` free device ids and export them; returns them joined by commas
    ("1,3"), or None when there is nothing to do (no GPUs). ``count`` 0 hides every GPU
    (CUDA_VISIBLE_DEVICES=""): a job the scheduler counted as CPU-only must not use one.

    All or nothing: a job that finds fewer than ``count`` ids free lets go of those it took
    and tries again after a short random pause, so two jobs that each hold one id can never
    wait for each other forever.
    """
    if "SLURM_JOB_ID" in os.environ or "CUDA_VISIBLE_DEVICES" in os.environ:
        devices = os.environ.get("CUDA_VISIBLE_DEVICES")
        where = f"SLURM job {os.environ['SLURM_JOB_ID']}" if "SLURM_JOB_ID" in os.environ else "the environment"
        log.info("GPU ids %s, given by %s", devices if devices else "none", where)
        return devices
    if count < 1:
        log.info("GPU ids none: the job asked for 0 GPUs, so CUDA_VISIBLE_DEVICES is empty")
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        return ""
    ids = available_ids() if ids is None else ids
    if not ids:
        log.info("GPU ids none: no GPU found (%s unset, no nvidia-smi)", IDS_ENV)
        return None
    if count > len(ids):
        raise ValueError(
            f"a job asks for {count} GPUs but only {len(ids)} exist ({','.join(ids)}); lower its gpu resource"
        )
    lock_dir = Path(lock_dir or os.environ.get(LOCK_DIR_ENV, ".snakemake/xlie-gpu-locks"))
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    while True:
        taken = _try_lock(lock_dir, ids, count)
        if taken:
            _held.extend(handle for _, handle in taken)
            devices = ",".join(device for device, _ in taken)
            os.environ["CUDA_VISIBLE_DEVICES"] = devices
            log.info("GPU ids %s, locked in %s", devices, lock_dir)
            return devices
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"no {count} free GPU(s) among {ids} after {timeout_s}s (locks in {lock_dir}); "
                "is --resources gpu=N larger than the number of GPUs?"
            )
        time.sleep(poll_s * random.uniform(0.5, 1.5))  # jitter: contenders do not retry in lockstep


class NoGpuError(RuntimeError):
    """A job that asked for a GPU finds none while ``training.require_gpu`` is on."""


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def check_required(count: int, *, required: bool, cuda_available=_cuda_available) -> None:
    """With ``training.require_gpu`` on, a job that asked the scheduler for GPUs and sees none
    stops at once, before reading data or loading a model, instead of silently running on the
    CPU (days instead of hours, or an out-of-memory failure much later). Off by default: the demo
    runs on CPU. Called after :func:`acquire`, so it sees the job's own CUDA_VISIBLE_DEVICES."""
    if not required or count < 1 or cuda_available():
        return
    raise NoGpuError(
        f"this job asks for {count} GPU(s) and finds none (CUDA_VISIBLE_DEVICES="
        f"{os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')!r}, torch.cuda.is_available() is False), and "
        "config key training.require_gpu is true, so it stops instead of running on the CPU; run it where a "
        "GPU is visible (--resources gpu=N locally, a GPU partition under SLURM) or set training.require_gpu: false"
    )


def _try_lock(lock_dir: Path, ids: list[str], count: int) -> list[tuple[str, IO]]:
    """Take ``count`` locks without waiting, in id order; if that fails, release them all."""
    taken = []
    for device in ids:
        handle = open(lock_dir / f"gpu{device}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        taken.append((device, handle))
        if len(taken) == count:
            return taken
    for _, handle in taken:
        handle.close()  # closing the only descriptor releases the flock
    return []
