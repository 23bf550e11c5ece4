"""AlignXIE (2024): a code-style LLM (Baichuan2-7B-Base + LoRA) for cross-lingual IE, with a
translated-instance alignment phase on ParallelNER; MultiCoNER and NER/RE/ED/EAE benchmarks.
Registers its task type, metrics, method and preflight checks (xlie.pipeline.registry)."""

from xlie.papers.alignxie.params import ALIGNMENTS
from xlie.pipeline.registry import MethodSpec, register_hook, register_method, register_metric, register_task

register_task("codeie", "xlie.papers.alignxie.tasks:CODEIE")
_STRICT = "on exact string tuples (NER: class, span), duplicates as a multiset (xlie's strict protocol)"
register_metric("codeie", "f1", f"micro F1 {_STRICT}")
register_metric("codeie", "precision", f"micro precision {_STRICT}")
register_metric("codeie", "recall", f"micro recall {_STRICT}")
_KNOWCODER = "as KnowCoder's eval.sh computes it (names normalised, duplicates counted, outliers filtered)"
register_metric("codeie", "f1_knowcoder", f"micro F1 {_KNOWCODER}")
register_metric("codeie", "precision_knowcoder", f"micro precision {_KNOWCODER}")
register_metric("codeie", "recall_knowcoder", f"micro recall {_KNOWCODER}")
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
        authors_metric="f1_knowcoder",  # the paper's rows come from KnowCoder's evaluation
    ),
)
register_hook("preflight_checks", "xlie.papers.alignxie.preflight:preflight_checks")
