"""A team's labelled history: exported files and SOURCE_TRAIN_QUERY, mapped onto policy tags.

Teams already hold years of tickets their agents categorised. Each history ticket carries
a label: one of the deployment's tags, or a helpdesk category that a policy maps onto its
tag (`helpdesk_categories`). A label nothing maps is refused by name, with a policy stub to
copy: guessing what "Refunds" means would put wrong tickets in front of the wrong owner.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.classifier.training import Example
from bot.intake.files import TicketFileError, read_ticket_file
from bot.policies import PolicySet, normalise_category
from bot.tickets import TicketIn, TicketRejected

LABEL_FIELDS = ("tag", "category")  # `tag` wins when a row has both
QUERY_BATCH = 1000
MAX_TEXT_CHARS = 20_000  # the classifier reads the start of a ticket; history need not carry more

Progress = Callable[[int], None]


class HistoryError(RuntimeError):
    """The history cannot be used as it is; the message says what to change."""


@dataclass(frozen=True)
class HistoryTicket:
    key: str  # stable: "history:<id>" (files) or "source:<id>", so the held-out split is reproducible
    text: str
    label: str  # as the helpdesk wrote it: a tag, or a category a policy maps
    where: str  # for messages: "history.csv line 3", "SOURCE_TRAIN_QUERY row 12"


def _label(raw: dict[str, Any]) -> str:
    lower = {str(k).lower(): v for k, v in raw.items()}
    for name in LABEL_FIELDS:
        value = lower.get(name)
        if value is not None and str(value).strip():
            return " ".join(str(value).split())
    return ""


def read_history_file(path: Path) -> tuple[list[HistoryTicket], list[str]]:
    """Labelled rows of an exported CSV/JSONL, and one problem per unusable row (with its line)."""
    tickets: list[HistoryTicket] = []
    problems: list[str] = []
    try:
        rows = list(read_ticket_file(path))
    except TicketFileError as exc:
        raise HistoryError(str(exc)) from None
    for row in rows:
        if row.ticket is None:
            message = row.problem.message if row.problem else "unusable row"
            problems.append(f"{path} line {row.line}: {message}")
            continue
        label = _label(row.raw or {})
        if not label:
            problems.append(
                f"{path} line {row.line}: ticket {row.ticket.id}: no label in 'tag' or 'category'"
            )
            continue
        tickets.append(
            HistoryTicket(
                f"history:{row.ticket.id}",
                row.ticket.text[:MAX_TEXT_CHARS],
                label,
                f"{path} line {row.line}",
            )
        )
    return tickets, problems


def _query_rows(url: str, query: str) -> Iterator[dict[str, Any]]:
    """Every row of the operator's SELECT, streamed through a read-only session."""
    from sqlalchemy import text

    from bot.source.errors import classify
    from bot.source.query import escape_binds
    from bot.source.reader import make_source_engine

    engine = make_source_engine(url)
    try:
        with engine.connect() as connection:
            result = connection.execution_options(yield_per=QUERY_BATCH).execute(
                text(f"SELECT * FROM (\n{escape_binds(query)}\n) AS src")
            )
            for part in result.mappings().partitions(QUERY_BATCH):
                for row in part:
                    yield {str(k).lower(): v for k, v in dict(row).items()}
    except HistoryError:
        raise
    except Exception as exc:
        raise HistoryError(f"SOURCE_TRAIN_QUERY failed: {classify(exc, url)}") from None
    finally:
        engine.dispose()


def check_train_query(query: str | None) -> str:
    """The same read-only check as SOURCE_QUERY, its message naming SOURCE_TRAIN_QUERY."""
    from bot.source.query import SourceQueryError, check_query

    try:
        return check_query(query, "SOURCE_TRAIN_QUERY")
    except SourceQueryError as exc:
        raise HistoryError(str(exc)) from None


def read_history_query(
    url: str | None, query: str | None, progress: Progress | None = None
) -> tuple[list[HistoryTicket], list[str]]:
    """Labelled tickets from SOURCE_TRAIN_QUERY on SOURCE_DATABASE_URL (read-only)."""
    if not url:
        raise HistoryError(
            "SOURCE_TRAIN_QUERY is set but SOURCE_DATABASE_URL is not: set the helpdesk database"
        )
    sql = check_train_query(query)
    tickets: list[HistoryTicket] = []
    problems: list[str] = []
    for number, row in enumerate(_query_rows(url, sql), start=1):
        if number == 1 and "id" not in row:
            raise HistoryError(
                f"SOURCE_TRAIN_QUERY returns no `id` column (it returns: {', '.join(row)}); "
                "alias the ticket key AS id"
            )
        if number == 1 and not any(name in row for name in LABEL_FIELDS):
            raise HistoryError(
                "SOURCE_TRAIN_QUERY returns neither `tag` nor `category`; alias the agents' "
                "category AS category (mapped by a policy's helpdesk_categories) or AS tag"
            )
        if progress is not None:
            progress(number)
        try:
            ticket = TicketIn.from_raw(row)
        except (TicketRejected, ValueError) as exc:
            problems.append(f"SOURCE_TRAIN_QUERY row {number}: {exc}")
            continue
        label = _label(row)
        if not label or not ticket.text:
            continue  # an uncategorised or empty ticket is not a label; skipping it is normal
        tickets.append(
            HistoryTicket(
                f"source:{ticket.id}",
                ticket.text[:MAX_TEXT_CHARS],
                label,
                f"SOURCE_TRAIN_QUERY row {number}",
            )
        )
    if not tickets and not problems:
        raise HistoryError(
            "SOURCE_TRAIN_QUERY returned no labelled ticket (every row lacked a tag or "
            "category, or the query matched nothing)"
        )
    return tickets, problems


def slug(label: str) -> str:
    """A tag name proposed for a label: lower-case, underscores, starting with a letter."""
    name = re.sub(r"[^a-z0-9]+", "_", label.casefold()).strip("_")[:48]
    if not name or not name[0].isalpha():
        name = f"tag_{name}"[:48].rstrip("_")
    return name


def policy_stub(label: str) -> str:
    """A policy file to copy for a history label no policy covers."""
    tag = slug(label)
    lines = [
        f"  # policies/{tag}.yml — fill in the owner and channel, then run triage-bot check-policies",
        "  owner: U0XXXXXXX",
        f"  tags: [{tag}]",
        "  route_channel: C0XXXXXXX",
        "  mode: suggest",
        "  threshold: calibrated",
    ]
    if tag != label:
        plain = re.fullmatch(r"[A-Za-z][\w .-]*", label) is not None
        lines.append(f"  helpdesk_categories: [{label if plain else json.dumps(label)}]")
    return "\n".join(lines)


def to_examples(
    tickets: list[HistoryTicket], tags: tuple[str, ...], policies: PolicySet | None
) -> list[Example]:
    """Map labels onto tags; any label nothing covers stops training, named with a stub."""
    known = set(tags)
    categories = policies.categories if policies is not None else {}
    examples: list[Example] = []
    unmapped: Counter[str] = Counter()
    first_seen: dict[str, str] = {}
    seen_keys: set[str] = set()
    for ticket in tickets:
        if ticket.label in known:
            tag = ticket.label
        elif slug(ticket.label) in known:  # "Account access", "BILLING": the tag by its name
            tag = slug(ticket.label)
        else:
            tag = categories.get(normalise_category(ticket.label), "")
            if tag not in known:
                unmapped[ticket.label] += 1
                first_seen.setdefault(ticket.label, ticket.where)
                continue
        if ticket.key in seen_keys:
            continue  # the same ticket exported twice counts once
        seen_keys.add(ticket.key)
        examples.append(Example(ticket.key, ticket.text, tag))
    if unmapped:
        named = ", ".join(
            f"{label!r} ({count} ticket{'s' if count != 1 else ''}, first at {first_seen[label]})"
            for label, count in unmapped.most_common()
        )
        stubs = "\n".join(policy_stub(label) for label, _ in unmapped.most_common(3))
        raise HistoryError(
            f"history tag(s) that no policy covers: {named}. Add the helpdesk category to the "
            "`helpdesk_categories` of the policy that means the same, or add a policy, e.g.:\n"
            f"{stubs}"
        )
    return examples
