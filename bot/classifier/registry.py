"""The model registry: every model the deployment trained, which one routes, which came before.

Files live next to MODEL_PATH, in `<stem>.versions/` (e.g. `models/triage-model.versions/`):
one `<version>.npz` per model and `registry.json`, the index. MODEL_PATH itself is always a
copy of the live model, so every `serve` process keeps picking it up as before
(bot.classifier.jobs.reload_if_changed). A promotion archives the live file first, so the
previous model is always on disk for `triage-bot model rollback`.

`lineage` is what ties launch-gate evidence to models: the versions whose decided proposals
count for the live model. A model promoted after shadow scoring (at least as precise as the
one it replaces) inherits its predecessor's lineage; one promoted without scoring starts
its own, so the gate must be earned again.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.classifier.local import LocalModel, ModelArrays, save_model
from bot.models import utcnow

INDEX = "registry.json"
KEEP_FILES = 6  # model files kept on disk: the live one, its predecessors, recent candidates
LINEAGE_CAP = (
    60  # versions whose proposals may count for the gate (older ones are outside any window)
)


class RegistryError(RuntimeError):
    """A registry operation is not possible; the message says why."""


@dataclass
class Entry:
    version: str
    status: str  # candidate | live | previous | refused | held | rolled_back
    source: str  # train | retrain | installed (a model found at MODEL_PATH or shipped)
    created_at: str
    promoted_at: str | None = None
    lineage: list[str] = field(default_factory=list)
    shadow: dict[str, Any] | None = None  # the shadow score that decided its promotion
    history: list[str] = field(default_factory=list)  # history files it was trained on
    note: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def _now() -> str:
    return utcnow().isoformat(timespec="seconds")


def _copy_atomically(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(source, tmp)
    tmp.replace(target)


class Registry:
    """The registry beside one MODEL_PATH. Every change holds a file lock."""

    def __init__(self, model_path: Path) -> None:
        self.model_path = model_path
        self.dir = model_path.with_name(model_path.stem + ".versions")

    @property
    def exists(self) -> bool:
        return (self.dir / INDEX).is_file()

    def file_of(self, version: str) -> Path:
        return self.dir / f"{version}.npz"

    # --- the index -------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        path = self.dir / INDEX
        if not path.is_file():
            return {"entries": {}, "stack": []}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RegistryError(f"{path} is unreadable ({type(exc).__name__})") from None
        data.setdefault("entries", {})
        data.setdefault("stack", [])
        return data

    def _write(self, data: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / (INDEX + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.dir / INDEX)

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                data = self._read()
                yield data
                self._write(data)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # --- reading ---------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """Every registered model, newest first."""
        items = [Entry.from_dict(e) for e in self._read()["entries"].values()]
        return sorted(items, key=lambda e: (e.created_at, e.version), reverse=True)

    def entry(self, version: str) -> Entry | None:
        found = self._read()["entries"].get(version)
        return Entry.from_dict(found) if found else None

    def stack(self) -> list[str]:
        """Promoted versions, oldest first; the last one is live (when nobody replaced the file)."""
        return list(self._read()["stack"])

    def lineage(self, version: str) -> list[str] | None:
        """Versions whose proposals count as launch-gate evidence for `version`.

        None when the deployment has no registry yet (every proposal counts, as before);
        just the version itself for a model the registry does not know.
        """
        if not self.exists:
            return None
        found = self.entry(version)
        if found is None or not found.lineage:
            return [version]
        return list(found.lineage)

    # --- changing --------------------------------------------------------------------------

    def add_candidate(
        self, arrays: ModelArrays, source: str, history: list[str] | None = None
    ) -> Entry:
        """Keep a newly trained model beside the live one; it routes nothing yet."""
        version = str(arrays.meta["version"])
        with self._locked() as data:
            save_model(self.file_of(version), arrays)
            existing = data["entries"].get(version)
            if existing and existing.get("status") in {"live", "previous"}:
                return Entry.from_dict(existing)  # the same data gave the same model again
            entry = Entry(
                version=version,
                status="candidate",
                source=source,
                created_at=_now(),
                history=list(history or []),
                note=str((existing or {}).get("note", "")),
            )
            if existing and existing.get("status") == "rolled_back":
                entry.status, entry.note = "rolled_back", existing.get("note", "")
            data["entries"][version] = asdict(entry)
            return entry

    def mark(self, version: str, status: str, shadow: dict[str, Any] | None, note: str) -> None:
        """Record why a candidate was not promoted (refused, held)."""
        with self._locked() as data:
            entry = data["entries"].get(version)
            if entry is None:
                return
            if entry.get("status") in {"candidate", "held", "refused"}:
                entry["status"] = status
            entry["shadow"], entry["note"] = shadow, note

    def _archive_live(self, data: dict[str, Any], live: LocalModel) -> str:
        """Make sure the model routing now is on file in the registry; returns its version."""
        version = live.version
        source_file = live.path if live.path is not None and live.path.is_file() else None
        if not self.file_of(version).is_file():
            if source_file is None:
                raise RegistryError(f"the live model {version} has no file to keep")
            _copy_atomically(source_file, self.file_of(version))
        if version not in data["entries"]:
            data["entries"][version] = asdict(
                Entry(
                    version=version,
                    status="live",
                    source="installed",
                    created_at=str(live.meta.get("trained_at") or _now()),
                    lineage=[version],
                )
            )
        if not data["stack"] or data["stack"][-1] != version:
            data["stack"].append(version)
        return version

    def promote(
        self,
        version: str,
        live: LocalModel,
        shadow: dict[str, Any] | None,
        scored: bool,
        note: str = "",
    ) -> tuple[str, Entry]:
        """Make `version` the live model; returns (the version it replaced, its entry)."""
        with self._locked() as data:
            entry = data["entries"].get(version)
            if entry is None or not self.file_of(version).is_file():
                raise RegistryError(f"no model {version} in {self.dir}")
            previous = self._archive_live(data, live)
            if previous == version:
                raise RegistryError(f"model {version} is already live")
            before = data["entries"][previous]
            inherited = list(before.get("lineage") or [previous]) if scored else []
            lineage = [v for v in inherited if v != version] + [version]
            _copy_atomically(self.file_of(version), self.model_path)
            before["status"] = "previous"
            entry.update(
                status="live",
                promoted_at=_now(),
                lineage=lineage[-LINEAGE_CAP:],
                shadow=shadow,
                note=note,
            )
            data["stack"] = [v for v in data["stack"] if v != version] + [version]
            self._prune(data)
            return previous, Entry.from_dict(entry)

    def rollback(self, live: LocalModel, note: str = "") -> tuple[str, Entry]:
        """Restore the model that was live before this one; returns (the version removed, restored entry)."""
        with self._locked() as data:
            current = self._archive_live(data, live)
            stack = data["stack"]
            if len(stack) < 2:
                raise RegistryError(
                    "there is no previous model to restore (nothing was promoted over this one)"
                )
            stack.pop()
            target = stack[-1]
            if not self.file_of(target).is_file():
                raise RegistryError(f"the previous model's file {self.file_of(target)} is missing")
            _copy_atomically(self.file_of(target), self.model_path)
            data["entries"][current].update(status="rolled_back", note=note)
            restored = data["entries"][target]
            restored["status"] = "live"
            return current, Entry.from_dict(restored)

    def _prune(self, data: dict[str, Any]) -> None:
        """Delete old model files, never the live one or the ones a rollback can reach."""
        keep = set(data["stack"][-KEEP_FILES:])
        recent = sorted(
            data["entries"].values(), key=lambda e: e.get("created_at", ""), reverse=True
        )
        keep.update(e["version"] for e in recent[:KEEP_FILES])
        for path in self.dir.glob("*.npz"):
            if path.stem not in keep:
                path.unlink(missing_ok=True)
        data["stack"] = data["stack"][-KEEP_FILES * 4 :]
