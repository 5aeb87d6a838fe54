# ruff: noqa: E501 - the table of what the twin serves reads best one row a line
"""A local twin of Kantata OX, being built: the reads behind workers' capacity.

It speaks the protocol documented at https://developer.kantata.com/. Tests mount it with
`httpx.WSGITransport`.

| area | serves | refuses, with Kantata's documented answer shape `{"errors": [{"type", "message"}]}` |
| --- | --- | --- |
| auth | `Authorization: Bearer <token>` | missing or wrong token 401 |
| listings | GET /api/v1/{account_memberships, workweeks, workweek_memberships, time_off_entries, cost_rates}.json: `count`, `meta`, `results` in order, records indexed by id under the collection | unknown path 404; other methods 405 |
| pages | `page` (1), `per_page` (20, at most 200) | non-numeric, < 1 or `per_page` > 200: 400 |
| faults | `fail_next(n, status)`: the next requests answer an injected status | — |

People and schedules are set up through the control API (`add_user`, `add_workweek`,
`add_workweek_membership`, `add_time_off`, `set_cost_rate`), as an administrator would in the app.
"""

from infra.local.sandboxes.kantata.app import COLLECTIONS, DEFAULT_PER_PAGE, MAX_PER_PAGE, KantataSandbox

__all__ = ["COLLECTIONS", "DEFAULT_PER_PAGE", "MAX_PER_PAGE", "KantataSandbox"]
