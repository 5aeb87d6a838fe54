"""The ledger on DynamoDB: cross-reference ids, checksums, sync trace, notices, leases, exceptions.

Single-table design (pk, sk):
- `XREF#<entity>#<system>#<id>` / `TARGET#<system>`: the target's id and the checksum last written;
- `TARGET#<entity>#<system>#<id>` / `XREF`: the reverse, so a target's notice finds its source;
- `TRACE#<entity>#<system>#<id>` / `<time>#<target>`: every write, with its action and checksum;
- `NOTICE#<provider>#<realm>#<event id>` / `NOTICE`: each webhook notice, received then published;
- `LEASE#<name>` / `LEASE`, `EXCEPTION#<id>` / `EXCEPTION`, `CURSOR#<name>` / `CURSOR` (sweeps).

What people act on is read from the sparse index `by-status` (settings.LEDGER_STATUS_INDEX), never
by a scan: an exception carries `status_key` `EXCEPTION#open` or `EXCEPTION#resolved` and
`status_at` `<opened at>#<id>`; an approval request carries `APPROVAL#awaiting` until it is settled.
Index reads are eventually consistent (GSIs offer nothing else): fine for lists a person reads.

One module per part, each a mixin on the shared table (ledger_table.py): cross references and the
trace (ledger_xrefs.py), notices (ledger_notices.py), exceptions (ledger_exceptions.py), leases and
cursors (ledger_leases.py). `DynamoLedger` is the one class the rest of the hub uses.
"""

from __future__ import annotations

from shared.aws.ledger_exceptions import ExceptionDesk
from shared.aws.ledger_leases import LeasesAndCursors
from shared.aws.ledger_notices import NoticeLog
from shared.aws.ledger_xrefs import CrossReferences


class DynamoLedger(CrossReferences, NoticeLog, ExceptionDesk, LeasesAndCursors):
    """`Ledger` port on one DynamoDB table."""
