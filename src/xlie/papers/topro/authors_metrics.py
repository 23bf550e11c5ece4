"""The ToPro authors' metrics, bug for bug: the numbers set beside the paper's are computed as the
authors computed theirs (boleima/ToPro at d7dc064, ``run_baseline/``; PT from salesforce/MPT).

Implemented from reading their code (nothing copied); ``tests/data/golden/topro_authors_metrics.json``
holds figures from running their own functions on small cases, and the tests pin ours to them.

Which number each of the paper's methods reports (test) and selects its checkpoint on (English dev):

==========================  =====================================  ==========================
method                      test metric (this module)              dev selection
==========================  =====================================  ==========================
Vanilla mBERT / XLM-R       :func:`seqeval_f1` (run_tag.py)         seqeval_f1
PT mBERT / XLM-R (MPT)      :func:`seqeval_f1` (HF seqeval metric)  seqeval_f1, per epoch
ToPro mBERT / XLM-R         :func:`weighted_f1_swapped`             weighted_f1_swapped
Vanilla mT5                 :func:`span_f1` (run_tag_t5.py)         span_f1
ToPro mT5                   :func:`span_f1_prompt`                  span_f1_prompt
LLM, verbalizer logits      :func:`weighted_f1_swapped`             (zero-shot)
LLM, generation             :func:`weighted_f1_swapped`, outputs    (zero-shot)
==========================  =====================================  ==========================

Every metric has the signature ``fn(examples, predicted, outputs=None) -> float`` (a fraction):
``examples`` are the gold :class:`~xlie.papers.topro.xtreme.Sentence` s of one evaluation set (one
language), ``predicted`` one tag list per sentence, ``outputs`` the method's raw per-sentence
outputs (``xlie.pipeline.methods.Prediction.outputs``) or None, in which case the function derives
from the tags what the authors' code would have seen.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence

from xlie.papers.topro.prompts import VANILLA_SEQ2SEQ_ITEM, VANILLA_SEQ2SEQ_SEPARATOR
from xlie.papers.topro.xtreme import Sentence

Tags = Sequence[Sequence[str]]

# The class a generation that matched no label gets in the authors' LLM scoring (their id
# ``len(label_list)``): a class of its own that no gold word has. Not a label of any task.
UNMATCHED = "<unmatched>"
# The dev metric a ToPro encoder selects its checkpoint on as the authors' run_prompt_tag.py does.
AUTHORS_ENCODER_SELECTION = "weighted_f1_swapped"
# The epsilon the authors' span F1 functions add to every denominator (run_baseline/metrics.py).
_EPSILON = 1e-13


def _check_shapes(examples: Sequence[Sentence], predicted: Tags) -> None:
    if len(examples) != len(predicted):
        raise ValueError(f"{len(examples)} sentences but {len(predicted)} predicted")
    for i, (sentence, tags) in enumerate(zip(examples, predicted)):
        if len(sentence.words) != len(tags):
            raise ValueError(f"sentence {i}: {len(sentence.words)} words but {len(tags)} predicted tags")


def _check_outputs(examples: Sequence[Sentence], outputs: list, per_word: bool) -> None:
    if len(outputs) != len(examples):
        raise ValueError(f"{len(examples)} sentences but {len(outputs)} outputs")
    if per_word:
        for i, (sentence, words_out) in enumerate(zip(examples, outputs)):
            if len(words_out) != len(sentence.words):
                raise ValueError(f"sentence {i}: {len(sentence.words)} words but {len(words_out)} outputs")


def _f1(true_positives: int, false_positives: int, false_negatives: int) -> float:
    """Micro F1 with the authors' epsilons (their ``compute_f1_metrics``): 0 when nothing is true."""
    precision = true_positives / (true_positives + false_positives + _EPSILON)
    recall = true_positives / (true_positives + false_negatives + _EPSILON)
    return 2.0 * ((precision * recall) / (precision + recall + _EPSILON))


def render_items(words: Sequence[str], tags: Sequence[str]) -> str:
    """``LABEL: word $$ LABEL: word ...``: Vanilla mT5's target (``vanilla_seq2seq.target_text``), the
    authors' ``convert_examples_to_features_t5`` rendering."""
    return VANILLA_SEQ2SEQ_SEPARATOR.join(VANILLA_SEQ2SEQ_ITEM.format(label=t, word=w) for w, t in zip(words, tags))


def _span_items(text: str) -> list[tuple[str, str]]:
    """(tag, word) items of a generated or target string, as the authors' ``tags_to_spans`` reads it:
    split on " $$ " (spaces included), each part stripped; a part that does not split into exactly
    two fields at ':' is dropped, so any word containing ':' is never scored."""
    items = []
    for part in text.split(VANILLA_SEQ2SEQ_SEPARATOR):
        fields = part.strip().split(":")
        if len(fields) == 2:
            items.append((fields[0].strip(), fields[1].strip()))
    return items


def span_f1(examples: Sequence[Sentence], predicted: Tags, outputs: list | None = None) -> float:
    """Vanilla mT5's number: boleima/ToPro ``run_baseline/metrics.py:span_f1``, called by
    ``run_tag_t5.py:evaluate`` on every test language and on English dev for selection.

    Micro F1 over (tag, word) items, O included, matched as a multiset per sentence: a predicted
    item counts once against an identical gold item anywhere in the sentence, whatever its position.
    Bugs kept: O items count like entities (the figure is close to token accuracy, an all-O output
    scores about the share of O words); position is ignored (repeated words may swap tags unseen);
    items whose word contains ':' (or that lack one) are dropped from gold and prediction alike;
    items glued without the spaced " $$ " separator are one malformed item; the epsilon denominators.

    ``outputs``: per sentence the generated text (str), or a mapping with ``generated`` and, when
    known, ``target``: the gold target as the authors' code saw it (their target string went
    through the tokenizer: cut at ``max_target_length`` tokens and decoded, see
    ``vanilla_seq2seq.authors_target_texts``). Without ``target`` the gold string is rendered from
    the gold tags; without ``outputs`` the prediction string is rendered from the predicted tags
    (:func:`render_items`, i.e. a generation that the parser read back to exactly these tags).
    """
    _check_shapes(examples, predicted)
    if outputs is not None:
        _check_outputs(examples, outputs, per_word=False)
    true_positives = false_positives = false_negatives = 0
    for k, (sentence, tags) in enumerate(zip(examples, predicted)):
        output = None if outputs is None else outputs[k]
        if output is None:
            generated, target = render_items(sentence.words, tags), None
        elif isinstance(output, str):
            generated, target = output, None
        else:
            generated, target = output["generated"], output.get("target")
        if target is None:
            target = render_items(sentence.words, sentence.tags)
        gold, found = Counter(_span_items(target)), Counter(_span_items(generated))
        matched = sum((gold & found).values())
        true_positives += matched
        false_positives += sum(found.values()) - matched
        false_negatives += sum(gold.values()) - matched
    return _f1(true_positives, false_positives, false_negatives)


def span_f1_prompt(examples: Sequence[Sentence], predicted: Tags, outputs: list | None = None) -> float:
    """ToPro mT5's number: boleima/ToPro ``run_baseline/metrics.py:span_f1_prompt``, called by
    ``run_prompt_tag_t5.py:evaluate`` with one (gold tag, generated text) pair per word.

    Bugs kept: a word is correct when its gold tag is a SUBSTRING of the generation (gold ``O`` is
    correct for ``B-ORG``, ``B-LOC``, ``I-LOC``, ``I-ORG``; gold ``X`` for ``AUX``); the "labels"
    it checks against are the set of the predictions themselves, so every miss is a false negative
    and there are no false positives: precision is 1 whenever anything is correct, and the figure
    is ``2a / (1 + a)`` of that substring accuracy ``a``; the epsilon denominators.

    ``outputs``: per sentence, per word the generated text (the authors decoded at most 4 generated
    tokens); None: the predicted tags are the generations (our constrained scorer only ever
    produces whole label strings, which a model trained on them generates).
    """
    _check_shapes(examples, predicted)
    if outputs is not None:
        _check_outputs(examples, outputs, per_word=True)
    generations = predicted if outputs is None else outputs
    targets = [tag for sentence in examples for tag in sentence.tags]
    texts = [text for sentence_texts in generations for text in sentence_texts]
    correct = sum(target in text for target, text in zip(targets, texts))
    # Their false-positive branch needs a prediction outside the set of predictions: unreachable.
    return _f1(correct, 0, len(texts) - correct)


def weighted_f1_swapped(examples: Sequence[Sentence], predicted: Tags, outputs: list | None = None) -> float:
    """ToPro encoders' and the LLM study's number: boleima/ToPro ``compute_metrics(preds, labels)``
    of ``run_prompt_tag.py`` (ToPro mBERT/XLM-R: test, and the English dev score that keeps the
    best checkpoint) and of ``run_prompt_tag_direct.py`` (LLM: ``evaluate``, verbalizer logits;
    ``evaluate_direct``, generation), i.e. scikit-learn's weighted F1 over every word, O included.

    Bugs kept: predictions passed as ``y_true`` and gold as ``y_pred``, so classes are weighted by
    how often they are PREDICTED (an all-O output weighs only O, and scores far higher than in the
    right order); in generation mode a word whose generation matched no label is an extra class
    (``len(label_list)``) that no gold word has: it weighs in with F1 0 (instead of becoming O).

    ``outputs``: per sentence, per word the label the generation matched, or None where it matched
    none (``llm_zero_shot`` in generate mode); None: every word matched, the tags are the classes.
    Empty input scores 0 (their call raises scikit-learn's empty-input ValueError).
    """
    from sklearn.metrics import f1_score  # scikit-learn is a seqeval dependency

    _check_shapes(examples, predicted)
    if outputs is not None:
        _check_outputs(examples, outputs, per_word=True)
    gold = [tag for sentence in examples for tag in sentence.tags]
    if outputs is None:
        classes = [tag for tags in predicted for tag in tags]
    else:
        classes = [UNMATCHED if label is None else label for labels in outputs for label in labels]
    if not gold:
        return 0.0
    return float(f1_score(classes, gold, average="weighted", zero_division=0))


def seqeval_f1(examples: Sequence[Sentence], predicted: Tags, outputs: list | None = None) -> float:
    """Vanilla mBERT/XLM-R's and PT's number: seqeval 1.2.2 ``f1_score`` in its default
    (conlleval-style) mode, as XTREME's ``run_tag.py`` (copied into boleima/ToPro
    ``run_baseline/run_tag.py:evaluate``) and salesforce/MPT (``tasks/{ner,pos}/dataset.py``, the
    HF ``seqeval`` metric's ``overall_f1``) call it, for PAN-X AND UDPOS.

    Bug kept (UDPOS): POS tags are read as chunk tags, first letter = IOBES prefix, rest = type:
    runs of one tag are one chunk (``NOUN NOUN``), ``SCONJ``/``SYM`` are single-word chunks (S-),
    ``INTJ`` continues a chunk (I-). ``outputs`` is ignored (the tags are the outputs).
    """
    from xlie.papers.topro.metrics import entity_scores

    _check_shapes(examples, predicted)
    with warnings.catch_warnings():  # "NOUN seems not to be NE tag": reading POS tags as chunks is the point
        warnings.simplefilter("ignore", UserWarning)
        return entity_scores([s.tags for s in examples], predicted)["f1"]


# name -> function, for the metric registry.
AUTHORS_METRICS = {
    "span_f1": span_f1,
    "span_f1_prompt": span_f1_prompt,
    "weighted_f1_swapped": weighted_f1_swapped,
    "seqeval_f1": seqeval_f1,
}
