"""xlie.runtime: a job dies with the process that started it, also with a shell in between."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
JOB = "import os, time; from xlie.runtime import die_with_driver; die_with_driver(); open(os.environ['READY'], 'w').close(); time.sleep(120)"


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
    job = f"{sys.executable} -c \"{JOB}\" & echo $! > {tmp_path}/job.pid; wait" if through_shell else None
    driver_code = (
        "import subprocess, sys\n"
        + (f"subprocess.run({job!r}, shell=True, executable='/bin/bash')\n" if through_shell else
           f"p = subprocess.Popen([sys.executable, '-c', {JOB!r}])\nopen({str(tmp_path / 'job.pid')!r}, 'w').write(str(p.pid))\np.wait()\n")
    )  # fmt: skip
    ready = tmp_path / "ready"
    driver = subprocess.Popen([sys.executable, "-c", driver_code], env={**os.environ, "PYTHONPATH": SRC, "READY": str(ready)})
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
