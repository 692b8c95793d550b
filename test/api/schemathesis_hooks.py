"""Schemathesis hooks for test/api/schemathesis.test.ts (loaded through schemathesis.toml).

schemathesis's `positive_data_acceptance` check (ST202) says that a request valid by the
OpenAPI document must not be refused. The API refuses some schema-valid requests on purpose,
for rules OpenAPI 3.0 cannot state per parameter:

- from must be before to (a relation between two parameters);
- /v1/production takes exactly one of asset and tag (no oneOf across query parameters);
- a cursor must be the nextCursor of a previous page (an opaque token);
- a request may not ask for more rows than one response holds (tags x range / bucket; the
  JSON limit of /v1/points is lower than the CSV one, so it depends on the Accept header);
- a time must exist in the calendar and lie in the years 0001-9999 (the schema checks the
  shape; days per month, leap years and the epoch-ms range would take a regex nobody could
  review), and each id in /v1/rollups' `tags` list must be 1-2147483647;
- /v1/production of a tag needs a counter or rate tag (it depends on the stored tag).

`filter_failure` drops an ST202 failure only when the 400's message names one of these rules
and the request really breaks it, checked here independently of the server (times are parsed
again in Python). Every other failure is kept: any other refusal of valid data, and every
server error, status code, content type, header and response-schema violation. The run's
JSON report counts the dropped ones (`filtered`).

`map_query` swaps from and to when both are valid times and from is after to, so that half
of the generated ranges reach the queries instead of stopping at the from < to rule (which
errors.test.ts and equal from/to values still exercise).
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Callable, Mapping

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

# The API's time syntax (api/time.ts ISO and TIME_PATTERN): ISO-8601 with optional offset, or epoch ms.
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|([+-])(\d{2}):?(\d{2})?)?)?$")
_EPOCH_MS = re.compile(r"^-?\d{1,15}$")
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_MIN_US = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
_MAX_US = 253_402_300_799_999_000  # 9999-12-31T23:59:59.999Z


def time_us(value: Any) -> int | None:
    """µs since the epoch, or None when the value is not a time the API can accept."""
    s = str(value)
    if _EPOCH_MS.match(s):
        us = int(s) * 1000
    else:
        m = _ISO.match(s)
        if m is None:
            return None
        y, mo, d, h, mi, sec = (int(x) if x is not None else 0 for x in m.group(1, 2, 3, 4, 5, 6))
        try:
            day = date(y, mo, d).toordinal()  # raises for 2026-02-30, month 13, year 0
        except ValueError:
            return None
        if h > 23 or mi > 59 or sec > 59:
            return None
        off_h, off_m = int(m.group(10) or 0), int(m.group(11) or 0)
        if off_h > 23 or off_m > 59:
            return None
        frac = int((m.group(7) or "")[:6].ljust(6, "0"))
        sign = -1 if m.group(9) == "-" else 1
        us = ((day - _EPOCH_DAY) * 86_400 + h * 3_600 + mi * 60 + sec) * 1_000_000 + frac - sign * (off_h * 60 + off_m) * 60_000_000
    return us if _MIN_US <= us <= _MAX_US else None


def _from_not_before_to(q: Mapping[str, Any], _m: re.Match[str], _h: Mapping[str, str]) -> bool:
    f, t = time_us(q.get("from")), time_us(q.get("to"))
    return f is not None and t is not None and f >= t


def _bad_time(q: Mapping[str, Any], m: re.Match[str], _h: Mapping[str, str]) -> bool:
    return m.group(1) in q and time_us(q[m.group(1)]) is None


def _not_a_tag_id(q: Mapping[str, Any], m: re.Match[str], _h: Mapping[str, str]) -> bool:
    ids = [int(x) for x in str(q.get("tags", "")).split(",") if x.isdigit()]
    return int(m.group(1)) in ids and not 1 <= int(m.group(1)) <= 2_147_483_647


def _json_limit(q: Mapping[str, Any], m: re.Match[str], h: Mapping[str, str]) -> bool:
    accept = next((v for k, v in h.items() if k.lower() == "accept"), "")
    return int(q.get("limit", 0)) > int(m.group(1)) and "text/csv" not in accept


# (message of the 400, does the request really break that rule?)
KNOWN_REFUSALS: list[tuple[re.Pattern[str], Callable[[Mapping[str, Any], re.Match[str], Mapping[str, str]], bool]]] = [
    (re.compile(r"^querystring/from must be before querystring/to "), _from_not_before_to),
    (re.compile(r"^querystring/(from|to) (must be an ISO-8601 time or epoch ms|is outside the years 0001-9999)"), _bad_time),
    (re.compile(r"^querystring: give exactly one of asset and tag$"), lambda q, _m, _h: ("asset" in q) == ("tag" in q)),
    (re.compile(r"^querystring/cursor must be the nextCursor value of a previous page$"), lambda q, _m, _h: "cursor" in q),
    (re.compile(r"^querystring/tags: (\d+) is not a tag id"), _not_a_tag_id),
    (re.compile(r"^querystring/limit must be <= (\d+) for JSON "), _json_limit),
    (re.compile(r"would return about [\d,]+ rows, more than the [\d,]+ one response may hold"), lambda q, _m, _h: "from" in q and "to" in q),
    (re.compile(r"^querystring/tag: tag \d+ \(.*\) is a gauge; production comes from counter and rate tags$"), lambda q, _m, _h: "tag" in q),
]


def known_refusal(case: Any, response: Any) -> bool:
    """True when a 400 names a rule the schema cannot state and the request breaks it."""
    if response.status_code != 400:
        return False
    try:
        message = response.json().get("message", "")
    except Exception:
        return False
    query = case.query or {}
    headers = {**(case.headers or {})}
    for pattern, broken in KNOWN_REFUSALS:
        m = pattern.search(message)
        try:
            if m is not None and broken(query, m, headers):
                return True
        except (TypeError, ValueError):
            pass  # a value of an unexpected shape: not excused, the failure stands
    return False


@schemathesis.hook
def filter_failure(ctx: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure except a refusal of valid data for a known cross-parameter rule."""
    return not (isinstance(failure, RejectedPositiveData) and known_refusal(case, response))


@schemathesis.hook
def map_query(ctx: Any, query: Any) -> Any:
    """Put a generated range the right way round (see the module comment)."""
    if isinstance(query, dict) and isinstance(query.get("from"), (str, int)) and isinstance(query.get("to"), (str, int)):
        f, t = time_us(query["from"]), time_us(query["to"])
        if f is not None and t is not None and f > t:
            query = {**query, "from": query["to"], "to": query["from"]}
    return query
