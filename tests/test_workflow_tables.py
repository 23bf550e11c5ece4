"""The aggregation rules as a user drives them: one table alone, and a caption edit reruns one table."""

import sys

import pytest
import yaml

from test_workflow import job_counts, snakemake, workdir  # noqa: F401  (fixture)


def test_one_table_builds_alone(workdir):  # noqa: F811
    out = snakemake("-n", "results/tables/topro_udpos_encoders.tex", "--quiet", "rules", cwd=workdir).stdout
    counts = job_counts(out)
    # Its own runs only (mBERT and XLM-R x Vanilla, ToPro, PT, one seed), no global metrics.csv.
    assert counts == {
        "build_tiny_models": 1,
        "train_run": 6,
        "evaluate_run": 6,
        "collect_table_metrics": 1,
        "render_table": 1,
    }


@pytest.mark.slow
def test_caption_change_reruns_only_that_table(workdir):  # noqa: F811
    sys.path.insert(0, str(workdir / "tests"))
    from fake_runs import write_fake_runs

    write_fake_runs(workdir)
    tables = ["results/tables/topro_udpos_encoders.tex", "results/tables/topro_udpos_mt5.tex"]
    snakemake("--cores", "2", *tables, cwd=workdir)
    assert all((workdir / t).is_file() for t in tables)
    text = (workdir / tables[0]).read_text()
    assert "Vanilla / mBERT" in text and r"\resizebox" not in text

    override = workdir / "caption.yaml"
    override.write_text(
        yaml.safe_dump({"papers": {"topro": {"tables": {"udpos_encoders": {"caption": "New caption."}}}}})
    )
    out = snakemake("-n", *tables, "--configfile", str(override), cwd=workdir).stdout
    assert job_counts(out) == {"render_table": 1}, out
    planned = [line for line in out.splitlines() if line.strip().startswith("output:")]
    assert len(planned) == 1 and "results/tables/topro_udpos_encoders.tex" in planned[0], planned
