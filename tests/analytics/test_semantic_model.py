"""The semantic model file loads, refuses what does not exist, and its views parse in both dialects."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlglot

from shared.analytics.semantic import MODEL_PATH, InvalidModel, SemanticModel, load_model, parse_model


@pytest.fixture(scope="module")
def model() -> SemanticModel:
    return load_model()


def raw() -> dict[str, Any]:
    return tomllib.loads(MODEL_PATH.read_text(encoding="utf-8"))


def test_the_shipped_model_defines_the_measures_the_events_carry(model: SemanticModel) -> None:
    # Given the model file as shipped
    # Then it defines the measures the landed events carry
    names = set(model.measures) | set(model.derived)
    assert {
        "pipeline",
        "bookings",
        "delivered",
        "backlog",
        "billed",
        "collected",
        "cash_realization",
        "dso",
    } <= names
    assert set(model.entities) == {"customer", "engagement", "worker", "period"}


@pytest.mark.parametrize(("dialect", "readers"), [("duckdb", ["duckdb"]), ("athena", ["athena", "trino"])])
def test_every_generated_view_parses_in_its_dialect(
    model: SemanticModel, dialect: Any, readers: list[str]
) -> None:
    # Given every view the model generates for the dialect
    statements = model.create_views(dialect)
    assert len(statements) == len(model.view_names()) > len(model.measures)
    for view, statement in zip(model.view_names(), statements, strict=True):
        select = model.select_sql(view, dialect, as_of=datetime(2026, 3, 31, tzinfo=UTC))
        for reader in readers:
            # Then the SELECT (as of a date) parses in that engine's dialect...
            assert sqlglot.parse_one(select, read=reader) is not None
            if dialect == "athena":
                # ...and so does the CREATE VIEW (DuckDB's CREATE MACRO ... AS TABLE is run by DuckDB itself)
                assert sqlglot.parse_one(statement, read=reader).find(sqlglot.exp.Create) is not None
        assert "2026-03-31 00:00:00" in select


def test_athena_views_show_current_truth_and_duckdb_macros_take_as_of(model: SemanticModel) -> None:
    # Then Athena's view reads "now" and DuckDB's macro takes the cut-off as its parameter
    assert "CURRENT_TIMESTAMP" in model.create_view_sql("measure_delivered", "athena")
    assert model.create_view_sql("measure_delivered", "duckdb").startswith(
        "CREATE OR REPLACE MACRO measure_delivered(as_of)"
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda m: m["measures"]["delivered"].update(table="time_booked"), "time_booked"),
        (lambda m: m["measures"]["delivered"].update(value="hours * rate_amout"), "rate_amout"),
        (lambda m: m["measures"]["collected"].update(entities=["engagement"]), "engagement"),
        (lambda m: m["measures"]["bookings"].update(entities=["region"]), "region"),
        (lambda m: m["entities"]["worker"]["columns"].update(time_approved="person_id"), "person_id"),
        (lambda m: m["derived"]["backlog"].update(formula="bookings - deliverd"), "deliverd"),
    ],
)
def test_a_model_naming_something_unknown_is_refused_with_its_name(change: Any, named: str) -> None:
    # Given the shipped model with one name misspelt or missing
    document = raw()
    change(document)
    # When it is loaded, then it is refused with a message naming what does not exist
    with pytest.raises(InvalidModel, match=named):
        parse_model(document)


def test_a_derived_measure_that_depends_on_itself_is_refused() -> None:
    document = raw()
    document["derived"]["billed"]["formula"] = "open_ar + invoiced"
    with pytest.raises(InvalidModel, match="depends on itself"):
        parse_model(document)
