"""Salesforce record and org ids: 15 case-sensitive characters, or 18 with the case-safe suffix."""

from __future__ import annotations

import re

# Record ids are 15 case-sensitive base-62 characters; the API returns an 18-character case-safe
# form whose last three characters encode, per 5-character chunk, which characters are upper case.
# (3p, the algorithm behind CASESAFEID) https://salesforce.stackexchange.com/questions/1653/what-are-salesforce-ids-composed-of
_ID_PATTERN = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def is_salesforce_id(value: str) -> bool:
    """True for a well-formed 15- or 18-character id whose case-safe suffix (if any) is correct."""
    if not _ID_PATTERN.match(value):
        return False
    return len(value) == 15 or value[15:] == case_safe_suffix(value[:15])


def case_safe_suffix(id15: str) -> str:
    """The three characters that turn a 15-character id into its 18-character case-safe form."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(id15[start : start + 5]) if "A" <= char <= "Z")
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def same_salesforce_id(left: str, right: str) -> bool:
    """Whether two ids name the same record/org: an 18-character id extends its 15-character form.

    The first 15 characters are compared case-sensitively (they are the real id); 18-character forms
    must also carry the correct suffix, so a forged or mistyped id never matches.
    """
    if not (is_salesforce_id(left) and is_salesforce_id(right)):
        return False
    return left[:15] == right[:15]
