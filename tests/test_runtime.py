"""xlie.pipeline.runtime: a job dies with the process that started it, also with a shell in between; a file
written atomically is the old one or the new one, never half of one, even when its writer is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
JOB = "import os, time; from xlie.pipeline.runtime import die_with_driver; die_with_driver(); open(os.environ['READY'], 'w').close(); time.sleep(120)"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
@pytest.mark.parametrize("through_shell", [False, True], ids=["direct-child", "shell-in-between"])
def test_a_job_dies_with_its_driver(tmp_path, through_shell):
    """The driver starts the job (directly, as Snakemake 9 does, or through a shell that does not
    exec it), reports its pid and waits; SIGKILL to the driver must end the job."""
    job = f'{sys.executable} -c "{JOB}" & echo $! > {tmp_path}/job.pid; wait' if through_shell else None
    driver_code = "import subprocess, sys\n" + (
        f"subprocess.run({job!r}, shell=True, executable='/bin/bash')\n"
        if through_shell
        else f"p = subprocess.Popen([sys.executable, '-c', {JOB!r}])\nopen({str(tmp_path / 'job.pid')!r}, 'w').write(str(p.pid))\np.wait()\n"
    )
    ready = tmp_path / "ready"
    driver = subprocess.Popen(
        [sys.executable, "-c", driver_code], env={**os.environ, "PYTHONPATH": SRC, "READY": str(ready)}
    )
    deadline = time.monotonic() + 60
    while not ready.is_file():  # the job has asked to die with its driver
        assert time.monotonic() < deadline
        time.sleep(0.1)
    job_pid = int((tmp_path / "job.pid").read_text())
    assert alive(job_pid)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 20
    while alive(job_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(job_pid), "the job outlived its driver"


# A training job on several processes, as xlie.pipeline.jobs runs one: torchrun started with
# preexec_fn=die_with_parent, its workers (in sessions of their own) calling die_with_parent first.
TORCHRUN_WORKER = "import os, time; from xlie.pipeline.runtime import die_with_parent; die_with_parent(); open(os.path.join(os.environ['READY'], str(os.getpid())), 'w').close(); time.sleep(120)"
TORCHRUN_JOB = """\
import subprocess, sys
from xlie.pipeline.runtime import die_with_driver, die_with_parent
die_with_driver()
command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", sys.argv[1]]
subprocess.run(command, check=True, preexec_fn=die_with_parent)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_torchrun_and_its_workers_die_with_the_driver(tmp_path):
    (tmp_path / "worker.py").write_text(TORCHRUN_WORKER)
    (tmp_path / "job.py").write_text(TORCHRUN_JOB)
    ready = tmp_path / "ready"
    ready.mkdir()
    driver_code = f"import subprocess, sys\nsubprocess.run([sys.executable, {str(tmp_path / 'job.py')!r}, {str(tmp_path / 'worker.py')!r}])\n"
    driver = subprocess.Popen(
        [sys.executable, "-c", driver_code],
        env={**os.environ, "PYTHONPATH": SRC, "READY": str(ready)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while len(list(ready.iterdir())) < 2:  # both workers have asked to die with torchrun
        assert driver.poll() is None and time.monotonic() < deadline, "the workers never started"
        time.sleep(0.2)
    workers = [int(p.name) for p in ready.iterdir()]
    launcher = int(Path(f"/proc/{workers[0]}/stat").read_text().rsplit(")", 1)[1].split()[1])  # torchrun
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 20
    while (left := [pid for pid in [launcher, *workers] if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:  # never leave them running, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not left, "torchrun or its workers outlived the driver"


# A writer that rewrites ``target`` through atomic_write in 64 KiB chunks, forever or ``rounds`` times,
# alternating two contents; after its first chunk of each round it touches ``started``, and it sleeps
# ``pause`` seconds between chunks so that a kill lands mid-file.
WRITER = """
import sys, time
from pathlib import Path
from xlie.pipeline.runtime import atomic_write
target, started, pause, rounds = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
chunk = 64 * 1024
n = 0
while rounds < 0 or n < rounds:
    letter = "AB"[n % 2]
    with atomic_write(target) as handle:
        for i in range(32):  # 2 MiB
            handle.write(letter * chunk)
            handle.flush()
            if i == 0:
                started.touch()
            time.sleep(pause)
    n += 1
"""
OLD = "old content\n"
COMPLETE = {OLD, "A" * (2 << 20), "B" * (2 << 20)}


def _writer(tmp_path: Path, pause: float, rounds: int) -> tuple[subprocess.Popen, Path, Path]:
    target, started = tmp_path / "metrics.json", tmp_path / "started"
    target.write_text(OLD)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target), str(started), str(pause), str(rounds)],
        env={**os.environ, "PYTHONPATH": SRC},
    )
    return proc, target, started


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert proc.poll() is None, "the writer ended before it started writing"
        assert time.monotonic() < deadline, "the writer never started writing"
        time.sleep(0.01)


def test_a_writer_killed_mid_file_leaves_the_old_file(tmp_path):
    proc, target, started = _writer(tmp_path, pause=0.05, rounds=1)
    _wait_for(started, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert target.read_text() == OLD  # not a prefix of the new content
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # the half file was elsewhere


def test_a_writer_that_finishes_leaves_the_new_file(tmp_path):
    proc, target, _ = _writer(tmp_path, pause=0, rounds=1)
    assert proc.wait(timeout=60) == 0
    assert target.read_text() == "A" * (2 << 20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json", "started"]


def test_a_writer_killed_at_any_moment_leaves_a_complete_file(tmp_path):
    """Rewrites without pauses, killed at ten moments: each time the file is one whole version."""
    for delay in (0.0, 0.01, 0.02, 0.05, 0.08, 0.1, 0.13, 0.17, 0.2, 0.3):
        proc, target, started = _writer(tmp_path, pause=0, rounds=-1)
        _wait_for(started, proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert target.read_text() in COMPLETE, f"half a file after a kill {delay} s in"
        started.unlink()


def test_an_exception_inside_the_block_keeps_the_old_file_and_no_temporary(tmp_path):
    from xlie.pipeline.runtime import atomic_path, atomic_write

    target = tmp_path / "table.tex"
    target.write_text(OLD)
    with pytest.raises(RuntimeError, match="render failed"):
        with atomic_write(target) as handle:
            handle.write("half a table")
            raise RuntimeError("render failed")
    with pytest.raises(RuntimeError, match="savefig failed"):
        with atomic_path(tmp_path / "plot.png") as tmp:
            tmp.write_bytes(b"\x89PNG half")
            raise RuntimeError("savefig failed")
    assert target.read_text() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.tex"]


def test_atomic_writes_match_plain_writes(tmp_path):
    """Same bytes and the usual permissions, parents made; the writers name the format."""
    from xlie.pipeline.runtime import atomic_write, atomic_write_text

    text = "word\tB-PER\tO\n\u4e2d\t\n"
    (tmp_path / "plain.tsv").write_text(text, encoding="utf-8")
    atomic_write_text(tmp_path / "new" / "atomic.tsv", text)
    with atomic_write(tmp_path / "binary.bin", "wb") as handle:
        handle.write(text.encode())
    plain = tmp_path / "plain.tsv"
    for written in (tmp_path / "new" / "atomic.tsv", tmp_path / "binary.bin"):
        assert written.read_bytes() == plain.read_bytes()
        assert written.stat().st_mode == plain.stat().st_mode
    with pytest.raises(ValueError, match="mode 'w' or 'wb'"):
        with atomic_write(tmp_path / "x", "a"):
            pass


def test_script_start_registers_the_papers_the_config_names(tmp_path):
    """A paper package outside xlie.papers, named by papers.<name>.package, is registered inside a job
    (in a child process: script_start also ties the process to its parent's life)."""
    package = tmp_path / "my_paper"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    code = (
        "from types import SimpleNamespace\n"
        "from xlie.pipeline.registry import loaded_packages\n"
        "from xlie.pipeline.runtime import script_start\n"
        "script_start(SimpleNamespace(config={'papers': {'mine': {'package': 'my_paper'}}}))\n"
        "print(' '.join(loaded_packages()))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, str(tmp_path)])}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "my_paper" in result.stdout.split() and "xlie.papers.alignxie" in result.stdout.split()
