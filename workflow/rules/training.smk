# Train and evaluate every run of the grid, whatever its task type (tagging, relation
# classification, ...) and method: train once on the source language, select on source dev,
# evaluate on every target language of the run. The method (and its variant, e.g. a
# Prompt-XRE template) is a wildcard; xlie.pipeline.methods and xlie.pipeline.tasks dispatch it. Each job's
# gpu, mem_mb, cpus_per_task and runtime (minutes) follow its model and method (config key
# resources, xlie.pipeline.resources), not the rule: one rule trains mBERT and 13B models alike.


# Fine-tune one run. Checkpoints live outside the declared output so a killed job resumes
# from its last checkpoint instead of starting over (only when its manifest matches these
# options, data and code: xlie.pipeline.checkpoints). Every option the job uses is a param, so
# changing one reruns this run's training, its evaluation and the aggregation.
rule train_run:
    input:
        model_input,
        train_data,
    output:
        model=directory(f"results/runs/{RUN_PATH}/model"),
    log:
        f"logs/train_run/{RUN_PATH}.log",
    benchmark:
        f"benchmarks/train_run/{RUN_PATH}.tsv"
    wildcard_constraints:
        method=TRAINED_METHODS,
    conda:
        "../../envs/xlie.yaml"
    resources:
        gpu=job_resource("train", "gpu"),
        mem_mb=job_resource("train", "mem_mb"),
        cpus_per_task=job_resource("train", "cpus_per_task"),
        runtime=job_resource("train", "runtime"),
        attempt=job_attempt,
    params:
        options=train_options,
        checkpoints=f"results/checkpoints/{RUN_PATH}",
    script:
        "../scripts/train_run.py"


# Predict every target language with one loaded model (one job per run, not per target:
# it saves a process start and a model load per language) and score each cell. Zero-shot
# methods evaluate the base model directly. Predictions are stored chunk by chunk outside the
# declared output, in results/checkpoints/<run>/eval (the script derives it from the wildcards: a
# new param would rerun every finished evaluation), so a killed job resumes where it stopped
# (xlie.pipeline.eval_resume).
rule evaluate_run:
    input:
        model=evaluated_model,
        data=eval_data,
    output:
        cells=directory(f"results/runs/{RUN_PATH}/eval"),
    log:
        f"logs/evaluate_run/{RUN_PATH}.log",
    benchmark:
        f"benchmarks/evaluate_run/{RUN_PATH}.tsv"
    conda:
        "../../envs/xlie.yaml"
    resources:
        gpu=job_resource("eval", "gpu"),
        mem_mb=job_resource("eval", "mem_mb"),
        cpus_per_task=job_resource("eval", "cpus_per_task"),
        runtime=job_resource("eval", "runtime"),
    params:
        options=eval_options,
        model_dir=evaluated_model_path,
    script:
        "../scripts/evaluate_run.py"
