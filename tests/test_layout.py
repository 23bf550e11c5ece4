"""The house rules that keep a paper a package: the core names no paper, and the workflow passes
Snakemake's linter and the formatters."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = [
    *sorted((ROOT / "src/xlie/pipeline").glob("*.py")),
    *sorted((ROOT / "src/xlie/report").glob("*.py")),
    *[ROOT / "workflow/rules" / f"{name}.smk" for name in ("common", "models", "training", "aggregate")],
    *sorted((ROOT / "workflow/scripts").glob("*.py")),
    ROOT / "workflow/schemas/config.schema.yaml",
]
PAPER_NAMES = re.compile(r"topro|prompt_xre|prompt-xre|alignxie|ace05|panx|pan-x|udpos|multiconer", re.IGNORECASE)


def _code(line: str) -> str:
    """The line without its comment (a comment may name an example)."""
    return line.split("#", 1)[0] if not line.lstrip().startswith(("description", "'", '"')) else line


def test_the_core_names_no_paper():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in CORE
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PAPER_NAMES.search(_code(line)) and "e.g." not in line
    ]
    assert not found, "the core names a paper:\n" + "\n".join(found)


def test_no_paper_imports_another():
    papers = sorted(p.name for p in (ROOT / "src/xlie/papers").iterdir() if (p / "__init__.py").is_file())
    found = [
        f"{path.relative_to(ROOT)}: imports xlie.papers.{other}"
        for paper in papers
        for path in (ROOT / "src/xlie/papers" / paper).rglob("*.py")
        for other in papers
        if other != paper and f"xlie.papers.{other}" in path.read_text(encoding="utf-8")
    ]
    assert not found, "\n".join(found)


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_snakemake_lint_is_clean():
    result = _run(sys.executable, "-m", "snakemake", "--lint", "--cores", "1")
    assert result.returncode == 0 and "Lints for" not in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("snakefmt") is None, reason="snakefmt not installed")
def test_snakefmt_is_clean():
    result = _run("snakefmt", "--check", "Snakefile", "workflow")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff not installed")
def test_python_is_formatted():
    result = _run("ruff", "format", "--check", "src", "tests", "tools", "workflow/scripts")
    assert result.returncode == 0, result.stdout + result.stderr
