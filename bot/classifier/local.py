"""The embedded default classifier: TF-IDF + a static sentence embedding, one linear model.

The model file is plain arrays and JSON in one `.npz` (no pickle), so loading a file can
never run code, loads in milliseconds and needs neither scikit-learn nor a network at run
time. Training lives in bot.classifier.training and writes this format.

Format 2 adds the embedding's weights (`emb_coef`) and `prototypes`: embeddings of training
tickets, so a ticket unlike all of them is flagged `unfamiliar` instead of being routed on
a guess. Format 1 files (TF-IDF only) still load and never flag anything.
"""

from __future__ import annotations

import json
import logging
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.classifier.base import ModelFileError, Prediction
from bot.classifier.features import MAX_CHARS
from bot.classifier.featurise import BatchFeaturiser
from bot.classifier.segments import split_issues
from bot.classifier.sentiment import read_tones
from bot.classifier.signals import read_signals
from bot.classifier.sparse import SegmentProduct
from bot.classifier.termsfile import pack_terms, unpack_terms

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

FORMAT = 2
READABLE_FORMATS = (1, 2)
BUNDLED_MODEL = Path(__file__).resolve().parent / "data" / "triage-model.npz"
REBUILD_HINT = "rebuild it with: triage-bot train"


DEFAULT_MODEL_PATH = Path("models/triage-model.npz")
MULTI_ISSUE_NOTE = "multi_issue"
UNFAMILIAR_NOTE = "unfamiliar"  # a Prediction note: the text is unlike the training tickets
NEIGHBOURS = 3  # familiarity = mean cosine to this many nearest training prototypes
BATCH = 256
PART_CONFIDENCE = 0.5  # a part counts as an area of its own only when the model is fairly sure


def round4(probs: np.ndarray) -> list[list[float]]:
    """`round(p, 4)` of every probability, as plain Python floats, for a whole batch at once.

    numpy rounds p x 10,000 to the nearest integer k and divides: k / 10,000 is the double
    nearest to the decimal k/10^4, which is what `round` gives for the same k. The product's
    error (under 1e-12 for p <= 1) can change k only when p x 10^4 lies within a hair of
    a half; those few values get Python's own `round`, so every value is `round(p, 4)`.
    """
    scaled = probs * 10_000.0
    whole = np.rint(scaled)
    rows = (whole / 10_000.0).tolist()
    for i, j in zip(*np.nonzero(np.abs(np.abs(scaled - whole) - 0.5) < 1e-6), strict=True):
        rows[i][j] = round(float(probs[i, j]), 4)
    return rows


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class ModelArrays:
    """What a trained model is: vocabulary, idf, weights, temperature, thresholds."""

    terms: list[str]
    idf: np.ndarray  # (n_features,)
    coef: np.ndarray  # (n_features, n_tags)
    intercept: np.ndarray  # (n_tags,)
    meta: dict[str, Any]
    emb_coef: np.ndarray | None = None  # (dims, n_tags), scale of the embedding folded in
    prototypes: np.ndarray | None = None  # (n_prototypes, dims) unit vectors of training tickets


def save_model(path: Path, model: ModelArrays) -> None:
    """Write atomically: a crash mid-write never leaves a half model under the real name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    extra: dict[str, np.ndarray] = {}
    if model.emb_coef is not None:
        extra["emb_coef"] = model.emb_coef.astype(np.float32)
    if model.prototypes is not None:
        extra["prototypes"] = model.prototypes.astype(np.float16)
    with tmp.open("wb") as handle:
        # Uncompressed, the terms as one text: see bot.classifier.termsfile.
        np.savez(
            handle,
            meta=np.array(json.dumps(model.meta, sort_keys=True)),
            **pack_terms(model.terms),
            idf=model.idf.astype(np.float32),
            coef=model.coef.astype(np.float32),
            intercept=model.intercept.astype(np.float32),
            **extra,
        )
    tmp.replace(path)


def read_model(path: Path) -> ModelArrays:
    """Read and check a model file, or raise ModelFileError naming it."""
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist; {REBUILD_HINT}")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            terms = unpack_terms(data)
            idf = data["idf"].astype(np.float32, copy=False)
            coef = data["coef"].astype(np.float32, copy=False)
            intercept = data["intercept"].astype(np.float32, copy=False)
            emb_coef = (
                data["emb_coef"].astype(np.float32, copy=False) if "emb_coef" in data else None
            )
            prototypes = data["prototypes"].astype(np.float32) if "prototypes" in data else None
    except (
        OSError,
        ValueError,
        KeyError,
        zipfile.BadZipFile,
        json.JSONDecodeError,
        EOFError,
    ) as exc:
        raise ModelFileError(
            f"model file {path} is corrupt or not a triage-bot model ({type(exc).__name__}); "
            f"{REBUILD_HINT}"
        ) from None
    tags = meta.get("tags") if isinstance(meta, dict) else None
    if (
        not isinstance(meta, dict)
        or meta.get("format") not in READABLE_FORMATS
        or not isinstance(tags, list)
        or coef.shape != (len(terms), len(tags))
        or idf.shape != (len(terms),)
        or intercept.shape != (len(tags),)
        or (meta.get("format") == 2 and (emb_coef is None or emb_coef.shape[1] != len(tags)))
        or (
            prototypes is not None
            and (emb_coef is None or prototypes.shape[1:] != emb_coef.shape[:1])
        )
    ):
        raise ModelFileError(
            f"model file {path} has an unexpected layout (format {meta.get('format') if isinstance(meta, dict) else '?'}); "
            f"{REBUILD_HINT}"
        )
    return ModelArrays(
        terms=terms,
        idf=idf,
        coef=coef,
        intercept=intercept,
        meta=meta,
        emb_coef=emb_coef,
        prototypes=prototypes,
    )


def familiarity(vectors: np.ndarray, prototypes: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """Mean cosine of each (unit) vector to its k nearest prototypes, rounded to 4 places."""
    if prototypes.shape[0] == 0:
        return np.ones(vectors.shape[0])
    k = min(k, prototypes.shape[0])
    sims = vectors @ prototypes.T
    if k <= 3:
        return np.round(_mean_of_top(sims, k), 4)
    top = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
    return np.round(top.astype(np.float64).mean(axis=1), 4)


def _mean_of_top(sims: np.ndarray, k: int) -> np.ndarray:
    """Each row's mean of its k (at most 3) largest values, as `np.partition` then `mean`
    give it: the same values, found by k `argmax` passes (several times faster). Their
    float64 sum is the same in any order wherever the three orders of adding agree, which
    is checked; a row where they do not is left to `np.partition`, whose order decides."""
    rows = np.arange(sims.shape[0])
    left = sims.copy()
    top = np.empty((sims.shape[0], k), dtype=np.float64)
    for j in range(k):
        best = left.argmax(axis=1)
        top[:, j] = left[rows, best]
        left[rows, best] = -np.inf
    if k < 3:  # one or two values: addition is commutative
        return top.sum(axis=1) / k
    a, b, c = top[:, 0], top[:, 1], top[:, 2]
    total = (a + b) + c
    odd = np.flatnonzero((total != (a + c) + b) | (total != (b + c) + a))
    mean = total / 3
    if odd.size:
        part = np.partition(sims[odd], sims.shape[1] - 3, axis=1)[:, -3:]
        mean[odd] = part.astype(np.float64).mean(axis=1)
    return mean


def _issue_parts(texts: Sequence[str]) -> tuple[list[list[str]], list[str]]:
    """Each text split into its issues, and the parts of those that raise more than one,
    in order (the texts to score for `LocalModel._areas`)."""
    split = [split_issues(t[:MAX_CHARS]) for t in texts]
    return split, [p for parts in split if len(parts) > 1 for p in parts]


class LocalModel:
    """Predict with a trained model; deterministic, CPU only, never raises on text."""

    def __init__(self, model: ModelArrays, path: Path | None = None) -> None:
        self.path = path
        self.meta = model.meta
        self.version: str = str(model.meta["version"])
        self.tags: tuple[str, ...] = tuple(model.meta["tags"])
        self.temperature = float(model.meta.get("temperature", 1.0))
        raw = model.meta.get("thresholds", {})
        self.thresholds: dict[str, float] = {
            tag: (math.inf if raw.get(tag) is None else float(raw[tag])) for tag in self.tags
        }
        self._featuriser = BatchFeaturiser(model.terms)
        self._idf = model.idf
        # Widened to float64 once (exactly), in both layouts: see bot.classifier.sparse.
        self._product = SegmentProduct(model.coef)
        self._intercept = model.intercept
        self._emb_coef = model.emb_coef
        self._prototypes = model.prototypes
        unfamiliar = model.meta.get("unfamiliar") or {}
        self.unfamiliar_threshold: float | None = (
            float(unfamiliar["threshold"])
            if model.prototypes is not None and unfamiliar.get("threshold") is not None
            else None
        )
        self._embedding = None
        if model.emb_coef is not None:
            from bot.classifier.embedding import shared_embedding

            self._embedding = shared_embedding()
            wanted = (model.meta.get("embedding") or {}).get("table_sha256")
            if wanted and self._embedding.table_sha256 and wanted != self._embedding.table_sha256:
                raise ModelFileError(
                    f"model {self.version} was trained with another embedding table than the "
                    f"one installed; {REBUILD_HINT}"
                )
        self.loaded_mtime: int | None = None  # set by bot.classifier.jobs to notice new files

    @property
    def prototypes(self) -> np.ndarray | None:
        """Embeddings of training tickets: a reference for comparing tickets with each
        other (bot.channel.similarity centres ticket vectors on them)."""
        return self._prototypes

    @classmethod
    def load(cls, path: Path) -> LocalModel:
        model = cls(read_model(path), path)
        model.loaded_mtime = path.stat().st_mtime_ns
        return model

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(vocabulary indices, counts) of the text: the same features as `analyze`."""
        _, idx, tf = self._featuriser.counts([text])
        return idx, tf

    def _tfidf_logits(self, texts: Sequence[str]) -> np.ndarray:
        """TF-IDF part of the logits: sublinear tf x idf, L2-normalised, times the weights.

        The batch is one sparse matrix (row, feature, count) from BatchFeaturiser, and one
        segment sum per row and tag gives the product. A row's sums run over its own
        features in order, so a text scores the same alone or in a batch."""
        out = np.zeros((len(texts), len(self.tags)), dtype=np.float64)
        row, idx, tf = self._featuriser.counts(texts)
        if not row.size:
            return out
        weights = ((1.0 + np.log(tf, dtype=np.float32)) * self._idf[idx]).astype(np.float64)
        norms = np.sqrt(np.bincount(row, weights=weights * weights, minlength=len(texts)))
        weights /= np.where(norms > 0, norms, 1.0)[row]
        first = np.flatnonzero(np.concatenate(([True], row[1:] != row[:-1])))
        out[row[first]] = self._product(idx, weights, first)
        return out

    def _embed(self, texts: Sequence[str]) -> np.ndarray | None:
        if self._embedding is None:
            return None
        return self._embedding.encode([t[:MAX_CHARS] for t in texts])

    def _logits_and_vectors(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        logits = self._tfidf_logits(texts) + self._intercept
        vectors = self._embed(texts)
        if vectors is not None and self._emb_coef is not None:
            # Row by row (no BLAS blocking): a text scores the same alone or in a batch.
            logits += (vectors[:, :, None] * self._emb_coef[None, :, :]).sum(axis=1)
        return logits, vectors

    def logits_many(self, texts: Sequence[str]) -> np.ndarray:
        """Raw class scores (before temperature) of many texts."""
        return self._logits_and_vectors(texts)[0]

    def logits(self, text: str) -> np.ndarray:
        """Raw class scores (before temperature), exactly as the trained pipeline computes them."""
        return self.logits_many([text])[0]

    def probabilities(self, text: str) -> np.ndarray:
        return softmax(self.logits(text) / self.temperature)

    def familiarity_many(self, texts: Sequence[str]) -> np.ndarray | None:
        """How much each text resembles the training tickets (mean cosine), or None."""
        vectors = self._embed(texts)
        if vectors is None or self._prototypes is None:
            return None
        return familiarity(vectors, self._prototypes)

    def issue_areas(self, text: str) -> list[str]:
        """The distinct tags of a ticket's separate issues, when it raises more than one."""
        return self._issue_areas_many([text])[0]

    def _issue_areas_many(self, texts: Sequence[str]) -> list[list[str]]:
        split, flat = _issue_parts(texts)
        if not flat:
            return [[] for _ in texts]
        return self._areas(split, softmax(self.logits_many(flat) / self.temperature))

    def _areas(self, split: list[list[str]], probs: np.ndarray) -> list[list[str]]:
        """Each text's distinct confident tags of its parts; `probs` holds the parts' rows of
        every text split into more than one, in order."""
        found: list[list[str]] = [[] for _ in split]
        at = 0
        for i, parts in enumerate(split):
            if len(parts) < 2:
                continue
            for row in probs[at : at + len(parts)]:
                best = int(np.argmax(row))
                if row[best] >= PART_CONFIDENCE and self.tags[best] not in found[i]:
                    found[i].append(self.tags[best])
            at += len(parts)
        return found

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        """Predictions for many texts at once (equal to `predict` one by one, only faster)."""
        out: list[Prediction] = []
        for start in range(0, len(texts), BATCH):
            out.extend(self._predict_batch(list(texts[start : start + BATCH])))
        return out

    def _predict_batch(self, texts: list[str]) -> list[Prediction]:
        # The parts of tickets that raise several issues are scored in the same call as the
        # tickets (a text scores the same alone or in a batch): one pass, not two.
        split, parts = _issue_parts(texts)
        n = len(texts)
        logits, vectors = self._logits_and_vectors(texts + parts)
        probs = softmax(logits / self.temperature)
        areas = self._areas(split, probs[n:])
        probs = probs[:n]
        if vectors is not None:
            vectors = vectors[:n]
        familiar = (
            familiarity(vectors, self._prototypes)
            if vectors is not None and self._prototypes is not None
            else None
        )
        read_tones(texts)  # the tone model reads the batch at once; read_signals finds it cached
        # Plain Python floats, rounded as `round(p, 4)`: per-ticket work without numpy scalars.
        rows = round4(probs)
        bests = np.argmax(probs, axis=1).tolist()  # first maximum: ties break by tag order
        familiar_list = familiar.tolist() if familiar is not None else None
        unfamiliar_below = self.unfamiliar_threshold
        tags, thresholds, version = self.tags, self.thresholds, self.version
        out = []
        for i, text in enumerate(texts):
            row = rows[i]
            best = bests[i]
            tag = tags[best]
            signals = read_signals(text)
            notes = [f"complaint:{name}" for name in signals.complaints]
            if signals.sarcasm:
                notes.append("sarcasm")
            if len(areas[i]) > 1:
                notes.append(f"{MULTI_ISSUE_NOTE}:{'+'.join(areas[i])}")
            if (
                familiar_list is not None
                and unfamiliar_below is not None
                and familiar_list[i] < unfamiliar_below
            ):
                notes.append(f"{UNFAMILIAR_NOTE}:{familiar_list[i]:.2f}")
            out.append(
                Prediction(
                    tag=tag,
                    confidence=row[best],
                    sentiment=signals.sentiment,
                    scores=dict(zip(tags, row, strict=True)),
                    model_version=version,
                    notes=notes,
                    calibrated_threshold=thresholds.get(tag),
                    tag_thresholds=thresholds,
                )
            )
        return out

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]


def model_path_for(settings: Settings | None) -> tuple[Path, bool]:
    """(MODEL_PATH, whether the operator set it) — an unset path may fall back to the bundle."""
    if settings is None:
        return DEFAULT_MODEL_PATH, False
    return settings.model_path, "model_path" in settings.model_fields_set


def load_local_model(settings: Settings | None = None) -> LocalModel:
    """The trained model at MODEL_PATH, else the model shipped in the package.

    A MODEL_PATH that was set but is missing, or any corrupt file, raises ModelFileError
    naming the file: silently falling back would hide which model is really routing.
    """
    path, explicit = model_path_for(settings)
    if path.exists() or explicit:
        return LocalModel.load(path)
    if not BUNDLED_MODEL.is_file():
        raise ModelFileError(
            f"no model at {path} and the bundled model {BUNDLED_MODEL} is missing; {REBUILD_HINT}"
        )
    return LocalModel.load(BUNDLED_MODEL)
