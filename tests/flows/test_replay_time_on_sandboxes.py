"""A corrected service-item row replayed over posted time, on the local runtime against the sandboxes."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.local.environment import LocalEnvironment
from shared import bootstrap
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.postings import PostingState
from shared.governance.loader import parse_landscape
from shared.sync.replay.time import TimeReplay
from tests.flows import test_time_on_sandboxes as time_flow
from tests.flows.test_time_on_sandboxes import SWEEP_SECONDS, Engagement, activate, for_entry, state_of

pytestmark = pytest.mark.flow
# The time flow's module fixtures: a local environment (one per module) and a won deal staffed with
# a consultant in both systems.
env = time_flow.env
engagement = time_flow.engagement

DEMO = (Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "demo.toml").read_text()
_CONSULTANT = (
    '{ source = "Consultant",        target = "9003", source_system = "productive", '
    'target_system = "quickbooks" },'
)
# The corrected version: Consultant time is billed as item 9002 from now on (and on past, unbilled work).
CORRECTED = DEMO.replace(_CONSULTANT, _CONSULTANT.replace('"9003"', '"9002"'))


def test_a_corrected_item_row_rewrites_posted_time_once_and_the_sweep_leaves_it(
    env: LocalEnvironment, engagement: Engagement
) -> None:
    # given an hour of Consultant time posted under the deployed landscape (item 9003)
    activate(env, engagement)
    entry = env.productive.add_time_entry(
        engagement.person_id, engagement.consultant_service, "2026-12-07", 60
    )
    env.productive.approve_time_entry(entry)
    env.settle()
    [activity] = for_entry(env, entry)
    assert activity["ItemRef"]["value"] == "9003"
    # when the time flow is replayed for its notice under the corrected landscape
    services = bootstrap.services().under(parse_landscape(CORRECTED))
    flow = TimeReplay(
        sync=services.delivery,
        source=services.delivery_source,
        target=services.posting_target,
        store=services.postings,
    )
    notice = ChangeNotice(
        provider=SystemName.PRODUCTIVE,
        event_id="replayed-1",
        entity=EntityType.TIME_ENTRY,
        vendor_type="time_entries",
        record_id=entry,
        operation=Operation.UPDATED,
    )
    [diff], aside = flow.diff([notice])
    # then the diff is the item alone, as QuickBooks holds it now and as it would be written
    assert aside == [] and [(c.field, c.now, c.then) for c in diff.fields] == [("item", "9003", "9002")]
    assert diff.record is not None and diff.record.id == str(activity["Id"])
    # when it is applied, QuickBooks holds the new item, the rest as it was, and the ledger agrees
    flow.apply(diff)
    [rewritten] = for_entry(env, entry)
    assert rewritten["ItemRef"]["value"] == "9002" and rewritten["SyncToken"] == "1"
    assert {k: v for k, v in rewritten.items() if k not in ("ItemRef", "SyncToken", "MetaData")} == {
        k: v for k, v in activity.items() if k not in ("ItemRef", "SyncToken", "MetaData")
    }
    assert state_of(entry) is PostingState.CORRECTED
    # and a second replay finds nothing, and the deployed landscape's sweep writes nothing over it
    assert flow.diff([notice]) == ([], [])
    env.pass_time(SWEEP_SECONDS)
    [after] = for_entry(env, entry)
    assert after["ItemRef"]["value"] == "9002" and after["SyncToken"] == "1"
