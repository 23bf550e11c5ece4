"""Evaluation that resumes: an evaluation job keeps each target's predictions, chunk by chunk, outside
its declared output (which Snakemake deletes before a job starts), so that a killed job started again
continues where it stopped and ends with the predictions and metrics of an uninterrupted run.

Chunks. A target's examples, in file order, are cut into chunks of ``chunk_examples`` consecutive
examples and the method's ``predict`` is called once per chunk, in every evaluation, resumed or not.
Whatever a method does inside one call (length-sorted batches, dynamic padding, sub-chunks of its
own, a generation engine's scheduling), it does it on the same examples in both runs, so every batch,
and with it every prediction, is the one an uninterrupted run computes: equality holds by
construction for any method, with no argument about numerics and nothing asked of the method.
(Cutting apart the batches of one call instead would need every method to expose its batching.)
The one cost: a method's length sort sees a chunk, not the whole set, so its padding grows a little
(:data:`CHUNK_EXAMPLES` is large enough for that to be small).

Storage. A chunk's prediction (a dataclass: per-example lists, counts) is written as JSON,
atomically, to ``<checkpoint_dir>/<target>/chunk-00017.json``; a target's prediction is always
assembled from the decoded chunks, fresh ones included, so a reused chunk and a recomputed one are the
same object. Lists are concatenated; counts are summed, except what a method reports per call
whatever the examples (a per-model constant: what ``predict([])`` reports), counted once.

Identity. Each target's directory holds ``xlie_manifest.json`` (:mod:`xlie.pipeline.checkpoints`):
the run's evaluation options (the target list aside: adding a target keeps the others' chunks), the
chunk size, the sha256 of the target's data, the model's fingerprint and the code version. Chunks are
reused only under a matching manifest of an unfinished job; anything else starts the target afresh
and the log says why. A lock per target (``<target>.lock``) keeps a second process out; once the job
has succeeded its chunks are deleted unless ``training.keep_checkpoints`` (then the manifests are marked
finished, and a later evaluation, forced or of a deleted output, starts afresh, as training does).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from xlie.pipeline import checkpoints
from xlie.pipeline.runtime import atomic_write_text

# Examples per predict call: a multiple of 256, the inner chunk of sentences of methods that cut one call
# themselves (e.g. the ToPro encoder's), so their inner chunks, and batches, are those of one call over the set.
CHUNK_EXAMPLES = 1024
CHUNK_NAME = "chunk-{:05d}.json"


def chunk_bounds(total: int, size: int) -> list[tuple[int, int]]:
    """(start, end) of each chunk of ``total`` examples; one empty chunk when there are none."""
    if size < 1:
        raise ValueError(f"chunk_examples must be a positive number of examples, not {size!r}")
    return [(start, min(start + size, total)) for start in range(0, total, size)] or [(0, 0)]


def _plain(value):
    """The Python number behind a numpy scalar a method may leave in its counts."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"a {type(value).__name__} in a prediction cannot be stored as JSON")


def encode_prediction(prediction, examples: int) -> str:
    """One chunk's prediction as JSON text: its class and its dataclass fields. Every list field must
    hold one item per example (what a chunked evaluation concatenates)."""
    if not dataclasses.is_dataclass(prediction) or isinstance(prediction, type):
        raise TypeError(
            f"predict returned a {type(prediction).__name__}, not a dataclass instance: "
            "an evaluation stores its predictions chunk by chunk as a dataclass's fields"
        )
    cls = type(prediction)
    fields = {f.name: getattr(prediction, f.name) for f in dataclasses.fields(prediction) if f.init}
    for name, value in fields.items():
        if isinstance(value, (list, tuple)) and len(value) != examples:
            raise TypeError(
                f"{cls.__name__}.{name} holds {len(value)} items for {examples} examples: a list field of a "
                "prediction must hold one item per example (chunks of examples are concatenated)"
            )
    record = {"class": f"{cls.__module__}:{cls.__qualname__}", "examples": examples, "fields": fields}
    return json.dumps(record, ensure_ascii=False, default=_plain) + "\n"


def decode_prediction(text: str, examples: int):
    """The prediction :func:`encode_prediction` wrote for a chunk of ``examples`` examples; a ValueError
    when ``text`` is not one (a chunk of another size, a foreign file)."""
    from xlie.pipeline.registry import resolve

    record = json.loads(text)
    if not isinstance(record, dict) or record.get("examples") != examples or not isinstance(record.get("fields"), dict):
        raise ValueError(f"not the stored prediction of a chunk of {examples} examples")
    return resolve(record["class"])(**record["fields"])


def merge_counts(parts: Sequence[dict], per_call: dict) -> dict:
    """Counts of the chunks together: summed, less what each call adds whatever its examples
    (``per_call``: a constant reported by every call is counted once)."""
    merged: dict = {}
    for counts in parts:
        for key, value in counts.items():
            merged[key] = merged.get(key, 0) + value
    for key, constant in per_call.items():
        if key in merged:
            merged[key] -= (sum(key in counts for counts in parts) - 1) * constant
    return merged


def merge_predictions(parts: Sequence, per_call: dict):
    """One prediction from the chunks' (in order): list fields concatenated, count dicts merged
    (:func:`merge_counts`), None where every chunk has None."""
    first = parts[0]
    if len(parts) == 1:
        return first
    merged = {}
    for field in dataclasses.fields(first):
        if not field.init:
            continue
        values = [getattr(part, field.name) for part in parts]
        if all(value is None for value in values):
            merged[field.name] = None
        elif all(isinstance(value, list) for value in values):
            merged[field.name] = [item for value in values for item in value]
        elif all(isinstance(value, dict) for value in values):
            merged[field.name] = merge_counts(values, per_call)
        else:
            kinds = sorted({type(value).__name__ for value in values})
            raise TypeError(
                f"{type(first).__name__}.{field.name} is {' / '.join(kinds)} across chunks: a prediction's fields "
                "must be per-example lists or counts (a dict) in every chunk"
            )
    return type(first)(**merged)


class PartialPredictions:
    """The chunks of one evaluation job's targets under ``root`` (see the module docstring); each
    target's lock is held in ``locks`` until the job ends."""

    def __init__(self, root: Path, locks: contextlib.ExitStack):
        self.root = root
        self.locks = locks
        self.targets: dict[str, dict] = {}  # target -> its manifest, for marking them finished
        self._per_call: dict | None = None

    def _per_call_counts(self, predict: Callable) -> dict:
        """The counts ``predict`` reports for no examples: what every call reports whatever its examples."""
        if self._per_call is None:
            try:
                counts = getattr(predict([], desc="per-call counts"), "counts", None) or {}
                self._per_call = {key: value for key, value in counts.items() if value}
            except Exception as error:  # a method that cannot predict nothing: no count is taken as per call
                print(f"counts: predict([]) failed ({type(error).__name__}: {error}); each count is summed over chunks")
                self._per_call = {}
        return self._per_call

    def _open(self, target: str, expected: dict) -> Path:
        """The target's directory under the manifest ``expected``, emptied unless it may be resumed."""
        target_dir = self.root / target
        # A lock per target, not per job: jobs that evaluate one run's targets in groups run side by side.
        self.locks.enter_context(checkpoints.locked(target_dir))
        if target_dir.exists():
            had_chunks = any(target_dir.glob("chunk-*.json"))
            reason = checkpoints.manifest_stale_reason(
                target_dir, expected, "partial predictions", "the target is predicted again"
            )
            if reason and had_chunks:
                print(f"partial predictions: starting {target} fresh, not resuming from {target_dir}: {reason}")
            if reason:
                shutil.rmtree(target_dir)
        target_dir.mkdir(parents=True, exist_ok=True)
        checkpoints.write_manifest(target_dir, expected, finished=False)
        self.targets[target] = expected
        return target_dir

    def predict(
        self, target: str, expected: dict, predict: Callable, examples: Sequence, chunk_examples: int = CHUNK_EXAMPLES
    ) -> tuple[object, dict]:
        """(the prediction of ``examples``, {"chunks", "resumed_chunks", "chunk_examples"}): each chunk
        read back when a complete one is stored under a matching manifest, else predicted and stored."""
        target_dir = self._open(target, expected)
        examples = list(examples)
        bounds = chunk_bounds(len(examples), chunk_examples)
        parts, resumed = [], 0
        for index, (start, end) in enumerate(bounds):
            path = target_dir / CHUNK_NAME.format(index)
            part = None
            if path.is_file():
                try:
                    part = decode_prediction(path.read_text(encoding="utf-8"), end - start)
                    resumed += 1
                except (OSError, ValueError, TypeError, ImportError, AttributeError) as error:
                    print(f"partial predictions: predicting {path.name} of {target} again ({error})")
            if part is None:
                desc = target if len(bounds) == 1 else f"{target} {index + 1}/{len(bounds)}"
                text = encode_prediction(predict(examples[start:end], desc=desc), end - start)
                atomic_write_text(path, text)
                part = decode_prediction(text, end - start)  # what a resumed run reads back, exactly
            parts.append(part)
        if resumed:
            print(f"{target}: resumed {resumed} of {len(bounds)} chunks from {target_dir}", flush=True)
        per_call = self._per_call_counts(predict) if len(parts) > 1 else {}
        chunks = {"chunks": len(bounds), "resumed_chunks": resumed, "chunk_examples": chunk_examples}
        return merge_predictions(parts, per_call), chunks

    def finish(self, keep: bool) -> None:
        """The job succeeded: its targets' chunks marked finished (``keep``) or removed, with the
        directory once no other job's targets are left in it."""
        for target, expected in self.targets.items():
            if keep:
                checkpoints.write_manifest(self.root / target, expected, finished=True)
            else:
                shutil.rmtree(self.root / target, ignore_errors=True)
                (self.root / f"{target}.lock").unlink(missing_ok=True)
        if keep:
            print(f"partial predictions: kept in {self.root} (training.keep_checkpoints)")
            return
        with contextlib.suppress(OSError):  # not empty: another job's targets
            self.root.rmdir()
        print(f"partial predictions: removed those of {', '.join(self.targets)} (the evaluation is finished)")


@contextlib.contextmanager
def partial_predictions(checkpoint_dir: str | Path, *, keep: bool) -> Iterator[PartialPredictions]:
    """The chunk store of one evaluation job under ``checkpoint_dir``, each target locked from its
    first use to the block's end; when the block succeeds the chunks are removed, or with ``keep``
    marked finished."""
    with contextlib.ExitStack() as locks:
        store = PartialPredictions(Path(checkpoint_dir), locks)
        yield store
        store.finish(keep)


def target_manifest(options: dict, target: str, target_data: dict, model: dict, chunk_examples: int) -> dict:
    """What a target's stored chunks must match to be reused: the evaluation options without the
    target list, the target and the chunk size; the target data's identity and the model's; the code."""
    evaluated = {key: value for key, value in options.items() if key != "targets"}
    return checkpoints.manifest(
        {**evaluated, "target": target, "chunk_examples": chunk_examples},
        {"target": target_data, "model": model},
    )


def model_fingerprint(model_dir: str) -> dict:
    """The evaluated model: a local directory's content hash, or a hub id with the revision it resolved to."""
    from xlie.pipeline import provenance

    fingerprint = provenance.model_fingerprint(model_dir)
    if "hub_id" in fingerprint:
        fingerprint["revision"] = provenance.hub_revision(model_dir)
    return fingerprint
