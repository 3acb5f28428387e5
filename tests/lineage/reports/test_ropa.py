"""The record of processing says, field by field, what the declarations say."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lineage.propagation import propagate
from lineage.reports.render import render_ropa
from lineage.reports.ropa import RopaEntry, record_of_processing
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import Estate, load_estate
from pipelines.policy.agreement import selection_tags
from pipelines.policy.applicable import applicable
from pipelines.taxonomy import TAGS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def estate() -> Estate:
    return load_estate(DEMO_ESTATE)


@pytest.fixture(scope="module")
def entries(estate: Estate) -> list[RopaEntry]:
    return record_of_processing(estate)


def test_one_entry_a_flow(estate: Estate, entries: list[RopaEntry]) -> None:
    assert [e.flow for e in entries] == sorted(estate.flows)


def test_every_field_is_the_declarations(estate: Estate, entries: list[RopaEntry]) -> None:
    computed = propagate(estate)
    for entry in entries:
        flow = estate.flows[entry.flow]
        agreement = estate.agreements[flow.agreement]
        owner, recipient = estate.departments[flow.owner], estate.departments[flow.recipient]
        assert (entry.controller.department, entry.controller.title) == (owner.name, owner.title)
        assert entry.controller.contact_email == owner.steward.email
        assert (entry.recipient.department, entry.recipient.title) == (
            recipient.name,
            recipient.title,
        )
        assert entry.purpose == flow.purpose and entry.purpose in agreement.purposes
        assert (entry.agreement_id, entry.agreement_title) == (agreement.id, agreement.title)
        assert (entry.agreement_start, entry.agreement_end, entry.agreement_review) == (
            agreement.start,
            agreement.end,
            agreement.review,
        )
        assert entry.agreement_parties == agreement.parties
        basis = agreement.legal_basis
        assert entry.article_6 == f"Art. {basis.article_6}"
        assert entry.article_9 == (f"Art. {basis.article_9}" if basis.article_9 else None)
        assert (entry.article_10, entry.statute) == (basis.article_10, basis.statute)
        assert (entry.inputs, entry.output) == (flow.inputs, flow.output)
        assert entry.retention_period == agreement.retention.period
        assert entry.retention_disposal == agreement.retention.disposal
        assert entry.identified_sharing == agreement.identified_sharing
        controls = [s.control for s in entry.safeguards]
        assert controls[: len(applicable(estate, flow.output))] == list(
            applicable(estate, flow.output)
        )
        assert ("opt_out_register" in controls) == (flow.opt_out is not None)
        k_rule = flow.disclosure is not None and flow.disclosure.k_anonymity is not None
        assert ("k_anonymity" in controls) == k_rule

        expected: dict[str, set[str]] = {}
        for column in estate.datasets[flow.output].columns:
            for tag in computed[(flow.output, column.name)].tags:
                expected.setdefault(tag, set()).add(column.name)
        selected = selection_tags(flow, {k: v.tags for k, v in computed.items()})
        for tag in {t for found in selected.values() for t in found}:
            expected.setdefault(tag, set())
        assert {c.tag: set(c.columns) for c in entry.categories} == expected
        for category in entry.categories:
            info = TAGS[category.tag]
            assert category.description == info.description
            assert set(category.fideslang) == {
                m.removeprefix("fideslang:") for m in info.maps_to if m.startswith("fideslang:")
            }
            art9 = "GDPR Art. 9 special category" in category.gdpr
            assert art9 == info.special_category


def test_special_categories_need_their_condition(entries: list[RopaEntry]) -> None:
    for entry in entries:
        special = any("GDPR Art. 9 special category" in c.gdpr for c in entry.categories)
        if special and entry.categories[0].tag.startswith("person."):
            assert entry.article_9 is not None, entry.flow


def test_a_selection_on_health_is_a_category(estate: Estate, entries: list[RopaEntry]) -> None:
    computed = {k: v.tags for k, v in propagate(estate).items()}
    for entry in entries:
        selected = selection_tags(estate.flows[entry.flow], computed)
        for category in entry.categories:
            refs = {ref for ref, tags in selected.items() if category.tag in tags}
            assert set(category.selected_by) == refs
    discharge = next(e for e in entries if e.flow == "discharge_notifications")
    health = {c.tag: c for c in discharge.categories}["person.special.health"]
    assert health.selected_by, "a list of patients selected on their spells discloses health"


def test_csv_and_json_hold_every_flow(entries: list[RopaEntry]) -> None:
    rows = list(csv.DictReader(io.StringIO(render_ropa(entries, "csv"))))
    assert [r["flow"] for r in rows] == [e.flow for e in entries]
    for row, entry in zip(rows, entries, strict=True):
        assert row["agreement"].startswith(entry.agreement_id)
        assert row["Art. 9 condition"] == (entry.article_9 or "")
        for category in entry.categories:
            assert category.tag in row["categories of data"]
    data = json.loads(render_ropa(entries, "json"))["record_of_processing"]
    assert [d["flow"] for d in data] == [e.flow for e in entries]
    assert data[0]["agreement_start"] == entries[0].agreement_start.isoformat()


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_escapes_what_it_shows(entries: list[RopaEntry]) -> None:
    hostile = dataclasses.replace(entries[0], description='<script>alert("x")</script> & more')
    page = render_ropa([hostile, *entries[1:]], "html")
    parser = _Text()
    parser.feed(page)
    assert "script" not in parser.tags
    assert '<script>alert("x")</script> & more' in "".join(parser.text)
    assert parser.tags.count("table") == len(entries)


def test_an_estate_of_its_own(tmp_path: Path) -> None:
    estate = load_estate(FIXTURES / "linked_estate")
    entries = record_of_processing(estate)
    assert {e.flow for e in entries} == set(estate.flows)
    assert all(e.safeguards for e in entries)
