"""Small helpers every Snakemake script uses: start (die with the driver, register the configured
papers), send output to the rule's log, write output files atomically."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import secrets
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
SHELLS = {"sh", "bash", "dash", "zsh"}


def _stat(pid: int) -> tuple[str, int]:
    """(command name, parent pid) of a process, from /proc/<pid>/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    comm = text[text.index("(") + 1 : text.rindex(")")]
    return comm, int(text[text.rindex(")") + 2 :].split()[1])


def _kill_self_when_gone(pid: int, sig: int) -> None:
    import select
    import threading

    fd = os.pidfd_open(pid)  # readable once the process has exited

    def watch() -> None:
        select.select([fd], [], [])
        os.kill(os.getpid(), sig)

    threading.Thread(target=watch, name=f"die-with-{pid}", daemon=True).start()


# libc's prctl, looked up before any fork: die_with_parent also runs as a preexec_fn, in a child
# forked from a process with threads, where loading a library could deadlock.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent(sig: int = signal.SIGKILL) -> int | None:
    """This process gets ``sig`` when its parent ends, even by SIGKILL (``prctl(PR_SET_PDEATHSIG)``,
    Linux; elsewhere nothing); returns the parent's pid (None off Linux). For the processes a job
    starts: ``subprocess.run(..., preexec_fn=die_with_parent)`` (the setting survives ``exec``), or
    a call at the start of a worker whose launcher cannot pass one (torchrun's workers)."""
    if _PRCTL is None:
        return None
    parent = os.getppid()
    if _PRCTL(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), sig)
    return parent


def die_with_driver(sig: int = signal.SIGKILL) -> None:
    """End this job when the Snakemake process that started it dies, even by SIGKILL (Linux).

    Snakemake 9 starts a script job as a direct child of the driver, so ``prctl(PR_SET_PDEATHSIG)``
    does it; a shell in between (``--sdm conda`` wraps the command in one) would survive the
    driver, so the first non-shell ancestor is also watched. Otherwise a killed driver leaves its
    jobs writing into checkpoint directories that a restarted run would resume from. What the job
    starts itself dies with the job through :func:`die_with_parent`."""
    parent = die_with_parent(sig)
    if parent is None:
        return
    driver = parent
    try:
        comm, above = _stat(driver)
        while comm in SHELLS and above > 1:
            driver = above
            comm, above = _stat(driver)
    except (OSError, ValueError):
        return
    if driver != parent:
        _kill_self_when_gone(driver, sig)


def script_start(snakemake) -> None:
    """The first call of every workflow script: the job ends with the Snakemake driver that
    started it (:func:`die_with_driver`), and the papers the config names are registered
    (``registry.load_papers``), so that a paper package outside ``xlie.papers`` is known inside
    the job as it was when the workflow was planned."""
    from xlie.pipeline.registry import load_papers

    die_with_driver()
    load_papers(snakemake.config)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces ``path`` (``os.replace``) when the block ends
    without an exception: a job killed while writing, even by SIGKILL, leaves the old file or the new
    one, never half of one. On an exception the temporary file is removed and ``path`` is untouched.

    For libraries that write by path (matplotlib's ``savefig``, pandas' ``to_csv``). The temporary
    name ends in ``.tmp``, not in ``path``'s suffix: pass the format explicitly to writers that
    infer it from the name. It is hidden (leading dot) and unique per call, so concurrent writers
    and globs over the directory never see it. No fsync: this guards against killed processes,
    not power loss."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_write(
    path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8", newline: str | None = None
) -> Iterator[IO]:
    """``open(path, mode)`` through :func:`atomic_path`: the file appears complete or not at all.
    ``mode`` is ``"w"`` or ``"wb"``; the file gets the usual permissions (umask applies)."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes a whole file: mode 'w' or 'wb', not {mode!r}")
    with atomic_path(path) as tmp:
        binary = mode == "wb"
        with open(
            tmp, "xb" if binary else "x", encoding=None if binary else encoding, newline=None if binary else newline
        ) as handle:
            yield handle


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> None:
    """``Path(path).write_text(text)``, atomically (see :func:`atomic_path`)."""
    with atomic_write(path, encoding=encoding) as handle:
        handle.write(text)


@contextlib.contextmanager
def log_to(path: str | Path):
    """Redirect stdout/stderr (progress bars included) and logging to the rule's log file."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", buffering=1, encoding="utf-8") as handle:
        old_out, old_err = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = handle
        logging.basicConfig(stream=handle, level=logging.INFO, force=True)
        try:
            yield handle
        except BaseException:
            logging.exception("job failed")
            raise
        finally:
            sys.stdout, sys.stderr = old_out, old_err


def exit_without_teardown() -> None:
    """End a finished job's process at once: with torch and transformers loaded, the interpreter's
    module teardown takes ~1.7 s of a job that may only have run for a few seconds. Called after
    every output file is written and closed; logs and streams are flushed first."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)
