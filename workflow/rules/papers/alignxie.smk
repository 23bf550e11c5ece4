# AlignXIE (2024): its data. Code-style IE sets, ParallelNER and TIP, written where its task
# type reads them (paths from xlie.papers.alignxie.paths).


include: "alignxie_common.smk"


# One MultiCoNER-style CoNLL file (data.codeie.multiconer) -> code-style JSONL with labels mapped
# onto the schema's English classes, and its statistics (sentences, entities per type).
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
        "../../../envs/xlie.yaml"
    script:
        "../../scripts/papers/alignxie/convert_multiconer.py"


# ParallelNER: the source set's train sentences translated in three stages (translate, repair
# spans, rewrite) by the configured translator; replies cached across reruns.
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
        "../../../envs/xlie.yaml"
    params:
        translator=parallel_ner_translator(),
        max_samples=PARALLEL_NER["max_samples"],
        cache_dir=codeie_paths.PARALLEL_CACHE_DIR,
        source_format=parallel_ner_source_format,
    script:
        "../../scripts/papers/alignxie/build_parallel_ner.py"


# Phase-1 data: translated instance prediction (TIP), both directions of every ParallelNER pair
# and seed pair, as {"prompt", "completion"} lines; drops counted by reason. Pairs from a dataset
# the paper used (WikiNEuRal, CLUENER2020) are written in that dataset's schema, the others in
# data.codeie.schema; the log prints the ParallelNER size beside the paper's 257,190.
rule build_tip:
    input:
        parallel=parallel_ner_files(),
        seed=parallel_ner_seed(),
        schema=CODEIE["schema"],
        source_schemas=sorted(set(parallel_ner_schemas().values())),
    output:
        instances=codeie_paths.TIP_PATH,
        stats=codeie_paths.TIP_STATS_PATH,
    log:
        "logs/build_tip.log",
    localrule: True
    conda:
        "../../../envs/xlie.yaml"
    params:
        schemas=parallel_ner_schemas(),
    script:
        "../../scripts/papers/alignxie/build_tip.py"
