"""Raw-socket senders for hardening tests: slow senders and unsigned floods, loopback only."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

HOST = "127.0.0.1"


async def open_slow_sender(
    port: int, path: str = "/slack/events", declared: int = 10_000, sent: bytes = b"p"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Headers for a `declared`-byte body, then only `sent`, then nothing."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(
        (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {declared}\r\n\r\n"
        ).encode()
        + sent
    )
    await writer.drain()
    return reader, writer


async def open_slow_headers(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Half a request line and one header, then nothing."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(f"POST /slack/events HTTP/1.1\r\nHost: {HOST}\r\n".encode())
    await writer.drain()
    return reader, writer


def close_all(writers: list[asyncio.StreamWriter]) -> None:
    for writer in writers:
        with contextlib.suppress(Exception):
            writer.close()


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 20.0, what: str = ""
) -> None:
    """Poll (bounded) until `check` holds; fails the test with `what` otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert loop.time() < deadline, f"timed out waiting for {what or check}"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def unsigned_flood(
    port: int, senders: int, body: bytes, rounds: int
) -> AsyncIterator[list[int]]:
    """`senders` tasks each POSTing `body` unsigned `rounds` times (bounded); yields statuses."""
    import aiohttp

    statuses: list[int] = []

    async def one(session: aiohttp.ClientSession) -> None:
        for _ in range(rounds):
            try:
                async with session.post(
                    f"http://{HOST}:{port}/slack/events",
                    data=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                ) as response:
                    await response.read()
                    statuses.append(response.status)
            except aiohttp.ClientError:
                statuses.append(0)

    async with aiohttp.ClientSession() as session:
        tasks = [asyncio.create_task(one(session)) for _ in range(senders)]
        try:
            yield statuses
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
