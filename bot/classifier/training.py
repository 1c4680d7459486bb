"""Training the local model: labelled file + human decisions → model file with thresholds.

Steps (all deterministic):
1. examples = the labelled file's rows plus every human decision in the store
   (an approve confirms the proposed tag, a reassign gives the corrected tag);
2. a calibration part: the caller's held-out real examples (`calibration=`), else a fixed,
   hash-based share of the examples;
3. features = TF-IDF (word 1-2-grams + character 3-5-grams) next to the static sentence
   embedding (bot.classifier.embedding); one linear model fitted on the fit part;
4. a softmax temperature: fitted on the given calibration part's logits (its real examples
   when it has any: keys starting with `synthetic:` are left out), or, with the hash split,
   on out-of-fold logits of the fit part;
5. per tag, the lowest threshold whose Clopper-Pearson lower bound of precision on the
   calibration part meets the target (bot.classifier.calibration);
6. prototypes (embeddings of fit tickets) and the `unfamiliar` threshold: the familiarity
   below which a ticket is unlike the training data, set on the calibration part (and on
   known not-a-ticket text, `ood=`, when given).
The shipped model is exactly the one the thresholds were measured for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bot.classifier.calibration import (
    TagThreshold,
    choose_threshold,
    clopper_pearson_lower,
    expected_calibration_error,
    fit_temperature,
    min_trials,
)
from bot.classifier.features import analyze
from bot.classifier.local import FORMAT, ModelArrays, familiarity, softmax
from bot.intake.files import read_ticket_file

CALIBRATION_SHARE = 40  # percent of examples held out of fitting to set thresholds
MAX_FEATURES = 60_000
# The model kind and its regularisation were chosen by `triage-bot train --compare`.
DEFAULT_KIND = "svm"
DEFAULT_C = {"logreg": 20.0, "svm": 0.5}
TEMPERATURE_FOLDS = 5
EMBEDDING_WEIGHT = 1.0  # the embedding block's scale next to the unit-length TF-IDF row
MAX_PROTOTYPES = 1024  # k-means centres of training tickets that define "familiar" text
KMEANS_POINTS = 8192  # training vectors the centres are fitted on (a fixed stride)
UNFAMILIAR_MISS = 0.03  # share of held-out in-domain tickets allowed below the threshold
OOD_PASS = 0.10  # with known not-a-ticket text: share of it allowed above the threshold
SYNTHETIC_PREFIX = "synthetic:"
SYNTHETIC_FLOOR = 0.9  # lowest threshold a tag calibrated mostly on synthetic tickets gets
# Tickets one model is fitted on at most: the fit holds its feature matrix twice (scikit-learn's
# float64 copy and liblinear's own), so memory grows with the rows fitted. Past this many, each
# tag keeps an equal share (a tag with fewer keeps all of its own), human decisions first, the
# rest by a hash of their key. Every real ticket still serves as held-out evidence.
MAX_FIT_ROWS = 40_000
SCORE_ROWS = 4096  # held-out tickets scored at a time: memory stays flat whatever their number


@dataclass(frozen=True)
class Example:
    key: str  # a stable id: "file:<ticket id>" or "human:<ticket id>"
    text: str
    tag: str
    group: str = ""  # the file's optional `family` column: rows built from one phrasing


@dataclass(frozen=True)
class LabelProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class LabelledRow:
    line: int
    ticket_id: str
    text: str
    tag: str
    raw: dict[str, Any]


def iter_labelled_file(
    path: Path,
    tags: Sequence[str],
    fmt: str | None = None,
    untagged: Callable[[dict[str, Any]], bool] | None = None,
) -> Iterator[LabelledRow | LabelProblem]:
    """Each row in order: a row with a known `tag`, or a problem with its line number.

    Streams the file, so callers that aggregate (eval) read any size in bounded memory.
    `untagged(raw)` true lets a row without `tag` through with tag "" (eval's tone labels).
    """
    known = set(tags)
    for row in read_ticket_file(path, fmt):
        if row.ticket is None:
            yield LabelProblem(row.line, row.problem.message if row.problem else "unusable row")
            continue
        raw = row.raw or {}
        tag = str(raw.get("tag") or "").strip()
        if not tag:
            if untagged is not None and untagged(dict(raw)):
                yield LabelledRow(row.line, row.ticket.id, row.ticket.text, "", dict(raw))
            else:
                yield LabelProblem(row.line, f"ticket {row.ticket.id}: no label in 'tag'")
            continue
        if tag not in known:
            yield LabelProblem(
                row.line,
                f"ticket {row.ticket.id}: unknown tag {tag!r} (known: {', '.join(tags)})",
            )
            continue
        yield LabelledRow(row.line, row.ticket.id, row.ticket.text, tag, dict(raw))


def read_labelled_file(
    path: Path, tags: Sequence[str], fmt: str | None = None
) -> tuple[list[LabelledRow], list[LabelProblem]]:
    """Rows with a known `tag`; every other row is a problem with its line number."""
    rows: list[LabelledRow] = []
    problems: list[LabelProblem] = []
    for item in iter_labelled_file(path, tags, fmt):
        (problems if isinstance(item, LabelProblem) else rows).append(item)  # type: ignore[arg-type]
    return rows, problems


def file_examples(rows: Iterable[LabelledRow]) -> list[Example]:
    return [
        Example(f"file:{r.ticket_id}", r.text, r.tag, str(r.raw.get("family") or "").strip())
        for r in rows
    ]


def is_calibration(key: str) -> bool:
    """A fixed assignment by hash: the same example always lands in the same part."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < CALIBRATION_SHARE


def _keep_order(example: Example) -> tuple[bool, bytes]:
    """Which rows a capped fit keeps first: human decisions, then a fixed hash order."""
    digest = hashlib.sha256(f"fit:{example.key}".encode()).digest()
    return (not example.key.startswith("human:"), digest)


def cap_fit_rows(examples: Sequence[Example], limit: int | None = None) -> list[Example]:
    """At most `limit` (MAX_FIT_ROWS) examples, in their given order: the largest equal
    share per tag that fits (a tag with fewer keeps all of its own), chosen by
    `_keep_order`. Deterministic, whatever the order of `examples`."""
    limit = MAX_FIT_ROWS if limit is None else limit
    if len(examples) <= limit:
        return list(examples)
    by_tag: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        by_tag.setdefault(e.tag, []).append(i)
    counts = sorted(len(rows) for rows in by_tag.values())
    share, left = 0, limit
    for n, size in enumerate(counts):  # water-filling: small tags first, their rest shared
        share = left // (len(counts) - n)
        if size > share:
            break
        left -= size
    else:
        share = counts[-1]
    keep: list[int] = []
    for rows in by_tag.values():
        keep.extend(sorted(rows, key=lambda i: _keep_order(examples[i]))[:share])
    return [examples[i] for i in sorted(keep)]


def make_vectorizer(max_features: int = MAX_FEATURES):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer=analyze, sublinear_tf=True, min_df=2, max_features=max_features, dtype=np.float32
    )


def make_logreg(c: float = 20.0):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=3000)


def make_svm(c: float = 0.5):
    from sklearn.svm import LinearSVC

    return LinearSVC(C=c, max_iter=20_000, random_state=0)


def make_linear(kind: str, c: float):
    """The linear model behind the logits: logistic regression or a linear SVM."""
    if kind == "logreg":
        return make_logreg(c)
    if kind == "svm":
        return make_svm(c)
    raise ValueError(f"unknown model kind {kind!r}; use 'logreg' or 'svm'")


def _label_index(examples: Sequence[Example], tags: Sequence[str]) -> np.ndarray:
    index = {t: i for i, t in enumerate(tags)}
    return np.array([index[e.tag] for e in examples])


def out_of_fold_logits(x, y: np.ndarray, c: float, folds: int, kind: str = "logreg") -> np.ndarray:
    """Logits for each row from a model that did not see it (stratified K-fold, fixed seed)."""
    from sklearn.model_selection import StratifiedKFold

    logits = np.zeros((x.shape[0], int(y.max()) + 1))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for fit_idx, held_idx in splitter.split(np.zeros(len(y)), y):
        model = make_linear(kind, c).fit(x[fit_idx], y[fit_idx])
        scores = model.decision_function(x[held_idx])
        logits[np.ix_(held_idx, model.classes_)] = scores
    return logits


def to_arrays(
    vectorizer, model, n_tags: int, meta: dict[str, Any], prototypes: np.ndarray | None = None
) -> ModelArrays:
    """A fitted vectorizer + linear model as the model file's arrays.

    Columns past the vocabulary are the embedding's; its scale is folded into `emb_coef`.
    """
    n_terms = len(vectorizer.idf_)
    coef = np.zeros((n_tags, model.coef_.shape[1]))
    intercept = np.zeros(n_tags)
    coef[model.classes_] = model.coef_
    intercept[model.classes_] = model.intercept_
    emb_coef = None
    if coef.shape[1] > n_terms:
        emb_coef = (coef[:, n_terms:].T * EMBEDDING_WEIGHT).astype(np.float32)
    return ModelArrays(
        terms=[str(t) for t in vectorizer.get_feature_names_out()],
        idf=vectorizer.idf_.astype(np.float32),
        coef=coef[:, :n_terms].T.astype(np.float32),
        intercept=intercept.astype(np.float32),
        meta=meta,
        emb_coef=emb_coef,
        prototypes=prototypes,
    )


@dataclass
class TrainReport:
    """What a training run did: sizes, thresholds, calibration figures."""

    version: str
    n_fit: int
    n_calibration: int
    n_human: int
    temperature: float
    thresholds: list[TagThreshold]
    calibration_accuracy: float
    calibration_ece: float
    meta: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        available = self.meta.get("n_fit_available")
        of = (
            f" of {available} (at most {MAX_FIT_ROWS}, an equal share per tag)" if available else ""
        )
        out = [
            f"model {self.version}: fitted on {self.n_fit}{of} tickets "
            f"({self.n_human} from human decisions), calibrated on {self.n_calibration}",
            f"temperature {self.temperature:.3f}; calibration accuracy {self.calibration_accuracy:.3f}, "
            f"ECE {self.calibration_ece:.3f}",
            f"{'tag':<18} {'threshold':>9} {'support':>8} {'correct':>8} {'lower bound':>11}",
        ]
        for t in self.thresholds:
            shown = "never" if t.threshold is None else f"{t.threshold:.4f}"
            out.append(
                f"{t.tag:<18} {shown:>9} {t.support:>8} {t.correct:>8} {t.lower_bound:>11.4f}"
            )
        return out


def _version(examples: Sequence[Example], params: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for e in examples:
        digest.update(f"{e.key}\x00{e.tag}\x00{e.text}\x01".encode())
    short = {"logreg": "lr"}.get(str(params.get("kind")), str(params.get("kind")))
    return f"tfidf-{short}-{digest.hexdigest()[:12]}"


def train(
    examples: Sequence[Example],
    tags: Sequence[str],
    target_precision: float = 0.97,
    confidence: float = 0.95,
    c: float | None = None,
    max_features: int = MAX_FEATURES,
    folds: int = TEMPERATURE_FOLDS,
    kind: str = DEFAULT_KIND,
    *,
    calibration: Sequence[Example] | None = None,
    ood: Sequence[str] | None = None,
    embedding: bool = True,
    provenance: dict[str, Any] | None = None,
    familiar_exclude: tuple[str, ...] = (),
    background: Sequence[str] = (),
    calibrate: bool = True,
) -> tuple[ModelArrays, TrainReport]:
    """Fit, calibrate and choose thresholds; deterministic for the same examples.

    `calibration`: held-out labelled examples, ideally the team's real tickets, used only
    for the temperature, the per-tag thresholds and the unfamiliar threshold (never fitted
    on); without it a fixed hash-based share of `examples` is held out instead. Examples
    whose key starts with `synthetic:` never set the temperature when real ones exist.
    `ood`: texts known not to be tickets (chit-chat, docs, other domains) that help place
    the unfamiliar threshold. `embedding=False` trains TF-IDF alone (format 1 features).
    `provenance` is stored in the model's metadata (sources, commits, sha256s).
    `familiar_exclude`: key prefixes of examples that neither define familiar text nor
    place the unfamiliar threshold (real praise posts about anything: the praise gate, not
    familiarity, decides those).
    `background`: texts that belong to no tag (informal posts that are not praise). They
    are fitted as one extra class whose row is dropped from the model file, so every tag
    learns them as "not me": informal wording stops being evidence for the one tag whose
    training text is informal. They never calibrate, nor define familiar text.
    `calibrate=False`: the caller sets temperature, thresholds and the unfamiliar threshold
    itself (cross-fitting scores its own held-out folds): the calibration part is not scored,
    and the model's meta carries no thresholds until the caller writes them.
    At most MAX_FIT_ROWS examples are fitted (see `cap_fit_rows`).
    Returns the model arrays (save with bot.classifier.local.save_model) and a report.
    """
    from threadpoolctl import threadpool_limits

    c = DEFAULT_C[kind] if c is None else c
    # One BLAS thread: multi-threaded reductions may differ in the last bits between runs.
    with threadpool_limits(limits=1):
        return _train(
            examples,
            tags,
            target_precision,
            confidence,
            c,
            max_features,
            folds,
            kind,
            calibration=calibration,
            ood=ood,
            embedding=embedding,
            provenance=provenance,
            familiar_exclude=familiar_exclude,
            background=background,
            calibrate=calibrate,
        )


def _embedder(enabled: bool):
    if not enabled:
        return None
    from bot.classifier.embedding import shared_embedding

    return shared_embedding()


STACK_ROWS = 4096  # rows stacked at a time: the temporaries stay small


def _features(vectorizer, embedder, texts: Sequence[str], fit: bool = False, wide: bool = False):
    """(sparse feature matrix, embeddings or None): TF-IDF next to the scaled embedding.

    `wide`: the matrix in float64, as the linear SVM reads it (liblinear takes float64 and
    copies it once more into its own rows), so that no float32 copy is held beside it.
    Either way it is stacked a block of rows at a time, into arrays of the final size,
    with the same values in the same order as one `hstack` of the whole.
    """
    tfidf = vectorizer.fit_transform(texts) if fit else vectorizer.transform(texts)
    if embedder is None:
        return (tfidf.astype(np.float64) if wide else tfidf), None
    vectors = embedder.encode(list(texts))
    scaled = vectors if EMBEDDING_WEIGHT == 1.0 else vectors * EMBEDDING_WEIGHT
    return _stack(tfidf, scaled, wide), vectors


def _stack(tfidf, dense: np.ndarray, wide: bool):
    """`hstack([tfidf, csr_matrix(dense)], format="csr")`, a block of rows at a time.

    `wide`: widened to float64 as scikit-learn widens a whole float32 matrix (which also
    puts each row's columns in order), so the solver sums in the same order."""
    from scipy.sparse import csr_matrix, hstack

    n = tfidf.shape[0]
    nnz = tfidf.nnz + int(np.count_nonzero(dense))
    if nnz >= 2**31:
        raise ValueError("too many features for one matrix; train on fewer tickets")
    data = np.empty(nnz, dtype=np.float64 if wide else np.result_type(tfidf.dtype, dense.dtype))
    indices = np.empty(nnz, dtype=np.int32)
    indptr = np.zeros(n + 1, dtype=np.int32)
    at = 0
    for start in range(0, n, STACK_ROWS):
        stop = min(n, start + STACK_ROWS)
        block = hstack([tfidf[start:stop], csr_matrix(dense[start:stop])], format="csr")
        if wide:
            block = block.astype(np.float64)
        size = block.nnz
        data[at : at + size] = block.data
        indices[at : at + size] = block.indices
        indptr[start + 1 : stop + 1] = block.indptr[1:] + at
        at += size
    return csr_matrix((data, indices, indptr), shape=(n, tfidf.shape[1] + dense.shape[1]))


def choose_unfamiliar(
    in_domain: np.ndarray, ood: np.ndarray | None
) -> tuple[float | None, dict[str, Any]]:
    """The familiarity threshold: at most UNFAMILIAR_MISS of held-out tickets fall below it;
    with known not-a-ticket text, as high as needed to let at most OOD_PASS of it through,
    but never so high that more than twice UNFAMILIAR_MISS of real tickets are lost."""
    if in_domain.size == 0:
        return None, {}
    floor = float(np.quantile(in_domain, UNFAMILIAR_MISS, method="lower"))
    threshold = floor
    evidence: dict[str, Any] = {"in_domain": int(in_domain.size)}
    if ood is not None and ood.size:
        wanted = float(np.quantile(ood, 1.0 - OOD_PASS, method="higher"))
        ceiling = float(np.quantile(in_domain, 2 * UNFAMILIAR_MISS, method="lower"))
        threshold = max(floor, min(wanted, ceiling))
        evidence.update(ood=int(ood.size), ood_passed=round(float((ood >= threshold).mean()), 4))
    evidence["in_domain_flagged"] = round(float((in_domain < threshold).mean()), 4)
    return round(threshold, 4), evidence


def _train(
    examples: Sequence[Example],
    tags: Sequence[str],
    target_precision: float,
    confidence: float,
    c: float,
    max_features: int,
    folds: int,
    kind: str,
    *,
    calibration: Sequence[Example] | None,
    ood: Sequence[str] | None,
    embedding: bool,
    provenance: dict[str, Any] | None,
    familiar_exclude: tuple[str, ...] = (),
    background: Sequence[str] = (),
    calibrate: bool = True,
) -> tuple[ModelArrays, TrainReport]:
    examples = sorted(examples, key=lambda e: e.key)
    present = {e.tag for e in examples}
    missing = [t for t in tags if t not in present]
    if missing:
        raise ValueError(f"no training examples for tag(s): {', '.join(missing)}")
    if calibration is None:
        fit = [e for e in examples if not is_calibration(e.key)]
        calib = [e for e in examples if is_calibration(e.key)]
    else:
        fit = list(examples)
        calib = sorted(calibration, key=lambda e: e.key)
    if not calib or not {e.tag for e in fit} >= set(tags):
        raise ValueError("too few examples to split into fit and calibration parts")
    available = len(fit)
    fit = cap_fit_rows(fit)
    y_fit = _label_index(fit, tags)
    y_cal = _label_index(calib, tags)
    embedder = _embedder(embedding)
    vectorizer = make_vectorizer(max_features)
    background = sorted(background)
    wide = kind == "svm"  # liblinear reads float64: build it so, and only once
    x_all, v_all = _features(
        vectorizer, embedder, [e.text for e in fit] + list(background), fit=True, wide=wide
    )
    # The embeddings are read again after the fit (the same vectors): not held beside it.
    del v_all
    if background:
        y_all = np.concatenate([y_fit, np.full(len(background), len(tags))])
        model = _TagRows(make_linear(kind, c).fit(x_all, y_all), len(tags))
        x_fit = None  # only the out-of-fold pass reads it, and it never runs with background
        del x_all
    else:
        x_fit = x_all  # no copy: every row is a fit row
        del x_all
        model = make_linear(kind, c).fit(x_fit, y_fit)
    if calibration is not None:
        x_fit = None  # the out-of-fold pass runs only on a hash split: free it now
    real = np.array([not e.key.startswith(SYNTHETIC_PREFIX) for e in calib])
    if not real.any():
        real[:] = True
    if calibration is None and background:
        raise ValueError("background texts need a given calibration part")
    if not calibrate:
        # The caller scores its own held-out tickets: nothing here reads the calibration part.
        logits, v_cal, y_scored = np.zeros((0, len(tags))), None, y_cal[:0]
        temperature = 1.0
    else:
        logits, v_cal = _score(vectorizer, embedder, model, [e.text for e in calib], len(tags))
        y_scored = y_cal
        if calibration is None:
            # A hash-split share of the same file: out-of-fold logits of the fit part set the
            # temperature, so the calibration part stays for the thresholds alone.
            smallest = int(np.bincount(y_fit, minlength=len(tags)).min())
            assert x_fit is not None
            oof = out_of_fold_logits(x_fit, y_fit, c, max(2, min(folds, smallest)), kind)
            temperature = fit_temperature(oof, y_fit)
        else:  # the held-out (real) tickets set the temperature too, not the fitted ones
            temperature = fit_temperature(logits[real], y_cal[real])
    x_fit = None
    probs = softmax(logits / temperature)
    predicted = probs.argmax(axis=1)
    top = probs.max(axis=1)
    right = predicted == y_scored
    chosen = [
        choose_threshold(
            tag, top[predicted == i], right[predicted == i], target_precision, confidence
        )
        for i, tag in enumerate(tags)
    ]
    if calibrate and not real.all():
        chosen = [
            _floor_synthetic(
                t, calib, top[predicted == i], right[predicted == i], target_precision, confidence
            )
            for i, t in enumerate(chosen)
        ]
    prototypes = None
    unfamiliar: dict[str, Any] = {}
    if embedder is not None:
        ticket_like = [e.text for e in fit if not e.key.startswith(familiar_exclude)]
        prototypes = _prototypes(embedder.encode(ticket_like))
        del ticket_like
        threshold, evidence = None, {}
        if v_cal is not None:
            placing = np.array([not e.key.startswith(familiar_exclude) for e in calib])
            threshold, evidence = choose_unfamiliar(
                _familiarity(v_cal[placing], prototypes),
                _familiarity(embedder.encode(list(ood)), prototypes) if ood else None,
            )
        unfamiliar = {"threshold": threshold, "evidence": evidence, "miss": UNFAMILIAR_MISS}
    fmt = FORMAT if embedder is not None else 1
    params = {
        "kind": kind,
        "c": c,
        "max_features": max_features,
        "folds": folds,
        "calibration_share": CALIBRATION_SHARE if calibration is None else None,
        "target_precision": target_precision,
        "confidence": confidence,
        "format": fmt,
        "embedding_weight": EMBEDDING_WEIGHT if embedder is not None else None,
        "synthetic_floor": SYNTHETIC_FLOOR if not real.all() else None,
        "unfamiliar_miss": UNFAMILIAR_MISS if embedder is not None else None,
        "prototypes": [MAX_PROTOTYPES, KMEANS_POINTS] if embedder is not None else None,
    }
    if calibration is not None:
        params["held_out"] = "given"
    if familiar_exclude:
        params["familiar_exclude"] = list(familiar_exclude)
    if available > len(fit):  # only then: a model below the cap keeps its version
        params["max_fit_rows"] = MAX_FIT_ROWS
    if background:
        params["background"] = hashlib.sha256("\x01".join(background).encode()).hexdigest()[:16]
    version = _version([*examples, *calib] if calibration is not None else examples, params)
    n_human = sum(1 for e in fit if e.key.startswith("human:"))
    meta = {
        "format": fmt,
        "version": version,
        "tags": list(tags),
        "temperature": temperature,
        "thresholds": {t.tag: t.threshold for t in chosen},
        "threshold_evidence": [t.as_dict() for t in chosen],
        "target_precision": target_precision,
        "confidence": confidence,
        "params": params,
        "n_fit": len(fit),
        "n_calibration": len(calib),
        "n_human": sum(1 for e in [*fit, *calib] if e.key.startswith("human:")),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if background:
        meta["n_background"] = len(background)
    if available > len(fit):
        meta["n_fit_available"] = available
    if embedder is not None:
        meta["embedding"] = {"table_sha256": embedder.table_sha256, "dims": embedder.dims}
        meta["unfamiliar"] = unfamiliar
    if provenance:
        meta["provenance"] = provenance
    arrays = to_arrays(vectorizer, model, len(tags), meta, prototypes)
    report = TrainReport(
        version=version,
        n_fit=len(fit),
        n_calibration=len(calib),
        n_human=n_human,
        temperature=temperature,
        thresholds=chosen,
        calibration_accuracy=float(right.mean()) if right.size else float("nan"),
        calibration_ece=expected_calibration_error(top, right.astype(float))
        if right.size
        else float("nan"),
        meta=meta,
    )
    return arrays, report


def _score(vectorizer, embedder, model, texts: Sequence[str], n_tags: int):
    """(logits, embeddings or None) of texts, SCORE_ROWS at a time so memory stays flat.

    Float32 features, columns as stacked, one row's product over its own entries: the
    same scores as one matrix of all the texts."""
    logits = np.full((len(texts), n_tags), -1e9)
    vectors = None if embedder is None else np.zeros((len(texts), embedder.dims), np.float32)
    for start in range(0, len(texts), SCORE_ROWS):
        stop = min(len(texts), start + SCORE_ROWS)
        x, v = _features(vectorizer, embedder, texts[start:stop])
        logits[start:stop, model.classes_] = model.decision_function(x)
        if vectors is not None and v is not None:
            vectors[start:stop] = v
    return logits, vectors


def _familiarity(vectors: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """`familiarity` SCORE_ROWS at a time: its similarity matrix is rows x prototypes."""
    parts = [
        familiarity(vectors[start : start + SCORE_ROWS], prototypes)
        for start in range(0, len(vectors), SCORE_ROWS)
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


class _TagRows:
    """A linear model fitted with an extra background class, seen through its tag rows only
    (one-vs-rest: each tag's row was fitted with the background as negatives)."""

    def __init__(self, model, n_tags: int) -> None:
        keep = model.classes_ < n_tags
        self.classes_ = model.classes_[keep]
        self.coef_ = model.coef_[keep]
        self.intercept_ = model.intercept_[keep]

    def decision_function(self, x) -> np.ndarray:
        return np.asarray(x @ self.coef_.T) + self.intercept_


def _floor_synthetic(
    chosen: TagThreshold,
    calib: Sequence[Example],
    confidences: np.ndarray,
    correct: np.ndarray,
    target: float,
    confidence: float,
) -> TagThreshold:
    """A threshold resting mostly on synthetic tickets is never below SYNTHETIC_FLOOR.

    Synthetic tickets are easier than real ones; a threshold they alone justify (fewer
    real held-out tickets of the tag than could prove the target) is raised to the floor
    and its evidence recounted at the new threshold.
    """
    real_n = sum(1 for e in calib if e.tag == chosen.tag and not e.key.startswith(SYNTHETIC_PREFIX))
    if chosen.threshold is None or chosen.threshold >= SYNTHETIC_FLOOR:
        return chosen
    if real_n >= min_trials(target, confidence):
        return chosen
    keep = confidences >= SYNTHETIC_FLOOR
    support, hits = int(keep.sum()), int(correct[keep].sum())
    if support == 0:
        return TagThreshold(chosen.tag, None, 0, 0, 0.0, chosen.predicted)
    return TagThreshold(
        chosen.tag,
        SYNTHETIC_FLOOR,
        support,
        hits,
        clopper_pearson_lower(hits, support, confidence),
        chosen.predicted,
    )


def _prototypes(vectors: np.ndarray) -> np.ndarray:
    """Unit-length k-means centres of the fit embeddings (fixed seed): what familiar looks like.

    Centres instead of every ticket keep the comparison cheap at serving time (one small
    matrix product per batch) while covering each kind of ticket the model was trained on.
    """
    from sklearn.cluster import KMeans

    points = np.unique(vectors[np.linalg.norm(vectors, axis=1) > 0], axis=0)
    if len(points) <= MAX_PROTOTYPES:
        centres = points
    else:
        # A fixed stride of at most KMEANS_POINTS points keeps fitting to a second or two.
        sample = points[:: -(-len(points) // KMEANS_POINTS)]
        km = KMeans(n_clusters=MAX_PROTOTYPES, n_init=1, random_state=0, max_iter=100)
        centres = km.fit(sample).cluster_centers_
    norms = np.linalg.norm(centres, axis=1, keepdims=True)
    return (centres / np.maximum(norms, 1e-12)).astype(np.float16).astype(np.float32)
