# Prompt-XRE (2023): its data, ACE05 and WMT17-EnZh XRE, written where its task types read
# them (xlie.papers.prompt_xre.tasks).


include: "prompt_xre_common.smk"


# ACE05: the user's ACE05-Processor output (data.ace05.dir), or with data.ace05.synthetic
# SYNTHETIC data in the same format written into that directory.
if config["data"]["ace05"]["synthetic"]:

    rule make_synthetic_ace05:
        output:
            directory(config["data"]["ace05"]["dir"]),
        log:
            "logs/make_synthetic_ace05.log",
        localrule: True
        conda:
            "../../../envs/xlie.yaml"
        params:
            seed=config["data"]["ace05"]["synthetic_seed"],
        script:
            "../../scripts/papers/prompt_xre/make_synthetic_ace05.py"


# One instance per relation mention with two arguments, by data.ace05.protocol ("authors": their
# extract_ace05.py, by position; "strict": exactly Arg-1 and Arg-2, by role); every mention left
# out is counted by reason, every kept one of a kind the protocols treat differently by case, in
# stats.tsv and, per file, in problems.tsv.
rule ingest_ace05:
    input:
        ace05_processed_input,
    output:
        splits=ace05_split_files(),
        stats=report(
            f"{ACE05_OUT}/stats.tsv",
            caption="../../report/papers/prompt_xre/ace05_stats.rst",
            category="Data",
            subcategory="Prompt-XRE",
            labels={"file": "ACE05 instances"},
        ),
        problems=f"{ACE05_OUT}/problems.tsv",
        comparison=f"{ACE05_OUT}/paper_comparison.tsv",
    log:
        "logs/ingest_ace05.log",
    localrule: True
    conda:
        "../../../envs/xlie.yaml"
    params:
        root=config["data"]["ace05"]["dir"],
        protocol=config["data"]["ace05"]["protocol"],
    script:
        "../../scripts/papers/prompt_xre/ingest_ace05.py"


# WMT17-EnZh XRE: parallel text (local file or hub) -> English UD parse -> ?a-?b patterns
# -> the top labels -> per-label train/valid/test.
rule build_wmt_xre:
    input:
        wmt_xre_input,
    output:
        splits=[wmt_xre_split_file(split) for split in WMT_XRE_SPLITS],
        labels=wmt_xre_labels_file(),
        stats=report(
            f"{WMT_XRE_OUT}/stats.json",
            caption="../../report/papers/prompt_xre/wmt_xre_stats.rst",
            category="Data",
            subcategory="Prompt-XRE",
            labels={"file": "WMT17-EnZh XRE construction"},
        ),
    log:
        "logs/build_wmt_xre.log",
    conda:
        "../../../envs/xlie.yaml"
    params:
        options=config["data"]["wmt_xre"],
    script:
        "../../scripts/papers/prompt_xre/build_wmt_xre.py"
