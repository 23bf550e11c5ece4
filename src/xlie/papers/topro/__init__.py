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
# ... and the authors' (xlie.papers.topro.authors_metrics, pinned to their code's figures), each the
# number of one method as their scripts report it (MethodSpec.authors_metric below).
_AUTHORS = "xlie.papers.topro.authors_metrics:"
_AUTHORS_CAPTIONS = {
    "span_f1": "span F1 over (tag, word) items, O included, matched as a multiset per sentence "
    "(metrics.span_f1 as run_tag_t5.py calls it)",
    "span_f1_prompt": "span_f1_prompt as run_prompt_tag_t5.py computes it: a word counts when its gold tag is a "
    "substring of the predicted label ('O' in 'B-ORG'), with no false positives, i.e. 2a/(1+a) of that accuracy a",
    "weighted_f1_swapped": "weighted F1 over word tags, O included, gold and predicted swapped and an unmatched "
    "generation a class of its own (compute_metrics(preds, labels) of the ToPro scripts)",
}
for _task in ("panx", "udpos"):
    for _name, _caption in _AUTHORS_CAPTIONS.items():
        register_metric(_task, _name, _caption, _AUTHORS + _name)
register_metric("panx", "seqeval_f1", f"entity-level F1 {_SEQEVAL} (run_tag.py, MPT)", _AUTHORS + "seqeval_f1")
register_metric(
    "udpos",
    "seqeval_f1",
    "seqeval F1 with POS tags read as chunks (a run of one tag is one chunk; run_tag.py, MPT)",
    _AUTHORS + "seqeval_f1",
)

_VANILLA_ENCODER = _spec("token_classification", _ENCODERS, params_key="vanilla_token", authors_metric="seqeval_f1")
register_method("vanilla", "encoder", _VANILLA_ENCODER)
register_method("vanilla", "seq2seq", _spec("vanilla_seq2seq", {"mt5"}, authors_metric="span_f1"))
register_method("topro", "encoder", _spec("topro_encoder", _ENCODERS, authors_metric="weighted_f1_swapped"))
register_method("topro", "seq2seq", _spec("topro_seq2seq", {"mt5"}, authors_metric="span_f1_prompt"))
register_method("pt", "encoder", _spec("prefix_tuning", _ENCODERS, authors_metric="seqeval_f1"))
# The zero-shot LLM study: verbalizer logits or generation + label matching.
_LLM = dict(params_key="llm", zero_shot=True, variant_param="mode", variants=("logits", "generate"))
_LLM["authors_metric"] = "weighted_f1_swapped"
register_method("llm", "causal", _spec("llm_zero_shot", {"causal"}, **_LLM))
register_method("llm", "seq2seq", _spec("llm_zero_shot", {"mt5"}, **_LLM))

register_hook("tokenizer_texts", "xlie.papers.topro.prompts:tokenizer_texts")
register_hook("preflight_checks", "xlie.papers.topro.preflight:preflight_checks")
register_hook("reference_rows", "xlie.papers.topro.references:reference_rows")
register_hook("table_plots", "xlie.papers.topro.plot_hooks:table_plots")
