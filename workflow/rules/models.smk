# Build the demo's tiny models: one tokenizer trained on the demo corpus and a randomly
# initialised model per family, saved with save_pretrained (loaded like any hub id).
# Their sizes and seed are params: changing one rebuilds them and reruns what uses them.
if TINY_FAMILIES:

    rule build_tiny_models:
        input:
            corpus=config["tiny_models"]["corpus_dir"],
        output:
            models=directory(
                expand("results/models/tiny/{family}", family=TINY_FAMILIES)
            ),
        log:
            "logs/build_tiny_models.log",
        conda:
            "../../envs/xlie.yaml"
        params:
            families=TINY_FAMILIES,
            options=jobs.tiny_model_options(config),
        script:
            "../scripts/build_tiny_models.py"


# Convert a checkpoint whose layout needs the repository's own code (models.<m>.convert, e.g.
# Baichuan2-7B) into one transformers loads natively; every job of the model loads the copy.
# A hub id is fetched inside the job (HF_HUB_OFFLINE: from the hub cache only).
if CONVERTED_MODELS:

    rule convert_model:
        input:
            source=conversion_source,
        output:
            model=directory(f"{jobs.CONVERTED_MODELS_DIR}/{{model}}"),
        log:
            "logs/convert_model/{model}.log",
        wildcard_constraints:
            model="|".join(CONVERTED_MODELS),
        conda:
            "../../envs/xlie.yaml"
        resources:
            mem_mb=conversion_mem_mb,
        params:
            options=conversion_options,
        script:
            "../scripts/convert_model.py"
