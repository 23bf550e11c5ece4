"""A toy paper plugged in only by the tests' config (tests/configs/example_paper.yaml): proof that a
paper is a package — this folder, a config block naming it, nothing edited elsewhere.

Topic classification of a few shipped sentences (sport / weather, English and German) with a
lexicon of the base model's tokenizer pieces."""

from xlie.pipeline.registry import MethodSpec, register_method, register_metric, register_task

register_task("toy_topic", "example_paper.tasks:TOY_TOPIC")
register_metric("toy_topic", "accuracy", "accuracy over sentences")
register_method(
    "lexicon",
    "encoder",
    MethodSpec(
        "lexicon",
        "example_paper.methods.lexicon",
        "example_paper.params:LexiconParams",
        "lexicon",
        frozenset({"bert", "xlmr"}),
        frozenset({"classification"}),
    ),
)
