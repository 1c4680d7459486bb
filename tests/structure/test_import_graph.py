"""The import graph flows one way: no cycles, and nothing below `bot.app` imports it."""

from __future__ import annotations

from pathlib import Path

from tests.structure.import_graph import below, cycles, graph, imports_of, modules

ROOT = Path(__file__).resolve().parents[2]


def test_the_checker_sees_lazy_type_checking_and_relative_imports(tmp_path: Path):
    pkg = tmp_path / "bot"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import leaf\n")
    (pkg / "sub" / "leaf.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bot.top import Thing\n"
        "def f():\n    import bot.other\n"
    )
    (pkg / "top.py").write_text("from bot.sub.leaf import f\nThing = 1\n")
    (pkg / "other.py").write_text("from . import top\n")
    known = modules(tmp_path, ["bot"])
    assert imports_of("bot.sub", known["bot.sub"], known) == {"bot.sub.leaf"}
    edges = graph_of(tmp_path)
    assert edges["bot.sub.leaf"] == {"bot.top", "bot.other"}
    assert edges["bot.other"] == {"bot", "bot.top"}  # `.` in a module is its package
    assert cycles(edges) == [["bot.other", "bot.sub.leaf", "bot.top"]]
    assert below(edges, "bot.top") == {"bot", "bot.sub.leaf", "bot.other", "bot.top"}


def graph_of(root: Path) -> dict[str, set[str]]:
    known = modules(root, ["bot"])
    return {name: imports_of(name, path, known) for name, path in known.items()}


def test_no_import_cycles_in_bot_and_handlers():
    edges = graph(ROOT)
    assert len(edges) > 50  # the whole project was read, not an empty tree
    assert cycles(edges) == []


def test_nothing_below_the_app_imports_it():
    edges = graph(ROOT)
    lower = below(edges, "bot.app")
    assert "bot.runtime" in lower and "bot.store" in lower
    assert not {m for m in lower if "bot.app" in edges[m]}
    # Only command modules (the top of the graph) build the app.
    importers = {m for m, deps in edges.items() if "bot.app" in deps}
    assert all(m.startswith("bot.commands.") for m in importers), importers
