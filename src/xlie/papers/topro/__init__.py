"""ToPro (EACL 2024): token-level prompt decomposition for zero-shot cross-lingual NER (PAN-X) and
POS (UDPOS) with mBERT, XLM-R and mT5; baselines Vanilla and prefix tuning; a zero-shot LLM study.
Registers its task types, methods and report hooks (xlie.pipeline.registry)."""

from xlie.pipeline.registry import MethodSpec, register_hook, register_method, register_task

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
