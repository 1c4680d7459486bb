"""The embedded default classifier: a trained TF-IDF + logistic-regression model, run in numpy.

The model file is plain arrays and JSON in one `.npz` (no pickle), so loading a file can
never run code, loads in milliseconds and needs neither scikit-learn nor a network at run
time. Training lives in bot.classifier.training and writes this format.
"""

from __future__ import annotations

import json
import logging
import math
import zipfile
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.classifier.base import ModelFileError, Prediction
from bot.classifier.features import MAX_CHARS, char_grams, tokens
from bot.classifier.segments import split_issues
from bot.classifier.signals import read_signals

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

FORMAT = 1
BUNDLED_MODEL = Path(__file__).resolve().parent / "data" / "triage-model.npz"
REBUILD_HINT = "rebuild it with: triage-bot train"


DEFAULT_MODEL_PATH = Path("models/triage-model.npz")
GRAM_CACHE_WORDS = 50_000
MULTI_ISSUE_NOTE = "multi_issue"
PART_CONFIDENCE = 0.5  # a part counts as an area of its own only when the model is fairly sure


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


def save_model(path: Path, model: ModelArrays) -> None:
    """Write atomically: a crash mid-write never leaves a half model under the real name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        np.savez_compressed(
            handle,
            meta=np.array(json.dumps(model.meta, sort_keys=True)),
            terms=np.array(model.terms),
            idf=model.idf.astype(np.float32),
            coef=model.coef.astype(np.float32),
            intercept=model.intercept.astype(np.float32),
        )
    tmp.replace(path)


def read_model(path: Path) -> ModelArrays:
    """Read and check a model file, or raise ModelFileError naming it."""
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist; {REBUILD_HINT}")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            terms = data["terms"].tolist()
            idf = data["idf"].astype(np.float32)
            coef = data["coef"].astype(np.float32)
            intercept = data["intercept"].astype(np.float32)
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
        or meta.get("format") != FORMAT
        or not isinstance(tags, list)
        or coef.shape != (len(terms), len(tags))
        or idf.shape != (len(terms),)
        or intercept.shape != (len(tags),)
    ):
        raise ModelFileError(
            f"model file {path} has an unexpected layout (format {meta.get('format') if isinstance(meta, dict) else '?'}); "
            f"{REBUILD_HINT}"
        )
    return ModelArrays(terms=terms, idf=idf, coef=coef, intercept=intercept, meta=meta)


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
        self._vocab = {term: i for i, term in enumerate(model.terms)}
        self._idf = model.idf
        self._coef = model.coef
        self._intercept = model.intercept
        self._gram_cache: dict[str, np.ndarray] = {}
        self.loaded_mtime: int | None = None  # set by bot.classifier.jobs to notice new files

    @classmethod
    def load(cls, path: Path) -> LocalModel:
        model = cls(read_model(path), path)
        model.loaded_mtime = path.stat().st_mtime_ns
        return model

    def _grams_of(self, word: str) -> np.ndarray:
        """Vocabulary indices of a word's character n-grams (cached: words repeat a lot)."""
        found = self._gram_cache.get(word)
        if found is None:
            if len(self._gram_cache) >= GRAM_CACHE_WORDS:
                self._gram_cache.clear()
            vocab = self._vocab
            found = np.array(
                [i for g in char_grams(word) if (i := vocab.get(g)) is not None], dtype=np.int64
            )
            self._gram_cache[word] = found
        return found

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(vocabulary indices, counts) of the text: the same features as `analyze`."""
        words = tokens(text)
        vocab = self._vocab
        ids = [i for w in words if (i := vocab.get(f"w:{w}")) is not None]
        ids.extend(i for a, b in pairwise(words) if (i := vocab.get(f"w:{a} {b}")) is not None)
        parts = [np.array(ids, dtype=np.int64), *(self._grams_of(w) for w in set(words))]
        return np.unique(np.concatenate(parts), return_counts=True)

    def logits(self, text: str) -> np.ndarray:
        """Raw class scores (before temperature), exactly as the trained pipeline computes them."""
        idx, tf = self.features(text)
        if idx.size == 0:
            return self._intercept.astype(np.float64)
        weights = (1.0 + np.log(tf)) * self._idf[idx]
        norm = math.sqrt(float(weights @ weights))
        if norm > 0:
            weights /= norm
        return weights @ self._coef[idx] + self._intercept

    def probabilities(self, text: str) -> np.ndarray:
        return softmax(self.logits(text) / self.temperature)

    def issue_areas(self, text: str) -> list[str]:
        """The distinct tags of a ticket's separate issues, when it raises more than one."""
        parts = split_issues(text[:MAX_CHARS])
        if len(parts) < 2:
            return []
        found: list[str] = []
        for part in parts:
            probs = self.probabilities(part)
            best = int(np.argmax(probs))
            if probs[best] >= PART_CONFIDENCE and self.tags[best] not in found:
                found.append(self.tags[best])
        return found

    def predict(self, text: str) -> Prediction:
        probs = self.probabilities(text)
        best = int(np.argmax(probs))  # first maximum: ties break by tag order
        tag = self.tags[best]
        signals = read_signals(text)
        notes = [f"complaint:{name}" for name in signals.complaints]
        if signals.sarcasm:
            notes.append("sarcasm")
        areas = self.issue_areas(text)
        if len(areas) > 1:
            notes.append(f"{MULTI_ISSUE_NOTE}:{'+'.join(areas)}")
        return Prediction(
            tag=tag,
            confidence=round(float(probs[best]), 4),
            sentiment=signals.sentiment,
            scores={t: round(float(p), 4) for t, p in zip(self.tags, probs, strict=True)},
            model_version=self.version,
            notes=notes,
            calibrated_threshold=self.thresholds.get(tag),
        )


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
