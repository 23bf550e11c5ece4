"""xlie.pipeline.gpu_pool: concurrent processes each lock their own device id with flock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xlie.pipeline import gpu_pool

# Child: acquire, report "<id> <CUDA_VISIBLE_DEVICES> <time>", hold the lock for at least
# HOLD seconds and until the release file exists (so holders overlap for sure), then report
# the time just before exiting. A TimeoutError is reported as "timeout".
CHILD = r"""
import os, sys, time
from pathlib import Path
from xlie.pipeline.gpu_pool import acquire
lock_dir, ids, timeout_s, hold, release = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5])
try:
    device = acquire(lock_dir, ids=ids, timeout_s=timeout_s)
except TimeoutError as error:
    print("timeout", error, flush=True)
    sys.exit(3)
print(device, os.environ.get("CUDA_VISIBLE_DEVICES"), repr(time.time()), flush=True)
start = time.monotonic()
time.sleep(hold)
while not release.exists() and time.monotonic() - start < 30:
    time.sleep(0.05)
print("exit", repr(time.time()), flush=True)
"""


@pytest.fixture
def clean_env(monkeypatch):
    """No SLURM, no CUDA_VISIBLE_DEVICES, no id list; undone after the test (also what acquire() sets)."""
    for name in ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_ID", gpu_pool.IDS_ENV, gpu_pool.LOCK_DIR_ENV):
        monkeypatch.setenv(name, "placeholder")  # records the old state, so undo restores it
        monkeypatch.delenv(name)
    return monkeypatch


def _start(lock_dir: Path, ids: list[str], release: Path, timeout_s: float = 30, hold: float = 1.0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(lock_dir), ",".join(ids), str(timeout_s), str(hold), str(release)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def test_three_processes_get_distinct_ids_and_a_fourth_waits(clean_env, tmp_path):
    lock_dir, release = tmp_path / "locks", tmp_path / "release"
    holders = [_start(lock_dir, ["0", "1", "2"], release) for _ in range(3)]
    try:
        first_lines = [proc.stdout.readline().split() for proc in holders]
        for proc, line in zip(holders, first_lines):
            assert len(line) == 3, (line, proc.stderr.read() if proc.poll() is not None else "")
        ids = [line[0] for line in first_lines]
        assert sorted(ids) == ["0", "1", "2"], ids  # distinct
        assert all(line[1] == line[0] for line in first_lines)  # each child exported its own id
        assert sorted(p.name for p in lock_dir.iterdir()) == ["gpu0.lock", "gpu1.lock", "gpu2.lock"]

        # All three are alive and holding: a process that may only use "0" times out ...
        code, out, err = _finish(_start(lock_dir, ["0"], release, timeout_s=0.3))
        assert code == 3, (out, err)
        assert out.startswith("timeout") and "['0']" in out and str(lock_dir) in out

        # ... and one with a long timeout waits until the holder of "0" exits.
        waiter = _start(lock_dir, ["0"], tmp_path / "never", timeout_s=30, hold=0.0)
        time.sleep(1.5)
        assert waiter.poll() is None  # still waiting
        release.touch()
        exits = {}
        for proc, device in zip(holders, ids):
            code, out, err = _finish(proc)
            assert code == 0, err
            exits[device] = float(out.split()[-1])
        waiter_line = waiter.stdout.readline().split()
        (tmp_path / "never").touch()
        code, _, err = _finish(waiter)
        assert code == 0, err
        assert waiter_line[0] == "0"
        assert float(waiter_line[2]) >= exits["0"]
    finally:
        release.touch()
        (tmp_path / "never").touch()
        for proc in holders:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_lock_is_freed_when_holder_is_killed(clean_env, tmp_path):
    lock_dir, release = tmp_path / "locks", tmp_path / "release"
    holder = _start(lock_dir, ["0"], release, hold=30)
    try:
        assert holder.stdout.readline().split()[0] == "0"
        holder.kill()
        holder.wait()
        release.touch()  # the next process exits right after acquiring
        code, out, err = _finish(_start(lock_dir, ["0"], release, timeout_s=5, hold=0.0))
        assert code == 0, err
        assert out.split()[0] == "0"
    finally:
        release.touch()
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_cuda_visible_devices_set_returns_it_and_does_nothing(clean_env, tmp_path):
    clean_env.setenv("CUDA_VISIBLE_DEVICES", "3")
    lock_dir = tmp_path / "locks"
    assert gpu_pool.acquire(lock_dir, ids=["0", "1"]) == "3"
    assert not lock_dir.exists()
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"


def test_slurm_does_nothing(clean_env, tmp_path):
    clean_env.setenv("SLURM_JOB_ID", "12345")
    lock_dir = tmp_path / "locks"
    assert gpu_pool.acquire(lock_dir, ids=["0"]) is None
    assert not lock_dir.exists()
    assert "CUDA_VISIBLE_DEVICES" not in os.environ


def test_no_ids_returns_none(clean_env, tmp_path):
    lock_dir = tmp_path / "locks"
    assert gpu_pool.acquire(lock_dir, ids=[]) is None
    clean_env.setattr(gpu_pool.shutil, "which", lambda name: None)  # no nvidia-smi
    assert gpu_pool.available_ids() == []
    assert gpu_pool.acquire(lock_dir) is None
    assert not lock_dir.exists()
    assert "CUDA_VISIBLE_DEVICES" not in os.environ


def test_ids_from_environment(clean_env):
    clean_env.setenv(gpu_pool.IDS_ENV, " 0, 2 ,,3")
    assert gpu_pool.available_ids() == ["0", "2", "3"]


# Child for the pool test: ask for COUNT ids, record "<ids> <start> <end>" in OUT while
# holding them for HOLD seconds, then exit (which releases the locks).
MULTI_CHILD = r"""
import os, sys, time
from pathlib import Path
from xlie.pipeline.gpu_pool import acquire
lock_dir, ids, count, hold, out = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5])
devices = acquire(lock_dir, ids=ids, timeout_s=60, count=count, poll_s=0.05)
assert devices == os.environ["CUDA_VISIBLE_DEVICES"], (devices, os.environ["CUDA_VISIBLE_DEVICES"])
start = time.time()
time.sleep(hold)
out.write_text(f"{devices} {start!r} {time.time()!r}")
"""


def test_twelve_jobs_on_four_ids_never_share_or_exceed(clean_env, tmp_path):
    """12 processes started at once, a third of them asking for 2 GPUs, on 4 pretend ids."""
    ids = ["0", "1", "2", "3"]
    counts = [2 if i % 3 == 0 else 1 for i in range(12)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                MULTI_CHILD,
                str(tmp_path / "locks"),
                ",".join(ids),
                str(n),
                "0.3",
                str(tmp_path / f"job{i}"),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, n in enumerate(counts)
    ]
    try:
        for proc in procs:
            assert proc.wait(timeout=120) == 0, proc.stderr.read()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    jobs = []
    for i, n in enumerate(counts):
        devices, start, end = (tmp_path / f"job{i}").read_text().split()
        devices = devices.split(",")
        assert len(devices) == len(set(devices)) == n and set(devices) <= set(ids), (i, devices)
        jobs.append((set(devices), float(start), float(end)))
    for a, (ids_a, start_a, end_a) in enumerate(jobs):
        for ids_b, start_b, end_b in jobs[a + 1 :]:
            if start_a < end_b and start_b < end_a:  # overlapping in time: no id in common
                assert not ids_a & ids_b, (ids_a, ids_b)
    for _, start, _ in jobs:  # ids in use at each job start (where the count can rise)
        assert sum(len(d) for d, s, e in jobs if s <= start < e) <= len(ids)


def test_a_job_waiting_for_two_ids_holds_none(clean_env, tmp_path):
    """All or nothing: with 3 of 4 ids held, a 2-id job waits without keeping the free one."""
    lock_dir, release = tmp_path / "locks", tmp_path / "release"
    holders = [_start(lock_dir, [device], release, hold=0.0) for device in ("0", "1", "2")]
    pair, waiter = tmp_path / "pair", None
    try:
        assert [proc.stdout.readline().split()[0] for proc in holders] == ["0", "1", "2"]
        waiter = subprocess.Popen(
            [sys.executable, "-c", MULTI_CHILD, str(lock_dir), "0,1,2,3", "2", "0", str(pair)],
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        assert waiter.poll() is None  # still waiting for a second id
        # The free id stays takeable while the pair waits (retries may hold it for an instant).
        (tmp_path / "now").touch()
        code, out, err = _finish(_start(lock_dir, ["3"], tmp_path / "now", timeout_s=10, hold=0.0))
        assert code == 0 and out.split()[0] == "3", (out, err)
        release.touch()
        for proc in holders:
            assert _finish(proc)[0] == 0
        assert waiter.wait(timeout=60) == 0, waiter.stderr.read()
        assert len(pair.read_text().split()[0].split(",")) == 2
    finally:
        release.touch()
        for proc in [*holders, waiter]:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def test_more_ids_than_exist_is_an_error(clean_env, tmp_path):
    with pytest.raises(ValueError, match="asks for 3 GPUs but only 2 exist"):
        gpu_pool.acquire(tmp_path / "locks", ids=["0", "1"], count=3)
    assert "CUDA_VISIBLE_DEVICES" not in os.environ


def test_zero_gpus_hides_every_gpu(clean_env, tmp_path):
    assert gpu_pool.acquire(tmp_path / "locks", ids=["0", "1"], count=0) == ""
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""
    assert not (tmp_path / "locks").exists()
