# From cells to what a reader sees: the cell sheet, a tidy metrics CSV, LaTeX tables beside
# the papers' numbers, plots.


# The cell sheet: exactly what this config will run, one row per table cell.
rule write_cell_sheet:
    output:
        report(
            "results/cells.tsv",
            caption="../report/cells.rst",
            category="Provenance",
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


# Every cell's metrics.json into one tidy CSV (one row per cell and metric).
rule collect_metrics:
    input:
        cells="results/cells.tsv",
        evals=eval_dirs,
    output:
        report(
            "results/metrics.csv",
            caption="../report/metrics.rst",
            category="Provenance",
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
        metrics="results/metrics.csv",
    output:
        tex=report(
            "results/tables/{paper}_{table}.tex",
            caption="../report/table_tex.rst",
            category="Tables",
            subcategory="LaTeX source",
            labels={"paper": "{paper}", "table": "{table}"},
        ),
        html=report(
            "results/tables/{paper}_{table}.html",
            caption="../report/table.rst",
            category="Tables",
            subcategory="Rendered",
            labels={"paper": "{paper}", "table": "{table}"},
        ),
    log:
        "logs/render_table/{paper}_{table}.log",
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    script:
        "../scripts/render_table.py"


# All tables in one LaTeX document that compiles with pdflatex.
rule assemble_tables_document:
    input:
        table_outputs("tex"),
    output:
        "results/tables/tables.tex",
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
        metrics="results/metrics.csv",
    output:
        png=report(
            "results/plots/{paper}_{table}.png",
            caption="../report/plot.rst",
            category="Plots",
            labels={"paper": "{paper}", "table": "{table}"},
        ),
        pdf="results/plots/{paper}_{table}.pdf",
    log:
        "logs/plot_table/{paper}_{table}.log",
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    script:
        "../scripts/plot_table.py"


# ToPro's gain over Vanilla per language, languages grouped by family (tables with both).
rule plot_method_gain:
    input:
        metrics="results/metrics.csv",
    output:
        png=report(
            "results/plots/{paper}_{table}_gain.png",
            caption="../report/gain.rst",
            category="Plots",
            subcategory="ToPro gain",
            labels={"paper": "{paper}", "table": "{table}"},
        ),
        pdf="results/plots/{paper}_{table}_gain.pdf",
        gains="results/plots/{paper}_{table}_gain.csv",
    log:
        "logs/plot_method_gain/{paper}_{table}.log",
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    script:
        "../scripts/plot_method_gain.py"
