"""The query check refuses function calls outside the safe list and SQL that databases read
differently, while every query the documentation and the tests show still passes.

The refused cases run against a real database where it matters: the function really
exists there, so the check (not a missing function) is what stops them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.source.poller import SourcePoller
from bot.source.query import SourceQueryError, check_query, check_query_settings
from tests.conftest import make_settings
from tests.source import legacy
from tests.source.conftest import source_settings

ROOT = Path(__file__).resolve().parents[2]

ISSUE_CASES = [
    (
        "SELECT id, dblink_exec('dbname=helpdesk', 'INSERT INTO hd_ticket (ref) VALUES (''X'')')"
        " AS subject FROM hd_event",
        "dblink_exec()",
    ),
    (
        "SELECT id, set_config('default_transaction_read_only', 'off', false) AS subject"
        " FROM hd_event",
        "set_config()",
    ),
    ("SELECT id, pg_advisory_lock(42) AS subject FROM hd_event", "pg_advisory_lock()"),
    ("SELECT id, GET_LOCK('triage', 10) AS subject FROM hd_event", "GET_LOCK()"),
    ("SELECT id, subject FROM hd_event /*! FOR UPDATE */", "executable comment"),
    ("SELECT id, subject FROM hd_event /*M! FOR UPDATE */", "executable comment"),
    ("SELECT /*+ SET_VAR(sql_mode='') */ id FROM hd_event", "executable comment"),
    ("SELECT id, pg_catalog.set_config('a', 'b', false) AS x FROM t", "pg_catalog.set_config()"),
    ("SELECT id, \"set_config\"('a', 'b', false) AS x FROM t", "set_config()"),
    ("SELECT id, public.lower(subject) AS subject FROM t", "public.lower()"),
    ("SELECT id FROM t WHERE id IN (SELECT pg_sleep(30))", "pg_sleep()"),
    ("SELECT id, nextval('hd_seq') AS subject FROM t", "nextval()"),
    ("SELECT id, `GET_LOCK`('x', 1) AS subject FROM t", "GET_LOCK()"),
    ("SELECT id, load_file('/etc/passwd') AS body FROM t", "load_file()"),
    # Forms a generic lexer takes for comments or strings that some database runs as code:
    ("SELECT 1 AS id # , set_config('a', 'b', false)", "`#` comment"),
    ("SELECT 1 AS id --GET_LOCK('x', 10)", "`--` not followed by a space"),
    ("SELECT 'a\\' , set_config('x', 'y', false) -- ' AS id", "backslash before a quote"),
    ("SELECT $$ , GET_LOCK('x', 1), $$ AS id", "dollar-quoted"),
]


@pytest.mark.parametrize(("query", "named"), ISSUE_CASES)
def test_unsafe_calls_and_executable_comments_are_refused_by_name(query, named):
    with pytest.raises(SourceQueryError, match=re.escape(named)):
        check_query(query)


def _documented_queries() -> list[str]:
    """SOURCE_QUERY / SOURCE_TRAIN_QUERY values shown in the README and under docs/."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r'SOURCE_(?:TRAIN_)?QUERY="(.+?)"', text, re.DOTALL):
            found.append(match.group(1))
    return found


def _test_queries() -> list[str]:
    """Queries the test suite and the benchmarks hand to the poller."""
    found = []
    for path in [*sorted((ROOT / "tests").rglob("*.py")), *sorted((ROOT / "bench").glob("*.py"))]:
        if path.name == Path(__file__).name:
            continue
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(
            r'(?:source_query=|SOURCE_QUERY=|_QUERY = \(?\s*)"(SELECT[^"]*)"', text
        ):
            found.append(match.group(1))
    return found


def test_every_documented_and_tested_query_still_passes():
    queries = _documented_queries() + _test_queries()
    queries += [legacy.TICKET_QUERY, legacy.EVENT_QUERY]
    assert len(_documented_queries()) >= 1 and len(queries) >= 8
    for query in queries:
        check_query(query)  # raises on a false refusal


@pytest.mark.parametrize(
    "query",
    [
        "SELECT CAST(t.id AS VARCHAR(20)) AS id, COALESCE(t.subject, '') AS subject,"
        " IFNULL(t.body, NULLIF(t.note, '')) AS body, t.created AT TIME ZONE 'UTC' AS created_at,"
        " CASE WHEN t.vip THEN 'vip' ELSE lower(c.email) END AS requester"
        " FROM t LEFT JOIN c ON (c.id = t.customer_id) WHERE t.id IN (SELECT id FROM open_ids)",
        "WITH recent(id, created) AS (SELECT id, created FROM t) SELECT id, created::date"
        " AS created_at, x::numeric(10,2) AS score FROM recent",
        "SELECT id, json_extract(data, '$.subject') AS subject, data->>'body' AS body,"
        " date_trunc('minute', created) AS created_at, round(score, 2), count(*) OVER"
        " (PARTITION BY queue), TRIM(BOTH ' ' FROM name), SUBSTRING(note FROM 1 FOR 30),"
        " EXTRACT(epoch FROM created), CONVERT_TZ(opened, '+00:00', '+01:00'),"
        " LEFT(title, 80), REPLACE(body, '\r', '') FROM t GROUP BY id",
        "SELECT x.id FROM (SELECT 1 AS id) AS x(id) WHERE NOT EXISTS (SELECT 1 FROM y)",
        "SELECT CONVERT(amount, DECIMAL(10,2)) AS subject, CAST(ref AS CHAR(36)) AS id,"
        " POSITION('@' IN email) AS p, string_agg(tag, ',' ORDER BY tag) AS body,"
        " COUNT(DISTINCT queue) FILTER (WHERE open) AS n FROM t"
        " WHERE id = ANY(ARRAY[1, 2]) AND created > CURRENT_DATE - INTERVAL '7' DAY"
        " GROUP BY ref, amount, email",
    ],
)
def test_ordinary_helpdesk_sql_passes(query):
    assert check_query(query) == query


def test_the_same_check_covers_every_query_setting():
    with pytest.raises(SourceQueryError, match=r"^SOURCE_TRAIN_QUERY calls set_config\(\)"):
        check_query("SELECT set_config('a', 'b', false) AS id", "SOURCE_TRAIN_QUERY")
    settings = make_settings(source_query="SELECT pg_advisory_lock(1) AS id")
    with pytest.raises(SourceQueryError, match=r"^SOURCE_QUERY calls pg_advisory_lock\(\)"):
        check_query_settings(settings)
    check_query_settings(make_settings(source_query=legacy.TICKET_QUERY))
    train = make_settings(
        source_query=legacy.TICKET_QUERY,
        source_train_query="SELECT id, subject, GET_LOCK('x', 1) AS tag FROM t",
    )
    with pytest.raises(SourceQueryError, match=r"^SOURCE_TRAIN_QUERY calls GET_LOCK\(\)"):
        check_query_settings(train)


def test_the_poller_refuses_an_unsafe_query_before_touching_the_source(helpdesk, store):
    """On each real database, with a role that can only SELECT: refused at construction."""
    query = {
        "sqlite": "SELECT id, load_extension('x') AS subject FROM hd_event",
        "postgresql": "SELECT id, set_config('default_transaction_read_only', 'off', false)"
        " AS subject FROM hd_event",
        "mysql": "SELECT id, GET_LOCK('triage', 0) AS subject FROM hd_event",
    }[helpdesk.kind]
    settings = source_settings(helpdesk, str(store.engine.url), source_query=query)
    with pytest.raises(SourceQueryError, match=r"calls \w+\(\)"):
        SourcePoller(settings, store)
