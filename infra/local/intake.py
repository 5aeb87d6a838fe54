"""A landscape file that has Salesforce deliver by another intake: the demo's `--intake` and the tests.

The landscape file is the one place the intake is chosen (`[[systems]] intake`); this writes a copy of
a landscape with the Salesforce entry's intake set, so a run on change data capture is the same
landscape in every other respect.
"""

from __future__ import annotations

import tempfile
import tomllib
from pathlib import Path

from shared.domain.models import SystemName
from shared.domain.systems import Intake

# What `close2cash demo --intake ...` accepts: short names for the Salesforce intakes.
INTAKE_CHOICES = {"outbound": Intake.OUTBOUND_MESSAGES, "cdc": Intake.CHANGE_DATA_CAPTURE}


def with_salesforce_intake(landscape: Path, intake: Intake, folder: Path | None = None) -> Path:
    """A copy of `landscape` (beside it in `folder`, default a temporary folder) whose Salesforce
    system has `intake`; raises ValueError when the landscape connects no Salesforce."""
    text = landscape.read_text()
    systems = tomllib.loads(text).get("systems", [])
    if not any(s.get("name") == SystemName.SALESFORCE.value for s in systems):
        raise ValueError(f"{landscape} connects no Salesforce org: there is no intake to choose")
    lines = text.splitlines()
    out: list[str] = []
    in_salesforce = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and in_salesforce:
            in_salesforce = False
        if in_salesforce and stripped.startswith("intake"):
            continue  # replaced below
        out.append(line)
        if stripped == f'name = "{SystemName.SALESFORCE.value}"':
            in_salesforce = True
            out.append(f'intake = "{intake.value}"')
    target = (folder or Path(tempfile.mkdtemp(prefix="close2cash-landscape-"))) / landscape.name
    target.write_text("\n".join(out) + "\n")
    return target
