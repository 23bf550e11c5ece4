# Zero-shot cross-lingual sequence labelling (ToPro's tables): train once on the source
# language, select on source dev, evaluate on every target language of the run. The method
# (Vanilla, ToPro, prefix tuning, the LLM study) is a wildcard; xlie.methods dispatches it.


# Fine-tune one run. Checkpoints live outside the declared output so a killed job resumes
# from its last checkpoint instead of starting over (only when its manifest matches these
# options, data and code: xlie.checkpoints). Every option the job uses is a param, so
# changing one reruns this run's training, its evaluation and the aggregation.
rule train_tagger:
    input:
        model_input,
        train_data,
    output:
        model=directory(
            "results/runs/{paper}/{task}/{model}/{method}/{source}/seed{seed}/model"
        ),
    log:
        "logs/train_tagger/{paper}/{task}/{model}/{method}/{source}/seed{seed}.log",
    benchmark:
        "benchmarks/train_tagger/{paper}/{task}/{model}/{method}/{source}/seed{seed}.tsv"
    wildcard_constraints:
        method=TRAINED_METHODS,
    conda:
        "../../envs/xlie.yaml"
    resources:
        gpu=1,
    params:
        options=train_options,
        checkpoints="results/checkpoints/{paper}/{task}/{model}/{method}/{source}/seed{seed}",
    script:
        "../scripts/train_tagger.py"


# Predict every target language with one loaded model (one job per run, not per target:
# it saves a process start and a model load per language) and score each cell. Zero-shot
# methods evaluate the base model directly.
rule evaluate_tagger:
    input:
        model=evaluated_model,
        data=eval_data,
    output:
        cells=directory(
            "results/runs/{paper}/{task}/{model}/{method}/{source}/seed{seed}/eval"
        ),
    log:
        "logs/evaluate_tagger/{paper}/{task}/{model}/{method}/{source}/seed{seed}.log",
    benchmark:
        "benchmarks/evaluate_tagger/{paper}/{task}/{model}/{method}/{source}/seed{seed}.tsv"
    conda:
        "../../envs/xlie.yaml"
    resources:
        gpu=1,
    params:
        options=eval_options,
        model_dir=evaluated_model_path,
    script:
        "../scripts/evaluate_tagger.py"
