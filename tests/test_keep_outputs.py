"""Finished work survives a failed rerun, and missing outputs are rebuilt (xlie.pipeline.keep, the
Snakefile's onstart/onerror/onsuccess, get_final_output).

Snakemake deletes a job's outputs before the job starts and, when the job fails, records the failed
job's params and input checksums for them. A toy workflow shows the mechanics in seconds; the small
finished workflow (conftest's ``finished``) shows them on the real rules: a failed aggregate write, a
failed evaluation, and deleted eval/ and model/ directories."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_workflow import job_counts, snakemake

pytestmark = pytest.mark.slow

PANX_RUN = "topro/panx/mbert/vanilla/default/en/seed42"
UDPOS_RUN = "topro/udpos/mbert/vanilla/default/en/seed42"
SNAPSHOT_DIR = Path(".snakemake") / "xlie" / "previous"

# A job that fails when its rule's name is in $FAIL; "d" writes part of its directory first and
# then sleeps for $SLEEP seconds (a driver to kill meanwhile).
TOY_SNAKEFILE = """\
from xlie.pipeline.keep import PreviousOutputs

KEPT = PreviousOutputs(workflow)
FAIL = "[[ " + '" $FAIL " == *" {rule} "*' + " ]] && exit 1;"


rule all:
    input:
        "b.txt",
        "d",


rule a:
    input:
        "in.txt",
    output:
        "a.txt",
    params:
        word=config.get("word", "one"),
    shell:
        FAIL + "(cat {input}; echo {params.word}) > {output}"


rule b:
    input:
        "a.txt",
    output:
        "b.txt",
    shell:
        "cat {input} > {output}"


rule d:
    input:
        "in.txt",
    output:
        directory("d"),
    params:
        word=config.get("word", "one"),
    shell:
        "mkdir d; cat {input} > d/x; sleep ${{SLEEP:-0}};" + FAIL + "echo {params.word} > d/y"


onstart:
    KEPT.keep()


onerror:
    print("restored:", " ".join(KEPT.restore()))


onsuccess:
    KEPT.drop()
"""


def toy(workdir: Path, *args: str, fail: str = "", sleep: int = 0, background: bool = False):
    """Snakemake on the toy workflow (``fail``: rule names whose jobs fail); in the background, in a
    process group of its own (killed as a whole: driver and job), else run to the end."""
    env = {**os.environ, "FAIL": f" {fail} ", "SLEEP": str(sleep)}
    command = [sys.executable, "-m", "snakemake", "--cores", "1", "--keep-going", *args]
    if background:
        return subprocess.Popen(
            command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
    return subprocess.run(command, check=False, cwd=workdir, env=env, capture_output=True, text=True)


@pytest.fixture()
def toy_workflow(tmp_path) -> Path:
    (tmp_path / "Snakefile").write_text(TOY_SNAKEFILE, encoding="utf-8")
    (tmp_path / "in.txt").write_text("in\n", encoding="utf-8")
    result = toy(tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path


def stats(workdir: Path, *names: str) -> dict[str, tuple[int, int, str]]:
    """(inode, mtime_ns, text) of each file: the very file, not a copy."""
    return {n: ((s := (workdir / n).stat()).st_ino, s.st_mtime_ns, (workdir / n).read_text()) for n in names}


def toy_planned(workdir: Path, *args: str) -> dict[str, int]:
    return job_counts(toy(workdir, "-n", "--quiet", "rules", *args).stdout)


def test_a_failed_job_gets_its_previous_output_and_record_back(toy_workflow):
    workdir = toy_workflow
    before = stats(workdir, "a.txt", "b.txt", "d/x", "d/y", "d/.snakemake_timestamp")
    result = toy(workdir, "--config", "word=two", fail="a")  # a and d rerun (changed param): a fails
    assert result.returncode != 0 and "restored: a.txt" in result.stdout
    after = stats(workdir, "a.txt", "b.txt", "d/y")
    assert after["a.txt"] == before["a.txt"]  # the same file: hard-linked aside, moved back
    assert after["b.txt"] == before["b.txt"]  # never started: never deleted
    assert after["d/y"][2] == "two\n"  # d succeeded: its new output stays
    assert not (workdir / SNAPSHOT_DIR).exists()
    # Snakemake recorded the failed job's params for a.txt; the previous record is back, so the
    # changed param still reruns a (and b after it), and d, rebuilt with it, does not rerun.
    assert toy_planned(workdir, "--config", "word=two") == {"a": 1, "b": 1, "all": 1}
    assert toy_planned(workdir) == {"d": 1, "all": 1}  # a.txt is the one the old param made


def test_a_failed_job_after_a_killed_driver_gets_the_finished_output_back(toy_workflow):
    workdir = toy_workflow
    before = stats(workdir, "d/x", "d/y", "d/.snakemake_timestamp")
    (workdir / "in.txt").write_text("changed\n", encoding="utf-8")  # d (and a) rerun
    driver = toy(workdir, sleep=60, background=True)
    deadline = time.monotonic() + 60
    while not (workdir / "d" / "x").is_file() or (workdir / "d" / "x").read_text() != "changed\n":
        assert driver.poll() is None and time.monotonic() < deadline, "job d never started"
        time.sleep(0.2)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and its job, no hook runs
    driver.wait()
    assert not (workdir / "d" / "y").exists()  # d is partial, marked incomplete, its finished version aside
    assert toy(workdir, "--unlock").returncode == 0
    result = toy(workdir, "--rerun-incomplete", fail="d")
    assert result.returncode != 0 and "restored: d" in result.stdout
    assert stats(workdir, "d/x", "d/y", "d/.snakemake_timestamp") == before
    assert toy_planned(workdir) == {"d": 1, "all": 1}  # in.txt changed since; no incomplete-file error


# ---------------------------------------------------------------------------------------------
# The real rules, on the small finished workflow

# Python imports sitecustomize at startup: the job whose script name matches gets a file-size limit,
# so that its write fails (EFBIG: Python ignores SIGXFSZ) as on a full disk or quota.
FILE_SIZE_LIMIT = """\
import os, resource, sys

if sys.argv and sys.argv[0].endswith("." + os.environ.get("XLIE_TEST_LIMITED_SCRIPT", "?") + ".py"):
    limit = int(os.environ["XLIE_TEST_FILE_SIZE_LIMIT"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
"""


@pytest.fixture()
def limited_script(tmp_path, monkeypatch):
    """limit(script, bytes): that script's job process may write no file larger than ``bytes``."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(FILE_SIZE_LIMIT, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))

    def limit(script: str, size: int) -> None:
        monkeypatch.setenv("XLIE_TEST_LIMITED_SCRIPT", script)
        monkeypatch.setenv("XLIE_TEST_FILE_SIZE_LIMIT", str(size))

    return limit


def digests(root: Path) -> dict[str, str]:
    """Every result file's sha256; results/checkpoints is left out: it is the working state of jobs
    (training's resume points, an evaluation's partial predictions), which a rerun rewrites by design."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.relative_to(root).parts[0] != "checkpoints"
    }


def planned(workdir: Path) -> dict[str, int]:
    return job_counts(snakemake("-n", "--quiet", "rules", cwd=workdir).stdout)


def test_a_failed_write_of_metrics_csv_keeps_the_previous_file(copy_of_finished, limited_script):
    workdir = copy_of_finished
    before = digests(workdir / "results")
    size = (workdir / "results" / "metrics.csv").stat().st_size
    limited_script("collect_metrics", size // 2)
    result = snakemake("--cores", "2", "--forcerun", "collect_metrics", cwd=workdir, check=False)
    assert result.returncode != 0
    assert "File too large" in (workdir / "logs" / "collect_metrics.log").read_text()
    assert "back as they were before this run" in result.stderr and "results/metrics.csv" in result.stderr
    after = digests(workdir / "results")
    assert {path: after.get(path) for path in before} == before  # every file, metrics.csv included
    assert not (workdir / SNAPSHOT_DIR).exists()
    assert planned(workdir) == {}  # as finished as before the failed run


def test_a_failed_evaluation_keeps_its_previous_predictions_and_reruns_next_time(copy_of_finished, limited_script):
    workdir = copy_of_finished
    eval_dir = workdir / "results" / "runs" / PANX_RUN / "eval"
    # A content change to a test file reruns its run's evaluation, whose write then fails.
    test_de = workdir / "resources" / "demo" / "xtreme" / "panx" / "test-de.tsv"
    sentences = test_de.read_text(encoding="utf-8").rstrip("\n").split("\n\n")
    test_de.write_text("\n\n".join(sentences[:-1]) + "\n", encoding="utf-8")
    before = digests(workdir / "results")
    assert {"de/predictions.tsv", "de/metrics.json", "en/predictions.tsv", "en/metrics.json"} <= set(digests(eval_dir))
    limited_script("evaluate_run", 3000)
    result = snakemake("--cores", "2", cwd=workdir, check=False)
    assert result.returncode != 0
    assert "File too large" in (workdir / "logs" / "evaluate_run" / f"{PANX_RUN}.log").read_text()
    assert "back as they were before this run" in result.stderr
    assert f"results/runs/{PANX_RUN}/eval" in result.stderr.split("back as they were before this run")[1]
    after = digests(workdir / "results")
    assert {path: after.get(path) for path in before} == before
    assert not (workdir / SNAPSHOT_DIR).exists()
    # Snakemake recorded the failed job's input checksums; with the previous record back, the changed
    # test file still reruns the evaluation (and what reads it), and nothing else.
    counts = planned(workdir)
    assert counts["evaluate_run"] == 1 and "train_run" not in counts


def test_deleted_eval_and_model_directories_are_rebuilt(copy_of_finished):
    workdir = copy_of_finished
    results = workdir / "results"
    before = digests(results)
    scores = {
        path: json.loads((results / path).read_text())["scores"] for path in before if path.endswith("metrics.json")
    }
    shutil.rmtree(results / "runs" / PANX_RUN / "eval")
    assert f"Missing output files: results/runs/{PANX_RUN}/eval" in snakemake("-n", cwd=workdir).stdout
    shutil.rmtree(results / "runs" / PANX_RUN / "model")
    assert f"Missing output files: results/runs/{PANX_RUN}/model" in snakemake("-n", cwd=workdir).stdout
    snakemake("--cores", "2", cwd=workdir)
    after = digests(results)
    assert set(before) <= set(after)
    rebuilt = {path: json.loads((results / path).read_text())["scores"] for path in scores}
    assert rebuilt == scores
    # Training and evaluation are deterministic on CPU: the same weights, predictions and tables;
    # the other run's files were not touched at all.
    for path in before:
        if path.endswith(("model.safetensors", "predictions.tsv", "metrics.csv")) or "udpos" in path:
            assert after[path] == before[path], path
    assert planned(workdir) == {}
