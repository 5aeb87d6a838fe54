"""API versions: which the org serves, their release names, and the answer for a retired one."""

from __future__ import annotations

import re

from infra.local.sandboxes.salesforce.errors import SalesforceApiError

# Versions 31.0 and later are served; 7.0 through 30.0 are retired, and a request to a retired
# version answers 410 GONE. https://developer.salesforce.com/docs/atlas.en-us.252.0.securityImplGuide.meta/securityImplGuide/api_rest_eol.htm
OLDEST_SERVED = 31
OLDEST_RETIRED = 7


def release_label(major: int) -> str:
    """The release a version came with: 60 is Spring '24, 61 Summer '24, 62 Winter '25."""
    steps = major - 60
    season = ("Spring", "Summer", "Winter")[steps % 3]
    year = 24 + steps // 3 + (1 if season == "Winter" else 0)
    return f"{season} '{year:02d}"


def served_versions(newest: str) -> list[dict[str, str]]:
    """GET /services/data: every version the org serves, oldest first.

    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_versions.htm
    """
    return [
        {"label": release_label(major), "url": f"/services/data/v{major}.0", "version": f"{major}.0"}
        for major in range(OLDEST_SERVED, int(float(newest)) + 1)
    ]


def check_version(requested: str, newest: str) -> None:
    """Refuse a version the org does not serve: 410 when it is retired, 404 when it never existed."""
    found = re.fullmatch(r"(\d{1,3})\.0", requested)
    major = int(found.group(1)) if found else 0
    if OLDEST_RETIRED <= major < OLDEST_SERVED:
        raise SalesforceApiError(
            410,
            "GONE",
            f"API version {requested} is retired and unavailable; use version {OLDEST_SERVED}.0 or later.",
        )
    if not OLDEST_SERVED <= major <= int(float(newest)):
        raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
