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
