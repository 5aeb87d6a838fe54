"""Tasks and task lists, milestones among them, as https://developer.productive.io/tasks.html documents them.

"Task can be one of two types: milestone, task"; filters `project_id`, `task_list_id`, `status`
(1 open, 2 closed), `title`, `closed_after`/`closed_before`; a create needs a `title`, the `project` and
the `task_list` (the create-task page as rendered at withone.ai, third-party). A task list needs a
project and a board; the twin serves no boards, so its task lists come from `add_task_list` (a person
adds one) and `add_template(..., task_lists=...)` (what a firm's template carries). A project copied
from a template carries the template's task lists: the copy "Creates a copy of an existing project,
duplicating its structure and optionally its tasks and other content"
(https://developer.productive.io/reference/actions/projects-copy-copy). UNCONFIRMED: the attribute
that carries the type (the twin calls it `type_id`, 1 task / 2 milestone); how a task is closed
through the API (the twin's manager closes it in the app: `complete_milestone` / `close_task`, which
set `closed` and `closed_at`); that task lists are part of the "structure" a copy always carries,
whatever its copy options (the twin copies each list with its name and `archived_at`, under a new
id, in the template's order), and which option copies the tasks (the twin copies none).
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.productive.engagements import EngagementWrites, _require
from infra.local.sandboxes.productive.errors import ApiError, json_response
from infra.local.sandboxes.productive.filters import related
from infra.local.sandboxes.productive.time_entries import refuse_unwritable

TASK_RESOURCES = ("tasks", "task_lists")
TASK_WRITABLE = frozenset({"title", "description", "due_date", "start_date", "type_id"})
TASK, MILESTONE = 1, 2


class Tasks(EngagementWrites):
    """Tasks and task lists, mixed into the sandbox that owns the stores and the clock."""

    # --- control API ------------------------------------------------------------------------

    def add_task_list(self, project_id: str, name: str = "General") -> str:
        """A task list on the project (the template's, or one a person adds); returns its id."""
        with self._lock:
            if project_id not in self._store["projects"]:
                raise KeyError(f"project {project_id} is not in the sandbox")
            return self._new_task_list(project_id, name, archived_at=None)

    def task_lists(self, project_id: str) -> list[dict[str, Any]]:
        """The task lists of one project (copies), in id order."""
        return self._of_project("task_lists", project_id)

    def tasks(self, project_id: str) -> list[dict[str, Any]]:
        """The tasks of one project (copies), in id order."""
        return self._of_project("tasks", project_id)

    def _of_project(self, kind: str, project_id: str) -> list[dict[str, Any]]:
        with self._lock:
            found = self._store[kind]
            return [
                copy.deepcopy(found[k])
                for k in sorted(found, key=int)
                if related(found[k], "project") == project_id
            ]

    def close_task(self, task_id: str, *, on: date | None = None) -> None:
        """A person closes the task in the app (`closed`, `closed_at`); KeyError when absent."""
        with self._lock:
            attributes = self._store["tasks"][task_id]["attributes"]
            moment = datetime(on.year, on.month, on.day, 12, tzinfo=UTC).isoformat() if on else self._stamp()
            attributes.update(closed=True, closed_at=moment, updated_at=self._stamp())

    def complete_milestone(self, project_id: str, code: str, *, on: date | None = None) -> None:
        """The project manager closes the milestone task titled "<code>: ..." (KeyError when absent)."""
        with self._lock:
            for task in self.tasks(project_id):
                title = str(task["attributes"]["title"])
                if task["attributes"].get("type_id") == MILESTONE and title.split(":", 1)[0].strip() == code:
                    self.close_task(task["id"], on=on)
                    return
            raise KeyError(f"project {project_id} has no milestone {code}")

    # --- the copy's structure -----------------------------------------------------------------

    def _new_task_list(self, project_id: str, name: str, *, archived_at: str | None) -> str:
        list_id = str(next(self._ids))
        self._store["task_lists"][list_id] = {
            "id": list_id,
            "type": "task_lists",
            "attributes": {"name": name, "archived_at": archived_at, "created_at": self._stamp()},
            "relationships": {"project": {"data": {"type": "projects", "id": project_id}}},
        }
        return list_id

    def _carry_structure(self, template_id: str, project_id: str) -> None:
        """The copy gets the template's task lists (see the module docstring for what is UNCONFIRMED)."""
        for task_list in self.task_lists(template_id):
            attributes = task_list["attributes"]
            self._new_task_list(
                project_id, str(attributes["name"]), archived_at=attributes.get("archived_at")
            )

    # --- routes -----------------------------------------------------------------------------

    def _task_route(self, kind: str, tail: list[str], method: str, request: Request) -> Response:
        if not tail and method == "GET":
            return self._list_resources(kind, request)
        if len(tail) == 1 and method == "GET":
            return self._single(kind, tail[0], request)
        if kind == "tasks" and not tail and method == "POST":
            return json_response({"data": copy.deepcopy(self._create_task(request))}, 201)
        raise ApiError(405, "Method Not Allowed", f"{method} {request.path} is not supported")

    def _create_task(self, request: Request) -> dict[str, Any]:
        data = self._data(request, "tasks", None)
        attributes = copy.deepcopy(data.get("attributes") or {})
        refuse_unwritable(attributes, TASK_WRITABLE)
        _require(attributes, ("title",), blank=lambda value: not value)
        project = self._relationship(data, "project", "projects", required=True)
        task_list = self._relationship(data, "task_list", "task_lists", required=True)
        if related(self._store["task_lists"][str(task_list)], "project") != project:
            raise ApiError(
                422,
                "Invalid Relationship",
                "task_list belongs to another project",
                "/data/relationships/task_list",
            )
        task_id = str(next(self._ids))
        stamp = self._stamp()
        task = {
            "id": task_id,
            "type": "tasks",
            "attributes": {
                "description": None,
                "due_date": None,
                "type_id": TASK,
                **attributes,
                "task_number": str(
                    sum(1 for t in self._store["tasks"].values() if related(t, "project") == project) + 1
                ),
                "closed": False,
                "closed_at": None,
                "created_at": stamp,
                "updated_at": stamp,
            },
            "relationships": {
                "project": {"data": {"type": "projects", "id": project}},
                "task_list": {"data": {"type": "task_lists", "id": task_list}},
            },
        }
        self._store["tasks"][task_id] = task
        return task
