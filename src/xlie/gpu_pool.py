"""Give each locally running GPU job its own device.

Snakemake's ``resources: gpu=1`` is only a counter and never sets CUDA_VISIBLE_DEVICES
(snakemake issue #281), so four local GPU jobs would all land on device 0. Each job takes
one of N lock files with a non-blocking ``flock`` and keeps it for its lifetime (the
kernel frees it even on SIGKILL), then exports CUDA_VISIBLE_DEVICES before torch touches
CUDA. Under SLURM, or when CUDA_VISIBLE_DEVICES is already set, nothing is done.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

LOCK_DIR_ENV = "XLIE_GPU_LOCK_DIR"
IDS_ENV = "XLIE_GPU_IDS"
_held = []  # open lock files, kept referenced for the life of the process


def available_ids() -> list[str]:
    if os.environ.get(IDS_ENV):
        return [i.strip() for i in os.environ[IDS_ENV].split(",") if i.strip()]
    if shutil.which("nvidia-smi"):
        out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True)
        if out.returncode == 0:
            return [line.strip() for line in out.stdout.splitlines() if line.strip()]
    return []


def acquire(lock_dir: str | Path | None = None, ids: list[str] | None = None, timeout_s: float = 3600) -> str | None:
    """Lock a free device id and export it; returns the id, or None when there is nothing to do."""
    if "SLURM_JOB_ID" in os.environ or "CUDA_VISIBLE_DEVICES" in os.environ:
        return os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = available_ids() if ids is None else ids
    if not ids:
        return None
    lock_dir = Path(lock_dir or os.environ.get(LOCK_DIR_ENV, ".snakemake/xlie-gpu-locks"))
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    while True:
        for device in ids:
            handle = open(lock_dir / f"gpu{device}.lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _held.append(handle)
            os.environ["CUDA_VISIBLE_DEVICES"] = device
            return device
        if time.monotonic() > deadline:
            raise TimeoutError(f"no free GPU among {ids} after {timeout_s}s (locks in {lock_dir}); is --resources gpu=N larger than the number of GPUs?")
        time.sleep(1.0)
