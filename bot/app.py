"""The one place that builds the bot: store, classifier, policies, Slack app, web server, jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.classifier import load_classifier
from bot.control import Control
from bot.db import make_engine
from bot.health import make_handler as make_health_handler
from bot.http_guard import GuardedSite, RequestGuard, buffer_budget
from bot.intake.helpdesk_webhook import ROUTE as HELPDESK_ROUTE
from bot.intake.helpdesk_webhook import make_handler as make_helpdesk_handler
from bot.intake.webhook import make_handler as make_intake_handler
from bot.logs import quiet_bolt_token_warning
from bot.metrics_endpoint import make_metrics_handler
from bot.outbound import WebhookSender
from bot.outbox import OutboxDispatcher
from bot.pacing import ChannelPacer
from bot.policies import require_policies
from bot.reliability import keep_bodies_out_of_bolt_logs, store_unavailable_is_503
from bot.response_urls import first_refused
from bot.runtime import Runtime
from bot.service import TriageService
from bot.settings import Settings
from bot.slack_gate import SlackGate
from bot.source.jobs import build_source
from bot.store import Store
from bot.worker import Worker
from handlers import register_listeners
from handlers.context import RUNTIME_KEY

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
SHUTDOWN_STEP_SECONDS = 30.0


def build_bolt_app(settings: Settings, client: AsyncWebClient) -> AsyncApp:
    """The Bolt app; request signatures are verified in HTTP mode."""
    keep_bodies_out_of_bolt_logs()
    quiet_bolt_token_warning()  # the client we pass carries the token Bolt says it ignores
    return AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=not settings.socket_mode,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )


def _install_middleware(app: AsyncApp, runtime: Runtime) -> None:
    # One middleware, not three: Bolt builds each one's arguments on every request, and a
    # burst of clicks pays that per click.
    @app.middleware
    async def before_listeners(
        context: dict[str, Any], body: dict[str, Any], next
    ) -> BoltResponse | None:
        """Put the runtime in the context; refuse a payload whose response_url points
        outside Slack (nothing runs, nothing is ever POSTed there); handle each event_id
        once (Slack retries events it thinks were missed)."""
        context[RUNTIME_KEY] = runtime
        settings = runtime.settings
        host = first_refused(body, settings.response_url_hosts, settings.slack_api_url)
        if host is not None:
            log.warning("refused a Slack request whose response_url points at %s", host)
            return BoltResponse(status=400, body="response_url is not a Slack URL")
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not await asyncio.to_thread(runtime.store.first_sighting, str(event_id)):
            return BoltResponse(status=200, body="", headers={"X-Slack-No-Retry": "1"})
        await next()
        return None

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error(
            "unhandled error in a Slack listener (%s): %s",
            body.get("type") if isinstance(body, dict) else "?",
            type(error).__name__,
        )


def build_runtime(settings: Settings, client: AsyncWebClient | None = None) -> Runtime:
    """Wire the bot from settings. Raises PolicyError on invalid policies."""
    engine = make_engine(settings.database_url)
    classifier = load_classifier(settings.classifier, settings=settings, engine=engine)
    policies = require_policies(settings.policies_dir, list(classifier.tags))
    store = Store(engine)
    service = TriageService(settings, store, classifier, policies)
    client = client or AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=int(max(1, settings.slack_timeout_seconds)),
    )
    dispatcher = OutboxDispatcher(
        store,
        client,
        batch=settings.outbox_batch,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        pacer=ChannelPacer(settings.slack_channel_rate, settings.slack_channel_burst),
        max_backoff=settings.outbox_max_backoff_seconds,
        webhooks=WebhookSender(settings.outbound_webhook_secret, settings.slack_timeout_seconds),
        update_pacer=ChannelPacer(
            settings.slack_update_per_minute / 60.0, settings.slack_update_burst
        ),
    )
    worker = Worker(service, dispatcher, settings.worker_poll_seconds)
    bolt = build_bolt_app(settings, client)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        store=store,
        classifier=classifier,
        policies=policies,
        service=service,
        control=Control(service),
        client=client,
        dispatcher=dispatcher,
        worker=worker,
        bolt=bolt,
        source=build_source(settings, store, service),
    )
    _install_middleware(bolt, runtime)
    register_listeners(bolt)
    return runtime


def build_web_app(runtime: Runtime) -> web.Application:
    """aiohttp routes: Slack requests, the intake webhook, and the health check.

    Every POST body is read in full (within REQUEST_READ_TIMEOUT_SECONDS and its route's
    cap) before the request takes one of MAX_CONCURRENT_REQUESTS slots (bot.http_guard).
    """
    settings = runtime.settings

    def cap_for(path: str) -> int:
        return (
            settings.slack_max_body_bytes if path == SLACK_EVENTS_PATH else settings.max_body_bytes
        )

    largest = max(settings.slack_max_body_bytes, settings.max_body_bytes)
    guard = RequestGuard(
        settings.max_concurrent_requests,
        settings.request_read_timeout_seconds,
        cap_for,
        buffer_budget(settings.max_concurrent_requests, largest),
    )
    runtime.http_guard = guard
    app = web.Application(
        client_max_size=largest, middlewares=[guard.middleware, store_unavailable_is_503]
    )
    if not settings.socket_mode:
        app.router.add_post(SLACK_EVENTS_PATH, SlackGate(runtime).handle)
    app.router.add_post("/tickets", make_intake_handler(runtime))
    app.router.add_post(HELPDESK_ROUTE, make_helpdesk_handler(runtime))
    app.router.add_get("/healthz", make_health_handler(runtime))
    if runtime.settings.metrics_token:  # off unless a token is set (docs/observability.md)
        app.router.add_get("/metrics", make_metrics_handler(runtime))
    return app


@contextlib.asynccontextmanager
async def running(
    runtime: Runtime, host: str, port: int, *, scheduler: bool = True
) -> AsyncIterator[int]:
    """Run the web server, worker and scheduler; yields the bound port (port 0 picks one)."""
    from bot.scheduler import build_scheduler

    runner = web.AppRunner(build_web_app(runtime), access_log=None)
    await runner.setup()
    assert runtime.http_guard is not None
    site = GuardedSite(runner, host, port, runtime.http_guard)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    if runtime.client.session is None:
        # One pooled session for every Web API call (slack_sdk otherwise opens a session
        # and a connection per call); closed by Runtime.close.
        # slack_sdk does not pass its timeout to a session it was given: the session has it.
        timeout = ClientTimeout(total=max(1, runtime.settings.slack_timeout_seconds))
        runtime.client.session = ClientSession(timeout=timeout)
    runtime.worker.start()
    jobs = build_scheduler(runtime) if scheduler else None
    if jobs is not None:
        jobs.start()
    try:
        yield bound
    finally:
        if jobs is not None:
            jobs.shutdown(wait=False)
        # Shutdown is bounded: a stuck step is logged, never a process that will not exit.
        for step in (runtime.close, runner.cleanup):
            try:
                await asyncio.wait_for(step(), timeout=SHUTDOWN_STEP_SECONDS)
            except TimeoutError:
                log.warning(
                    "shutdown step %s took over %s s", step.__qualname__, SHUTDOWN_STEP_SECONDS
                )
