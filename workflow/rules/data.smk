# Data the hub does not have: ToPro's UDPOS languages from UD 2.7 (lt pl uk ro wo), converted
# from a local Universal Dependencies release (config key data.ud.dir) into the XTREME layout,
# where source 'local' or 'auto' reads them.


rule convert_ud:
    input:
        ud_test_treebanks,
    output:
        f"{XTREME_DIR}/udpos/test-{{ud_lang}}.tsv",
    log:
        "logs/convert_ud/{ud_lang}.log",
    wildcard_constraints:
        ud_lang="|".join(UD27_LANGUAGES),
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    params:
        ud_dir=config["data"]["ud"]["dir"],
    script:
        "../scripts/convert_ud.py"


# Prompt-XRE's ACE05: the user's ACE05-Processor output (data.ace05.dir), or with
# data.ace05.synthetic SYNTHETIC data in the same format written into that directory.
if config["data"]["ace05"]["synthetic"]:

    rule make_synthetic_ace05:
        output:
            directory(config["data"]["ace05"]["dir"]),
        log:
            "logs/make_synthetic_ace05.log",
        localrule: True
        conda:
            "../../envs/xlie.yaml"
        params:
            seed=config["data"]["ace05"]["synthetic_seed"],
        script:
            "../scripts/make_synthetic_ace05.py"


# One instance per relation mention with exactly Arg-1 and Arg-2 (the authors' rule); every
# mention left out is counted by reason in stats.tsv and, per file, in problems.tsv.
rule ingest_ace05:
    input:
        ace05_processed_input,
    output:
        splits=ace05_split_files(),
        stats=report(
            f"{ACE05_OUT}/stats.tsv",
            caption="../report/ace05_stats.rst",
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
        "../../envs/xlie.yaml"
    params:
        root=config["data"]["ace05"]["dir"],
    script:
        "../scripts/ingest_ace05.py"


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
            caption="../report/wmt_xre_stats.rst",
            category="Data",
            subcategory="Prompt-XRE",
            labels={"file": "WMT17-EnZh XRE construction"},
        ),
    log:
        "logs/build_wmt_xre.log",
    conda:
        "../../envs/xlie.yaml"
    params:
        options=config["data"]["wmt_xre"],
    script:
        "../scripts/build_wmt_xre.py"


# AlignXIE: one MultiCoNER-style CoNLL file (data.codeie.multiconer) -> code-style JSONL with
# labels mapped onto the schema's English classes, and its statistics (sentences, entities per type).
rule convert_multiconer:
    input:
        conll=multiconer_conll,
        schema=CODEIE["schema"],
    output:
        records=codeie_paths.set_path("{lang}", "{split}"),
        stats=codeie_paths.set_stats_path("{lang}", "{split}"),
    log:
        "logs/convert_multiconer/{lang}_{split}.log",
    wildcard_constraints:
        lang="|".join(CODEIE["multiconer"]["languages"]) or "none",
        split="|".join(MULTICONER_SPLITS),
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    script:
        "../scripts/convert_multiconer.py"


# AlignXIE's ParallelNER: the source set's train sentences translated in three stages (translate,
# repair spans, rewrite) by the configured translator; replies cached across reruns.
rule build_parallel_ner:
    input:
        source=parallel_ner_source,
        model=parallel_ner_model_input,
    output:
        pairs=codeie_paths.parallel_path("{src}-{tgt}"),
        source=codeie_paths.parallel_source_path("{src}-{tgt}"),
        stats=codeie_paths.parallel_stats_path("{src}-{tgt}"),
    log:
        "logs/build_parallel_ner/{src}-{tgt}.log",
    wildcard_constraints:
        src="[a-z]{2,3}",
        tgt="[a-z]{2,3}",
    conda:
        "../../envs/xlie.yaml"
    params:
        translator=parallel_ner_translator(),
        max_samples=PARALLEL_NER["max_samples"],
        cache_dir=codeie_paths.PARALLEL_CACHE_DIR,
    script:
        "../scripts/build_parallel_ner.py"


# AlignXIE's phase-1 data: translated instance prediction (TIP), both directions of every
# ParallelNER pair and seed pair, as {"prompt", "completion"} lines; drops counted by reason.
rule build_tip:
    input:
        parallel=parallel_ner_files(),
        seed=parallel_ner_seed(),
        schema=CODEIE["schema"],
    output:
        instances=codeie_paths.TIP_PATH,
        stats=codeie_paths.TIP_STATS_PATH,
    log:
        "logs/build_tip.log",
    localrule: True
    conda:
        "../../envs/xlie.yaml"
    script:
        "../scripts/build_tip.py"
