"""Prompt-XRE (IJCNN 2023): mBART-large-cc25 with nine prompt templates for cross-lingual relation
classification on ACE05 (En/Zh/Ar) and a WMT17 En-Zh relation dataset built with a parser.
Registers its task types, metrics, method and preflight checks (xlie.pipeline.registry)."""

from xlie.papers.prompt_xre.templates import TEMPLATES
from xlie.pipeline.registry import MethodSpec, register_hook, register_method, register_metric, register_task

register_task("ace05", "xlie.papers.prompt_xre.tasks:ACE05")
register_task("wmt_xre", "xlie.papers.prompt_xre.tasks:WMT_XRE")
# One label per instance, so accuracy is micro-F1 over the labels, the paper's "F1".
register_metric("ace05", "accuracy", "accuracy (= micro-F1, the paper's F1) over relation instances")
register_metric("wmt_xre", "accuracy", "accuracy over relation instances (= micro-F1 over labels)")
register_method(
    "prompt",
    "seq2seq",
    MethodSpec(
        "mbart_relation",
        "xlie.papers.prompt_xre.methods.mbart_relation",
        "xlie.papers.prompt_xre.params:MBartRelationParams",
        "mbart_relation",
        frozenset({"mbart"}),
        frozenset({"relation"}),
        variant_param="template",
        variants=tuple(TEMPLATES),  # the baseline ("none") and the nine templates of Table I
    ),
)
register_hook("preflight_checks", "xlie.papers.prompt_xre.preflight:preflight_checks")
