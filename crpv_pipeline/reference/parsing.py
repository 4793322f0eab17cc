"""Parsers for single cell values: dates, whole numbers, department codes, lists of publics.

Each parser takes a cell as read (str, float, int, date, datetime or None) and returns the
typed value, or None when the cell does not hold one. They never raise on odd input: deciding
what is an error, and saying so in French, belongs to ``validation``. ``format_value`` renders a
cell the way the centre sees it, with French number formatting.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_EXCEL_EPOCH = dt.date(1899, 12, 30)
# Serial numbers between 1950 and 2100: anything else in a date column is not a date.
_SERIAL_RANGE = (18264, 73051)
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_PUBLIC_SEPARATORS = re.compile(r"[;,\n]")
_WEEKDAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def parse_date(value: Any) -> dt.date | None:
    """A date from a date cell, an Excel serial number or text JJ/MM/AAAA, JJ/MM/AA, AAAA-MM-JJ."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if float(value).is_integer() and _SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1]:
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if " " in text:  # "15/03/2021 00:00:00" as exported by some tools
        text = text.split(" ", 1)[0]
    try:
        if match := _DMY.match(text):
            day, month, year = (int(g) for g in match.groups())
            if len(match[3]) == 2:
                year += 2000
            return dt.date(year, month, day)
        if match := _YMD.match(text):
            year, month, day = (int(g) for g in match.groups())
            return dt.date(year, month, day)
    except ValueError:  # 31/02/2021
        return None
    return None


def parse_number(value: Any) -> float | None:
    """A number from a numeric cell or from text written the French way (``2,5``, ``1 200``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value == value else None
    if not isinstance(value, str):
        return None
    text = _SPACES.sub("", value).replace(",", ".")
    if _NUMBER.match(text):
        return float(text)
    return None


def parse_whole(value: Any) -> int | None:
    """A whole number (``2``, ``2,0``, ``"2"``), else None (``2,5`` is not whole)."""
    number = parse_number(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


def parse_department(value: Any) -> str | None:
    """An INSEE department code: 01–19, 21–95 (``1`` is ``01``), 2A, 2B, 971–976; else None."""
    if isinstance(value, str) and value.strip().upper() in {"2A", "2B"}:
        return value.strip().upper()
    number = parse_whole(value)
    if number is None:
        return None
    if 1 <= number <= 95 and number != 20:
        return f"{number:02d}"
    if 971 <= number <= 976:
        return str(number)
    return None


def split_publics(value: Any) -> list[str]:
    """The labels of a Publics cell, separated by ``;`` or ``,``."""
    if value is None:
        return []
    return [part.strip() for part in _PUBLIC_SEPARATORS.split(str(value)) if part.strip()]


def french_number(number: float, decimals: int | None = None) -> str:
    """French formatting: ``3 123``, ``14,8`` (narrow no-break space as thousands separator)."""
    if decimals is None:
        decimals = 0 if float(number).is_integer() else 2
    text = f"{number:,.{decimals}f}"
    if decimals and "." in text:
        text = text.rstrip("0").rstrip(".") if decimals > 1 else text
    return text.replace(",", "\u202f").replace(".", ",")


def french_count(n: int, singular: str, plural: str | None = None) -> str:
    """``1 activité``, ``0 activité``, ``3 123 activités`` (French: plural from 2 on)."""
    word = singular if n <= 1 else (plural or singular + "s")
    return f"{french_number(n)} {word}"


def format_value(value: Any) -> str | None:
    """A cell value as the centre sees it in the sheet (dates JJ/MM/AAAA, French decimals)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.strftime("%d/%m/%Y")
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, bool):
        return "VRAI" if value else "FAUX"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value).replace(".", ",")
    return str(value)


def weekday_fr(date: dt.date) -> str:
    """The French name of the weekday of ``date``."""
    return _WEEKDAYS_FR[date.weekday()]


def pct(value: float | None) -> str:
    """A percentage rounded to one decimal, French style: ``14,8 %``."""
    if value is None:
        return "–"
    return f"{french_number(round(float(value), 1), 1)}\u00a0%"
