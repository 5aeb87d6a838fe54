"""NetSuite's project record (REST `job`) and its SuiteQL row, the fields engagement setup reads or writes."""

from __future__ import annotations

from shared.connectors.netsuite.schemas import NsModel, Ref


class Project(NsModel):
    """The project record's body fields (REST names; "project" in the UI, `job` in the API).

    Its customer is `parent`: REST does not serve the project's `customer` field.
    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_83090456314.html
    """

    id: str | None = None
    externalId: str | None = None
    entityId: str | None = None
    companyName: str | None = None  # "Project Name"
    parent: Ref | None = None
    entityStatus: Ref | None = None  # a project status (`jobstatus`)
    isInactive: bool | None = None
    startDate: str | None = None
    projectedEndDate: str | None = None
    currency: Ref | None = None
    subsidiary: Ref | None = None
    comments: str | None = None
    lastModifiedDate: str | None = None


class ProjectRow(NsModel):
    """A project as the census's SuiteQL statement selects it (values as text, column names lower case)."""

    id: str
    externalid: str | None = None
    companyname: str | None = None
    entitystatus: str | None = None
    customer: str | None = None
    isinactive: str | None = None  # 'T' / 'F'
    lastmodified: str | None = None  # TO_CHAR(..., 'YYYY-MM-DD"T"HH24:MI:SS'), SuiteQL's time zone
