"""AlignXIE (2024): a code-style LLM (Baichuan2-7B-Base + LoRA) for cross-lingual IE, with a
translated-instance alignment phase on ParallelNER; MultiCoNER and NER/RE/ED/EAE benchmarks.
Registers its task type, method and preflight checks (xlie.pipeline.registry)."""

from xlie.papers.alignxie.params import ALIGNMENTS
from xlie.pipeline.registry import MethodSpec, register_hook, register_method, register_task

register_task("codeie", "xlie.papers.alignxie.tasks:CODEIE")
# Two-phase LoRA instruction tuning of a causal LM; the variant with the TIP alignment phase and
# the ablation without it.
register_method(
    "alignxie",
    "causal",
    MethodSpec(
        "alignxie",
        "xlie.papers.alignxie.methods.alignxie",
        "xlie.papers.alignxie.params:LoraParams",
        "alignxie_lora",
        frozenset({"causal"}),
        frozenset({"codeie"}),
        variant_param="alignment",
        variants=ALIGNMENTS,
        train_inputs="xlie.papers.alignxie.paths:alignment_inputs",
    ),
)
register_hook("preflight_checks", "xlie.papers.alignxie.preflight:preflight_checks")
