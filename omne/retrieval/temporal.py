"""Dates named in a query ('in May 2023', '2022', '2023-05-08') as time intervals. Deterministic, no model."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})\b")
_MONTH_DAY_YEAR = re.compile(r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_MONTH_YEAR = re.compile(r"\b([A-Za-z]{3,9})\.?,?\s+(\d{4})\b")
_YEAR = re.compile(r"\b(19\d{2}|20\d{2})\b")


def _day(year: int, month: int, day: int) -> tuple[datetime, datetime] | None:
    try:
        start = datetime(year, month, day, tzinfo=timezone.utc)
    except ValueError:
        return None
    return start, start + timedelta(days=1)


def within(when: datetime, intervals: list[tuple[datetime, datetime]]) -> bool:
    """True when `when` falls inside one of the half-open intervals (as `query_intervals` gives them)."""
    return any(start <= when < end for start, end in intervals)


def query_intervals(query: str) -> list[tuple[datetime, datetime]]:
    """Half-open UTC intervals for the most specific dates the query names (days, else months, else years)."""
    days = [_day(int(y), int(m), int(d)) for y, m, d in _ISO.findall(query)]
    days += [_day(int(y), _MONTHS[m.lower()], int(d)) for d, m, y in _DAY_MONTH_YEAR.findall(query)
             if m.lower() in _MONTHS]
    days += [_day(int(y), _MONTHS[m.lower()], int(d)) for m, d, y in _MONTH_DAY_YEAR.findall(query)
             if m.lower() in _MONTHS]
    found = [d for d in days if d]
    if found:
        return found
    months = []
    for m, y in _MONTH_YEAR.findall(query):
        if m.lower() in _MONTHS:
            month, year = _MONTHS[m.lower()], int(y)
            start = datetime(year, month, 1, tzinfo=timezone.utc)
            end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=timezone.utc)
            months.append((start, end))
    if months:
        return months
    return [(datetime(int(y), 1, 1, tzinfo=timezone.utc), datetime(int(y) + 1, 1, 1, tzinfo=timezone.utc))
            for y in _YEAR.findall(query)]
