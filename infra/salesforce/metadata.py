"""Renders the billing custom fields and the integration user's permission set as SFDX source files.

Source format: one `<field>.field-meta.xml` per field under `objects/<Object>/fields/`, one
`<name>.permissionset-meta.xml` under `permissionsets/`, and `manifest/package.xml` naming them all
for `sf project deploy start --manifest manifest/package.xml` (or `--source-dir force-app`).
https://developer.salesforce.com/docs/atlas.en-us.sfdx_dev.meta/sfdx_dev/sfdx_dev_source_file_format.htm
https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/customfield.htm
https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_permissionset.htm
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

from shared.connectors.salesforce.health import BILLING_FIELDS, CustomField

ROOT = Path(__file__).parent
PACKAGE_DIR = "force-app"
SOURCE = f"{PACKAGE_DIR}/main/default"
PERMISSION_SET = "close2cash_Integration"
# The Metadata API version the files are written for (the connector's default REST version).
API_VERSION = "62.0"
_XMLNS = "http://soap.sforce.com/2006/04/metadata"


def _document(root: str, body: list[str]) -> str:
    """A metadata file: the XML declaration, `root` in the metadata namespace around `body`."""
    head = ['<?xml version="1.0" encoding="UTF-8"?>', f'<{root} xmlns="{_XMLNS}">']
    return "\n".join([*head, *(f"    {line}" for line in body), f"</{root}>", ""])


def _field_xml(field: CustomField) -> str:
    # Elements in the order a retrieve writes them: fullName, then alphabetical.
    body = [f"<fullName>{field.name}</fullName>"]
    if field.type == "Checkbox":
        # A Checkbox needs its default; it has no `required`.
        body.append("<defaultValue>false</defaultValue>")
    body += [
        f"<description>{escape(field.description)}</description>",
        f"<label>{escape(field.label)}</label>",
    ]
    if field.precision is not None:
        body.append(f"<precision>{field.precision}</precision>")
    if field.type != "Checkbox":
        body.append("<required>false</required>")
    if field.scale is not None:
        body.append(f"<scale>{field.scale}</scale>")
    body += ["<trackHistory>false</trackHistory>", f"<type>{field.type}</type>"]
    return _document("CustomField", body)


def _permission_set_xml() -> str:
    body = [
        "<description>Field access the close2cash integration user needs: it writes the "
        "commercial health figures and reads the deal terms.</description>",
    ]
    for sobject, fields in sorted(BILLING_FIELDS.items()):
        for field in sorted(fields, key=lambda f: f.name):
            body += [
                "<fieldPermissions>",
                "    <editable>true</editable>",
                f"    <field>{sobject}.{field.name}</field>",
                "    <readable>true</readable>",
                "</fieldPermissions>",
            ]
    body += ["<hasActivationRequired>false</hasActivationRequired>", "<label>close2cash Integration</label>"]
    return _document("PermissionSet", body)


def _package_xml() -> str:
    fields = sorted(
        f"{sobject}.{field.name}" for sobject, fields in BILLING_FIELDS.items() for field in fields
    )
    body = [
        "<types>",
        *(f"    <members>{member}</members>" for member in fields),
        "    <name>CustomField</name>",
    ]
    body += [
        "</types>",
        "<types>",
        f"    <members>{PERMISSION_SET}</members>",
        "    <name>PermissionSet</name>",
    ]
    body += ["</types>", f"<version>{API_VERSION}</version>"]
    return _document("Package", body)


def _project_json() -> str:
    # https://developer.salesforce.com/docs/atlas.en-us.sfdx_dev.meta/sfdx_dev/sfdx_dev_ws_config.htm
    project = {
        "packageDirectories": [{"path": PACKAGE_DIR, "default": True}],
        "name": "close2cash",
        "namespace": "",
        "sourceApiVersion": API_VERSION,
    }
    return json.dumps(project, indent=2) + "\n"


def rendered() -> dict[str, str]:
    """Every metadata file, by its path under infra/salesforce/."""
    files = {
        "sfdx-project.json": _project_json(),
        "manifest/package.xml": _package_xml(),
        f"{SOURCE}/permissionsets/{PERMISSION_SET}.permissionset-meta.xml": _permission_set_xml(),
    }
    for sobject, fields in BILLING_FIELDS.items():
        for field in fields:
            files[f"{SOURCE}/objects/{sobject}/fields/{field.name}.field-meta.xml"] = _field_xml(field)
    return files


def write(root: Path = ROOT) -> list[Path]:
    """Write every file under `root` (the committed copy by default); returns the paths written."""
    written = []
    for relative, text in rendered().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
