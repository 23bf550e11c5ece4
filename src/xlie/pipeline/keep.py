"""Finished outputs kept through a failed rerun.

Snakemake deletes a job's declared outputs before the job starts, and when the job fails it records
the failed job's params and input checksums as those outputs' metadata. A rerun that fails would
therefore lose the previous model, predictions or table, and a copy put back by hand would look up to
date. :class:`PreviousOutputs` closes both gaps from the Snakefile's hooks, in the driver:

- ``keep()`` (onstart: the DAG is built, no job has started) hard-links the existing outputs of
  every job about to run into ``.snakemake/xlie/previous/<path>`` (file by file for directories; a
  copy only where linking fails, e.g. across filesystems) and holds their metadata records. Snakemake
  unlinks the outputs; the links keep the data.
- ``restore()`` (onerror) puts back every kept output that is now missing or left incomplete, with
  its previous metadata record, so that the next run plans that job again exactly when it would have
  planned it before the failed one (a changed param or input still reruns it; a forced rerun does
  not). An output its job rebuilt in this run stays.
- ``drop()`` (onsuccess) removes the links.

A driver killed outright (kill -9) runs no hook: its links stay, and the next run that includes the
job keeps them while the output is missing or partial, so a later failure still puts the finished
output back. Outputs in remote storage are left to Snakemake.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SNAPSHOT_DIR = Path(".snakemake") / "xlie" / "previous"


@dataclass
class KeptOutput:
    """One output of a job about to run, kept in ``snapshot``."""

    output: Any  # Snakemake's IOFile: the output path and its metadata key
    job: Any  # the job that writes it (Snakemake's incomplete markers are asked per job)
    record: Any  # Snakemake's metadata record of the kept output (None: it had none)
    snapshot: Path


class PreviousOutputs:
    """The outputs one Snakemake run is about to replace (see the module docstring)."""

    def __init__(self, workflow: Any, root: Path | str = SNAPSHOT_DIR):
        self.workflow = workflow
        self.root = Path(root)
        self.kept: list[KeptOutput] = []

    def snapshot_path(self, output: str | os.PathLike) -> Path:
        path = Path(output)
        return self.root / (path.relative_to(path.anchor) if path.is_absolute() else path)

    def keep(self) -> list[KeptOutput]:
        persistence = self.workflow.persistence
        self.kept = []
        for job in self.workflow.dag.needrun_jobs():
            partial = self._incomplete(job)
            for output in job.output:
                if output.is_storage:
                    continue
                snapshot = self.snapshot_path(output)
                if os.path.lexists(output) and str(output) not in partial:
                    _remove(snapshot)
                    link_tree(Path(output), snapshot)
                elif not os.path.lexists(snapshot):
                    continue  # nothing finished to keep (a partial output is not worth keeping)
                # A kept link without its output is a previous run's, killed before any hook ran:
                # Snakemake's record of the output is still that run's previous one.
                self.kept.append(KeptOutput(output, job, persistence.metadata(output), snapshot))
        return self.kept

    def restore(self) -> list[str]:
        """Put back every kept output that is missing or incomplete; the paths put back."""
        restored = []
        partial_by_job: dict[int, set[str]] = {}
        for kept in self.kept:
            if not os.path.lexists(kept.snapshot):
                continue
            partial = partial_by_job.setdefault(id(kept.job), self._incomplete(kept.job))
            output = str(kept.output)
            if os.path.lexists(output) and output not in partial:
                continue  # rebuilt by this run, or its job never started
            _remove(Path(output))
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(kept.snapshot, output)  # a rename on one filesystem: mtimes stay
            self._restore_record(kept)
            restored.append(output)
        self.drop()
        return restored

    def drop(self) -> None:
        for kept in self.kept:
            _remove(kept.snapshot)
            _prune_empty_parents(kept.snapshot.parent, self.root)
        self.kept = []

    def _incomplete(self, job: Any) -> set[str]:
        """The job's outputs that exist but Snakemake marks incomplete (its job started, never finished)."""
        return {str(f) for f in self.workflow.async_run(self.workflow.persistence.incomplete(job))}

    def _restore_record(self, kept: KeptOutput) -> None:
        """The kept output's metadata record back in place of the failed job's (and no incomplete marker).
        Snakemake has no public call that writes a record; _get_key/_write_record are what every
        persistence backend implements (file and database alike)."""
        persistence = self.workflow.persistence
        persistence.cleanup_metadata(kept.output)
        if kept.record is not None:
            persistence._write_record(persistence._get_key(kept.output), kept.record)


def link_tree(source: Path, target: Path) -> None:
    """``target`` a hard-linked twin of ``source`` (a file or a directory tree, symlinks as links, the
    directories' mtimes kept); a copy of each file that cannot be linked."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_symlink() or not source.is_dir():
        _link_file(source, target)
        return
    target.mkdir()
    for child in sorted(source.iterdir()):
        link_tree(child, target / child.name)
    shutil.copystat(source, target)


def _link_file(source: Path, target: Path) -> None:
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
        return
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or one without hard links
        shutil.copy2(source, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def _prune_empty_parents(directory: Path, root: Path) -> None:
    """Remove ``directory`` and its parents up to and including ``root`` while they are empty."""
    root = root.resolve()
    directory = directory.resolve()
    while directory == root or root in directory.parents:
        try:
            directory.rmdir()
        except OSError:  # not empty, or gone
            if directory.exists():
                return
        directory = directory.parent
