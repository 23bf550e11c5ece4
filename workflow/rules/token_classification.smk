# Vanilla zero-shot token classification (mBERT/XLM-R families): train once on the source
# language, select on source dev, evaluate on every target language of the run.


# Fine-tune a token classifier. Checkpoints live outside the declared output so a killed
# job resumes from its last checkpoint instead of starting over.
rule train_token_classifier:
    input:
        model_input,
        train_data,
    output:
        model=directory(
            "results/runs/{paper}/{task}/{model}/{method}/{source}/seed{seed}/model"
        ),
    log:
        "logs/train_token_classifier/{paper}/{task}/{model}/{method}/{source}/seed{seed}.log",
    benchmark:
        "benchmarks/train_token_classifier/{paper}/{task}/{model}/{method}/{source}/seed{seed}.tsv"
    wildcard_constraints:
        method="vanilla",
    conda:
        "../../envs/xlie.yaml"
    resources:
        gpu=1,
    params:
        run=run_dict,
        model_path=model_path,
        checkpoints="results/checkpoints/{paper}/{task}/{model}/{method}/{source}/seed{seed}",
    script:
        "../scripts/train_token_classifier.py"


# Predict every target language with one loaded model (one job per run, not per target:
# it saves a process start and a model load per language) and score each cell.
rule evaluate_token_classifier:
    input:
        model="results/runs/{paper}/{task}/{model}/{method}/{source}/seed{seed}/model",
        data=eval_data,
    output:
        cells=directory(
            "results/runs/{paper}/{task}/{model}/{method}/{source}/seed{seed}/eval"
        ),
    log:
        "logs/evaluate_token_classifier/{paper}/{task}/{model}/{method}/{source}/seed{seed}.log",
    wildcard_constraints:
        method="vanilla",
    conda:
        "../../envs/xlie.yaml"
    resources:
        gpu=1,
    params:
        run=run_dict,
        targets=run_targets,
    script:
        "../scripts/evaluate_token_classifier.py"
