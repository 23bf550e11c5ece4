"""ToPro (EACL 2024): token-level prompt decomposition for zero-shot cross-lingual NER (PAN-X) and
POS (UDPOS) with mBERT, XLM-R and mT5; baselines Vanilla and prefix tuning; a zero-shot LLM study.
Registers its task types, metrics, methods and report hooks (xlie.pipeline.registry)."""

from xlie.pipeline.registry import MethodSpec, register_hook, register_method, register_metric, register_task

_M = "xlie.papers.topro.methods."
_ENCODERS = frozenset({"bert", "xlmr"})
# Each method's Params class (xlie.papers.topro.params, torch-free).
_PARAMS = {
    "token_classification": "TokenClassificationParams",
    "vanilla_seq2seq": "VanillaSeq2SeqParams",
    "topro_encoder": "ToProEncoderParams",
    "topro_seq2seq": "ToProSeq2SeqParams",
    "prefix_tuning": "PrefixTuningParams",
    "llm_zero_shot": "LLMParams",
}


def _spec(name: str, families, **kw) -> MethodSpec:
    params = f"xlie.papers.topro.params:{_PARAMS[name]}"
    return MethodSpec(name, _M + name, params, kw.pop("params_key", name), frozenset(families), **kw)


register_task("panx", "xlie.papers.topro.tasks:PANX")
register_task("udpos", "xlie.papers.topro.tasks:UDPOS")
# Our metrics (xlie.papers.topro.metrics: every method scored alike) ...
_SEQEVAL = "(seqeval, default conlleval-style mode: an I- tag may open an entity)"
_STRICT = "(seqeval, strict IOB2 mode: an entity opens with B-)"
for _name, _caption in {
    "f1": f"entity-level F1 {_SEQEVAL}",
    "precision": f"entity-level precision {_SEQEVAL}",
    "recall": f"entity-level recall {_SEQEVAL}",
    "f1_strict": f"entity-level F1 {_STRICT}",
    "precision_strict": f"entity-level precision {_STRICT}",
    "recall_strict": f"entity-level recall {_STRICT}",
}.items():
    register_metric("panx", _name, _caption)
for _task in ("panx", "udpos"):
    register_metric(_task, "accuracy", "token accuracy (every word's tag, O included)")
    register_metric(
        _task, "weighted_token_f1", "weighted F1 over word tags, O included (scikit-learn, gold and predicted in order)"
    )

register_method("vanilla", "encoder", _spec("token_classification", _ENCODERS, params_key="vanilla_token"))
register_method("vanilla", "seq2seq", _spec("vanilla_seq2seq", {"mt5"}))
register_method("topro", "encoder", _spec("topro_encoder", _ENCODERS))
register_method("topro", "seq2seq", _spec("topro_seq2seq", {"mt5"}))
register_method("pt", "encoder", _spec("prefix_tuning", _ENCODERS))
# The zero-shot LLM study: verbalizer logits or generation + label matching.
_LLM = dict(params_key="llm", zero_shot=True, variant_param="mode", variants=("logits", "generate"))
register_method("llm", "causal", _spec("llm_zero_shot", {"causal"}, **_LLM))
register_method("llm", "seq2seq", _spec("llm_zero_shot", {"mt5"}, **_LLM))

register_hook("tokenizer_texts", "xlie.papers.topro.prompts:tokenizer_texts")
register_hook("preflight_checks", "xlie.papers.topro.preflight:preflight_checks")
register_hook("reference_rows", "xlie.papers.topro.references:reference_rows")
register_hook("table_plots", "xlie.papers.topro.plot_hooks:table_plots")
