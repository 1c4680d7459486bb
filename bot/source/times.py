"""Timestamps from legacy helpdesks: datetimes, epochs, and text in mixed formats and zones.

A value without a zone is read in SOURCE_TIMEZONE (legacy systems often store local time).
Ambiguous numeric dates (03/04/2026) are month-first unless SOURCE_DAYFIRST is true.
Anything unreadable or out of range (before 1971, from 2200, or past what Python's datetime
holds, such as 9999-12-31T23:59:59-05:00) gives None: the ticket is still stored, without
a creation time.
"""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import parser as dateparser
from dateutil.tz import gettz, tzoffset

from bot.tickets import EARLIEST_TIME, LATEST_TIME, clean_text

# Zone abbreviations dateutil does not know on its own (it would drop them silently).
_ABBREVIATIONS: dict[str, int] = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "UT": 0,
    "WET": 0,
    "BST": 3600,
    "CET": 3600,
    "MET": 3600,
    "CEST": 7200,
    "MEST": 7200,
    "EET": 7200,
    "EEST": 10800,
    "MSK": 10800,
    "EST": -18000,
    "EDT": -14400,
    "CST": -21600,
    "CDT": -18000,
    "MST": -25200,
    "MDT": -21600,
    "PST": -28800,
    "PDT": -25200,
    "AKST": -32400,
    "HST": -36000,
    "JST": 32400,
    "KST": 32400,
    "AEST": 36000,
    "AEDT": 39600,
}
_TZINFOS = {name: tzoffset(name, offset) for name, offset in _ABBREVIATIONS.items()}
EARLIEST, LATEST = EARLIEST_TIME, LATEST_TIME


def zone(name: str) -> tzinfo:
    """SOURCE_TIMEZONE as a tzinfo; an unknown name is a configuration error."""
    if name.upper() in {"UTC", "Z"}:
        return UTC
    try:
        return ZoneInfo(name)
    except Exception:
        found = gettz(name)
        if found is None:
            raise ValueError(f"SOURCE_TIMEZONE {name!r} is not a known time zone") from None
        return found


def _aware(moment: datetime, local: tzinfo) -> datetime:
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        moment = moment.replace(tzinfo=local)
    return moment.astimezone(UTC)


def _from_epoch(number: float) -> datetime | None:
    seconds = number / 1000 if abs(number) > 1e11 else number
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise OutOfRange from None


class OutOfRange(ValueError):
    """A readable timestamp outside the years the bot accepts (or than Python can hold)."""


def _parse(value: Any, local: tzinfo, dayfirst: bool) -> datetime | None:
    """Aware UTC; None when missing or not a timestamp; OutOfRange when readable but absurd."""
    if value is None or isinstance(value, bool):
        return None
    moment: datetime | None
    try:
        if isinstance(value, datetime):
            moment = _aware(value, local)
        elif isinstance(value, date):
            moment = _aware(datetime.combine(value, time()), local)
        elif isinstance(value, (int, float, Decimal)):
            moment = _from_epoch(float(value))
        else:
            text = clean_text(value).strip()
            if not text or text.strip("0-:. T") == "":  # '', '0000-00-00 00:00:00' (MySQL)
                return None
            if text.lstrip("-").replace(".", "", 1).isdigit():
                moment = _from_epoch(float(text))
            else:
                try:
                    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
                except ValueError:
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            parsed = dateparser.parse(text, dayfirst=dayfirst, tzinfos=_TZINFOS)
                    except OverflowError:
                        raise OutOfRange from None
                    except (ValueError, TypeError):
                        return None
                moment = _aware(parsed, local)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-05:00 is past year 9999 in UTC
        raise OutOfRange from None
    if moment is None:
        return None
    if not (EARLIEST <= moment < LATEST):
        raise OutOfRange
    return moment


def parse_source_time(value: Any, local: tzinfo = UTC, dayfirst: bool = False) -> datetime | None:
    """Aware UTC, or None when missing, unreadable or out of range (never raises)."""
    try:
        return _parse(value, local, dayfirst)
    except OutOfRange:
        return None


def cursor_is_trusted(
    value: Any, limit: datetime, local: tzinfo = UTC, dayfirst: bool = False
) -> bool:
    """Whether a cursor value may become the watermark.

    Not a time (an id, a sequence number, legacy text that is no date): yes. A time: only
    when it is in range and not later than `limit` (now + SOURCE_MAX_FUTURE_SECONDS), so
    one row dated 2099 cannot move the watermark past every real ticket.
    """
    if value is None:
        return False
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return True  # numbers are sequence cursors here, not epochs
    try:
        moment = _parse(value, local, dayfirst)
    except OutOfRange:
        return False
    return moment is None or moment <= limit
