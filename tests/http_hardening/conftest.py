"""Hardening tests run the real bot on loopback (the reliability tests' `start_bot`)."""

from tests.reliability.conftest import start_bot

__all__ = ["start_bot"]
