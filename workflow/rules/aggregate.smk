# From cells to what a reader sees: the cell sheet, per-table and global metrics CSVs, LaTeX
# and HTML tables beside the papers' numbers, diagnostics, plots. Each table reads only its own
# cells' metrics and declares its config fragment as params, so a table builds (and reruns) alone.


# The cell sheet: exactly what this config will run, one row per table cell.
rule write_cell_sheet:
    output:
        report(
            "results/cells.tsv",
            caption="../report/cells.rst",
            category="Provenance",
            subcategory="Inputs",
            labels={"file": "cell sheet"},
        ),
    log:
        "logs/write_cell_sheet.log",
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    params:
        cells=CELLS,
    script:
        "../scripts/write_cell_sheet.py"


# The resolved config (preset + user keys + schema defaults) of the run that last wrote metrics.csv.
# Every config_sha256 a result names is kept by the job that names it, as results/configs/<sha256>.yaml,
# so a partial rerun never leaves a name pointing at an overwritten config. Not a param: the config
# as a whole would rerun this on options no job uses (training.keep_checkpoints, a caption).
rule save_resolved_config:
    input:
        "results/metrics.csv",
    output:
        report(
            "results/config.resolved.yaml",
            caption="../report/config.rst",
            category="Provenance",
            subcategory="Inputs",
            labels={"file": "resolved config"},
        ),
    log:
        "logs/save_resolved_config.log",
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    params:
        configs_dir="results/configs",
    script:
        "../scripts/save_resolved_config.py"


# One table's cells' metrics.json into a tidy CSV (one row per cell and metric).
rule collect_table_metrics:
    input:
        evals=table_eval_dirs,
    output:
        "results/metrics/{paper}_{table}.csv",
    log:
        "logs/collect_table_metrics/{paper}_{table}.log",
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    params:
        cells=table_cells,
        metric=table_metric,
    script:
        "../scripts/collect_table_metrics.py"


# Every table's metrics in one CSV: one row per (cell, metric), shared cells once.
rule collect_metrics:
    input:
        [f"results/metrics/{row.paper}_{row.table}.csv" for row in TABLES.itertuples()],
    output:
        report(
            "results/metrics.csv",
            caption="../report/metrics.rst",
            category="Provenance",
            subcategory="Metrics",
            labels={"file": "all metrics"},
        ),
    log:
        "logs/collect_metrics.log",
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    script:
        "../scripts/collect_metrics.py"


# One table in LaTeX (booktabs) and HTML, beside the paper's numbers where it has them.
rule render_table:
    input:
        metrics="results/metrics/{paper}_{table}.csv",
        reported=reported_file,
    output:
        tex=report(
            "results/tables/{paper}_{table}.tex",
            caption="../report/table_tex.rst",
            category="{paper} tables",
            subcategory="LaTeX sources",
            labels={"table": "{table}", "format": "LaTeX"},
        ),
        html=report(
            "results/tables/{paper}_{table}.html",
            caption="../report/table.rst",
            category="{paper} tables",
            subcategory="{table}",
            labels={"table": "{table}", "format": "HTML"},
        ),
    log:
        "logs/render_table/{paper}_{table}.log",
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    params:
        table=table_options,
    script:
        "../scripts/render_table.py"


# Per paper: the share of fallback / unparsed / truncated predictions of every cell.
rule render_diagnostics:
    input:
        paper_table_metrics,
    output:
        tex="results/tables/{paper}_diagnostics.tex",
        html=report(
            "results/tables/{paper}_diagnostics.html",
            caption="../report/diagnostics.rst",
            category="{paper} tables",
            subcategory="diagnostics",
            labels={"table": "diagnostics", "format": "HTML"},
        ),
    log:
        "logs/render_diagnostics/{paper}.log",
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    params:
        paper=paper_options,
    script:
        "../scripts/render_diagnostics.py"


# All tables in one LaTeX document that compiles with pdflatex (Type 1 fonts only).
rule assemble_tables_document:
    input:
        table_outputs("tex"),
        [f"results/tables/{p}_diagnostics.tex" for p in TABLES["paper"].unique()],
    output:
        report(
            "results/tables/tables.tex",
            caption="../report/tables_document.rst",
            category="Provenance",
            subcategory="LaTeX",
            labels={"file": "tables.tex"},
        ),
    log:
        "logs/assemble_tables_document.log",
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    script:
        "../scripts/assemble_tables_document.py"


# One bar chart per table: the headline metric per target language.
rule plot_table:
    input:
        metrics="results/metrics/{paper}_{table}.csv",
    output:
        png=report(
            "results/plots/{paper}_{table}.png",
            caption="../report/plot.rst",
            category="{paper} plots",
            subcategory="{table}",
            labels={"table": "{table}", "plot": "per language"},
        ),
        pdf=report(
            "results/plots/{paper}_{table}.pdf",
            caption="../report/plot.rst",
            category="{paper} plots",
            subcategory="PDF (for papers)",
            labels={"table": "{table}", "plot": "per language"},
        ),
    log:
        "logs/plot_table/{paper}_{table}.log",
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    params:
        table=plot_options,
    script:
        "../scripts/plot_table.py"


# The plots a paper asks for some of its tables (registry hook table_plots): the figure and
# the CSV of what it plots, e.g. results/plots/topro_panx_encoders_gain.png.
rule plot_extra:
    input:
        metrics="results/metrics/{paper}_{table}.csv",
    output:
        png=report(
            "results/plots/{paper}_{table}_{suffix}.png",
            caption="../report/extra_plot.rst",
            category="{paper} plots",
            subcategory="{table}",
            labels={"table": "{table}", "plot": "{suffix}"},
        ),
        pdf="results/plots/{paper}_{table}_{suffix}.pdf",
        data="results/plots/{paper}_{table}_{suffix}.csv",
    log:
        "logs/plot_extra/{paper}_{table}_{suffix}.log",
    wildcard_constraints:
        suffix=EXTRA_PLOT_SUFFIXES,
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    params:
        table=plot_options,
        plot=extra_plot,
    script:
        "../scripts/plot_extra.py"


# A method's variants x the table's columns, mean test score per cell (tables with heatmap: true).
rule plot_variant_heatmap:
    input:
        metrics="results/metrics/{paper}_{table}.csv",
    output:
        png=report(
            "results/plots/{paper}_{table}_heatmap.png",
            caption="../report/heatmap.rst",
            category="{paper} plots",
            subcategory="{table}",
            labels={"table": "{table}", "plot": "variants heatmap"},
        ),
        pdf="results/plots/{paper}_{table}_heatmap.pdf",
    log:
        "logs/plot_variant_heatmap/{paper}_{table}.log",
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    params:
        table=plot_options,
    script:
        "../scripts/plot_variant_heatmap.py"
