"""A frozen dataclass with `fast_init` is built exactly as `@dataclass` builds it, and stays frozen."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from bot.classifier.base import Prediction, Sentiment
from bot.classifier.sentiment import Tone
from bot.classifier.signals import TextSignals
from bot.frozen import fast_init
from bot.intake.files import Row
from bot.triage import TriageResult


def _plain(cls: type) -> type:
    """The same class as `@dataclass(frozen=True)` alone makes it."""
    fields = [(f.name, f.type, f) for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass(cls.__name__, fields, frozen=True)


def _same(built: object, reference: object) -> None:
    assert vars(built) == vars(reference)
    assert list(vars(built)) == list(vars(reference))


@pytest.mark.parametrize("cls", [Prediction, Tone, TextSignals, Row, TriageResult])
def test_the_fast_init_takes_the_same_arguments_and_stores_the_same_fields(cls):
    plain = _plain(cls)
    assert list(inspect.signature(cls).parameters) == list(inspect.signature(plain).parameters)
    for name, param in inspect.signature(plain).parameters.items():
        default = inspect.signature(cls).parameters[name].default
        assert default == param.default or repr(default) == repr(param.default) == "<factory>"
    required = {
        n: object() for n, p in inspect.signature(plain).parameters.items() if p.default is p.empty
    }
    built, reference = cls(**required), plain(**required)
    _same(built, reference)
    everything = {n: object() for n in inspect.signature(plain).parameters}
    _same(cls(**everything), plain(**everything))
    _same(cls(*everything.values()), plain(*everything.values()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.x = 1  # type: ignore[attr-defined]


def test_default_factories_give_each_instance_its_own_value():
    first = Prediction("bug", 0.9, Sentiment.NEUTRAL, {}, "v1")
    second = Prediction("bug", 0.9, Sentiment.NEUTRAL, {}, "v1")
    assert first.notes == [] and first.notes is not second.notes
    assert first == second and hash(TextSignals((), False, Sentiment.NEUTRAL)) == hash(
        TextSignals((), False, Sentiment.NEUTRAL)
    )


def test_a_class_it_cannot_build_exactly_is_refused():
    @dataclasses.dataclass
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (Mutable, Checked):
        with pytest.raises(TypeError):
            fast_init(cls)
