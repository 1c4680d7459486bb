"""PostgreSQL going away: the bot answers 503 honestly, /healthz says so, and once the
database is back everything accepted before and after is delivered."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import _postgres_url
from tests.reliability.conftest import StartBot
from tests.reliability.helpers import TcpProxy, eventually, post_signed, proposals_posted, tickets

review_only = pytest.mark.policies(mode="suggest")


@pytest.fixture
def database_url(pg_url: str) -> str:
    """These tests cut PostgreSQL connections; SQLite has none to cut."""
    return pg_url


async def healthz(bot) -> tuple[int, dict]:
    async with bot.http.get(f"{bot.base_url}/healthz") as response:
        return response.status, await response.json()


@review_only
async def test_database_unreachable_then_back_nothing_lost(start_bot: StartBot, pg_url: str):
    url = make_url(pg_url)
    proxy = await TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    via_proxy = url.set(port=proxy.port).render_as_string(hide_password=False)
    bot = await start_bot(database_url=via_proxy)
    try:
        before = tickets(30, prefix="O")
        assert (await post_signed(bot.http, bot.base_url, before)).status == 202

        await proxy.cut()  # PostgreSQL "restarts": every connection dropped, port refused
        during = await post_signed(bot.http, bot.base_url, tickets(5, prefix="D"))
        assert during.status == 503 and during.headers.get("Retry-After")
        assert "nothing was stored" in (await during.json())["error"]
        status, report = await healthz(bot)
        assert status == 503 and report["database"].startswith("error")

        await asyncio.sleep(1.0)  # the worker keeps failing meanwhile, and must not give up
        await proxy.start()
        status, report = await healthz(bot)
        assert status == 200 and report["database"] == "ok"
        after = tickets(5, prefix="D")  # the sender retries what got 503
        assert (await post_signed(bot.http, bot.base_url, after)).status == 202

        expected = {t["id"] for t in before + after}
        await bot.slack.wait_for(lambda s: set(proposals_posted(s)) == expected, timeout=20)
        await eventually(lambda: not bot.runtime.store.outbox_counts().get("pending"), timeout=20)
        # A post whose "sent" mark was cut off by the outage may repeat once; nothing else.
        assert all(n <= 2 for n in proposals_posted(bot.slack).values())
        assert sum(n - 1 for n in proposals_posted(bot.slack).values()) <= 1
    finally:
        await proxy.cut()


@review_only
async def test_bots_connections_terminated_mid_burst_nothing_lost(start_bot: StartBot, pg_url: str):
    bot = await start_bot()
    burst = tickets(100, prefix="T")
    assert (await post_signed(bot.http, bot.base_url, burst)).status == 202
    await bot.slack.wait_for(lambda s: len(proposals_posted(s)) >= 5, timeout=20)

    admin = create_engine(_postgres_url() or "")
    try:
        with admin.begin() as connection:
            killed = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": make_url(pg_url).query["application_name"]},
            ).scalar()
    finally:
        admin.dispose()
    assert killed and killed >= 1

    more = tickets(10, prefix="U")
    assert (await post_signed(bot.http, bot.base_url, more)).status == 202
    expected = {t["id"] for t in burst + more}
    await bot.slack.wait_for(lambda s: set(proposals_posted(s)) == expected, timeout=30)
    await eventually(lambda: not bot.runtime.store.outbox_counts().get("pending"), timeout=20)
    assert sum(n - 1 for n in proposals_posted(bot.slack).values()) <= 1
    status, report = await healthz(bot)
    assert status == 200 and report["database"] == "ok"
