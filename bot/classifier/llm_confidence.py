"""Raw confidence for an LLM's tag: from token logprobs, or from agreement with the local model.

Neither number is trusted as-is: bot.classifier.llm_calibration maps it to a calibrated
confidence (or caps it while there is no human-decided data to calibrate against).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LOGPROBS = "logprobs"
AGREEMENT = "agreement"

_TAG_VALUE = re.compile(r'"tag"\s*:\s*"')


@dataclass(frozen=True)
class RawConfidence:
    """How sure the LLM looked before calibration, and how that was measured."""

    method: str
    value: float
    scores: dict[str, float]


def _field(token: Any, name: str) -> Any:
    return token.get(name) if isinstance(token, Mapping) else getattr(token, name, None)


def from_logprobs(
    content: str, tokens: Sequence[Any] | None, tag: str, tags: Sequence[str]
) -> RawConfidence | None:
    """P(tag) = product of the probabilities of the tokens that spell the tag value.

    Alternatives offered at the first tag token (top_logprobs) give the runner-up
    tags. Returns None when the tokens do not spell the answer (then agreement is used).
    """
    if not tokens:
        return None
    pieces = [str(_field(t, "token") or "") for t in tokens]
    if "".join(pieces) != content:
        return None
    match = _TAG_VALUE.search(content)
    if match is None or content[match.end() : match.end() + len(tag)] != tag:
        return None
    start, end = match.end(), match.end() + len(tag)
    position = 0
    spelling: list[tuple[int, Any]] = []
    for piece, token in zip(pieces, tokens, strict=True):
        if position < end and position + len(piece) > start:
            spelling.append((position, token))
        position += len(piece)
    logprobs = [_field(token, "logprob") for _, token in spelling]
    if not spelling or any(not isinstance(lp, int | float) for lp in logprobs):
        return None
    probability = math.exp(min(0.0, sum(logprobs)))
    scores = {tag: probability}
    first_at, first = spelling[0]
    prefix = content[first_at:start]  # e.g. the opening quote when it shares the token
    for alternative in _field(first, "top_logprobs") or []:
        text = str(_field(alternative, "token") or "")
        logprob = _field(alternative, "logprob")
        if text == _field(first, "token") or not isinstance(logprob, int | float):
            continue
        if not text.startswith(prefix) or not text[len(prefix) :]:
            continue
        fragment = text[len(prefix) :]
        others = [
            t for t in tags if t != tag and (t.startswith(fragment) or fragment.startswith(t))
        ]
        for other in others:
            scores[other] = scores.get(other, 0.0) + math.exp(logprob) / len(others)
    return RawConfidence(LOGPROBS, probability, {k: round(v, 4) for k, v in scores.items()})


def from_agreement(tag: str, local_tag: str, local_scores: Mapping[str, float]) -> RawConfidence:
    """Without logprobs: high when the local model's top tag is the LLM's, low otherwise."""
    support = float(local_scores.get(tag, 0.0))
    value = (1.0 + support) / 2 if local_tag == tag else support / 2
    scores = {tag: round(value, 4)}
    if local_tag != tag:
        scores[local_tag] = round(float(local_scores.get(local_tag, 0.0)), 4)
    return RawConfidence(AGREEMENT, value, scores)
