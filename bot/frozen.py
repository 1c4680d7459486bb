"""Frozen dataclasses built as fast as plain ones.

A frozen dataclass's generated `__init__` sets each field through `object.__setattr__` (its
own `__setattr__` refuses): about five times what a plain class costs. `classify` makes
several such objects per ticket (a prediction, its signals and tone, the result), so those
classes get an `__init__` that fills the instance's `__dict__` directly instead: the same
parameters, defaults and default factories, the same fields in the same order, and the same
immutability afterwards.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

T = TypeVar("T")


class _Factory:
    """The default of a field with a default factory (shown as dataclasses show it)."""

    def __repr__(self) -> str:
        return "<factory>"


def fast_init(cls: type[T]) -> type[T]:
    """Give a frozen dataclass (no `__post_init__`, no keyword-only or init-less fields)
    an `__init__` that stores its fields at once; apply it above `@dataclass`."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    if (
        not params.frozen
        or hasattr(cls, "__post_init__")
        or any(not f.init or f.kw_only for f in fields)
    ):
        raise TypeError(f"{cls.__name__}: fast_init is for plain frozen dataclasses")
    namespace: dict[str, object] = {"_FACTORY": _Factory()}
    args, body = [], []
    for f in fields:
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            args.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            args.append(f"{f.name}=_FACTORY")
            body.append(f"    if {f.name} is _FACTORY: {f.name} = _factory_{f.name}()")
        else:
            args.append(f.name)
    body.append("    fields = self.__dict__")
    body.extend(f"    fields[{f.name!r}] = {f.name}" for f in fields)
    source = f"def __init__(self, {', '.join(args)}) -> None:\n" + "\n".join(body)
    exec(source, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[misc]
    return cls
