"""The year range a request names: "since 2021", "2019-2024", "before 2020", "2023 onwards".

One reader for the chat's requests, the metadata questions read without a model and the
wishes of a writing request, so that the same words name the same years everywhere.
"""

from __future__ import annotations

import re

_Y = r"((?:19|20)\d\d)"
_YEAR = re.compile(rf"\b{_Y}\b")
_RANGE = re.compile(
    rf"\bbetween\s+{_Y}\s+(?:and|&)\s+{_Y}|\bfrom\s+{_Y}\s+(?:to|until|till|through|-|–)\s+{_Y}"
    rf"|\b{_Y}\s*(?:-|–|to|through|until)\s*{_Y}\b",
    re.IGNORECASE,
)
# Words before a year that open a range at it, or just after it, and those that close one.
_FROM_AT = re.compile(
    # "papers from 2022" are of 2022: "from" alone opens no range (but see years_named).
    rf"\b(?:since|starting(?: in| from)?|beginning(?: in)?|as of|no earlier than|not before|"
    rf"in or after)\s+{_Y}\b|\b{_Y}\s+(?:on(?:wards?)?|and (?:later|after|newer|beyond)|"
    rf"or (?:later|after|newer))\b",
    re.IGNORECASE,
)
_FROM = re.compile(rf"\bfrom\s+{_Y}\b", re.IGNORECASE)
_FROM_AFTER = re.compile(
    rf"\b(?:after|later than|newer than|more recent than|post)\s+{_Y}\b", re.IGNORECASE
)
_TO_AT = re.compile(
    rf"\b(?:until|till|up to|up until|through|no later than|not after|in or before)\s+{_Y}\b"
    # "2020 and before", not "after 2020 and before 2023"
    rf"|\b{_Y}\s+(?:and|or) (?:earlier|before|older)\b(?!\s*(?:19|20)\d\d)",
    re.IGNORECASE,
)
_TO_BEFORE = re.compile(
    rf"\b(?:before|earlier than|older than|prior to|pre)\s+{_Y}\b", re.IGNORECASE
)


def years_named(text: str, writing: bool = False) -> tuple[int | None, int | None]:
    """The year range ``text`` limits papers to, from the years written in it: "since 2021"
    -> (2021, None), "after 2022" -> (2023, None), "before 2020" -> (None, 2019),
    "2019-2024" -> (2019, 2024); a year alone ("papers from 2022") names that year.

    ``writing``: the text is what a writing request says beside its topic, where a year
    alone may be a venue's or a deadline's ("for my CVPR 2026 submission") and names no
    range, and "papers from 2021" opens one at 2021.
    """
    if m := _RANGE.search(text):
        years = sorted(int(y) for y in m.groups() if y)
        return years[0], years[-1]
    start = end = None
    if m := _FROM_AT.search(text) or (_FROM.search(text) if writing else None):
        start = int(next(y for y in m.groups() if y))
    elif m := _FROM_AFTER.search(text):
        start = int(m.group(1)) + 1
    if m := _TO_AT.search(text):
        end = int(next(y for y in m.groups() if y))
    elif m := _TO_BEFORE.search(text):
        end = int(m.group(1)) - 1
    if start is None and end is None and not writing and (years := _YEAR.findall(text)):
        start, end = int(min(years)), int(max(years))
    return start, end


def years_phrase(year_from: int | None, year_to: int | None) -> str:
    """A year range in words, as a reply says it: "from 2022", "from 2021 to 2023", "from
    2023 on", "up to 2020"; "" for none."""
    if year_from is not None and year_from == year_to:
        return f"from {year_from}"
    if year_from is not None and year_to is not None:
        return f"from {year_from} to {year_to}"
    if year_from is not None:
        return f"from {year_from} on"
    return f"up to {year_to}" if year_to is not None else ""
