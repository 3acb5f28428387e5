"""check_disclosure: the demo flows' declared disclosure rules on frames with known answers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.demo import DEMO_ESTATE
from pipelines.estate import Estate, load_estate
from pipelines.policy.disclosure import suppress, tabulate
from pipelines.policy.disclosure_check import check_disclosure
from pipelines.policy.result import DISCLOSURE_CONTROL

# care_research_extract: k-anonymity over age_band, sex, postcode_district, unit person_key, k=5.
# admissions_research_extract: k-anonymity over age_band, sex, unit person_key, k=5, and
# 2-diversity of diagnosis_chapter.
# care_statistics: small cells over postcode_district, age_band, count people, threshold 10.


@pytest.fixture(scope="module")
def estate() -> Estate:
    return load_estate(DEMO_ESTATE)


def _check(estate: Estate, flow_name: str, output: pd.DataFrame):
    flow = estate.flows[flow_name]
    return check_disclosure(flow, estate.agreements[flow.agreement], output)


def _care_rows(qis: tuple[str, str, str], people: list[str]) -> list[dict[str, str]]:
    age, sex, district = qis
    return [
        {"person_key": p, "age_band": age, "sex": sex, "postcode_district": district}
        for p in people
    ]


def _care_extract(*classes: tuple[tuple[str, str, str], list[str]]) -> pd.DataFrame:
    rows = [row for qis, people in classes for row in _care_rows(qis, people)]
    frame = pd.DataFrame(rows)
    frame.insert(0, "record_id", [f"r{i}" for i in range(len(frame))])
    frame["service_type"] = "home care"
    return frame


FIVE = ["p1", "p2", "p3", "p4", "p5"]


def test_k_anonymous_extract_passes(estate: Estate) -> None:
    output = _care_extract(
        (("18-64", "F", "TT1"), FIVE),
        (("65-74", "M", "TT2"), ["q1", "q2", "q3", "q4", "q5", "q6"]),
    )
    result = _check(estate, "care_research_extract", output)
    assert result.control == DISCLOSURE_CONTROL
    assert result.passed
    assert result.findings == ()
    assert result.groups == ()
    assert result.summary == "smallest k is 5 over 2 combinations"
    assert result.rule == (
        "k-anonymity: every combination of age_band, sex, postcode_district covers at least "
        "5 people"
    )
    assert dict(result.counts) == {
        "k": 5,
        "smallest_k": 5,
        "classes": 2,
        "classes_below_k": 0,
        "people_in_classes_below_k": 0,
    }


def test_small_class_fails_with_counts_and_generalised_keys(estate: Estate) -> None:
    output = _care_extract(
        (("18-64", "F", "TT1"), FIVE),
        (("65-74", "M", "TT2"), ["q1", "q2", "q3"]),
        (("85+", "F", "TT3"), ["s1"]),
    )
    result = _check(estate, "care_research_extract", output)
    assert not result.passed
    assert result.halts
    assert dict(result.counts) == {
        "k": 5,
        "smallest_k": 1,
        "classes": 3,
        "classes_below_k": 2,
        "people_in_classes_below_k": 4,
    }
    assert result.findings == (
        "2 combination(s) of age_band, sex, postcode_district cover fewer than 5 people "
        "(smallest: 1)",
    )
    assert result.groups == (
        {"age_band": "85+", "sex": "F", "postcode_district": "TT3", "size": 1},
        {"age_band": "65-74", "sex": "M", "postcode_district": "TT2", "size": 3},
    )
    # Only generalised keys: no record ids or person keys.
    assert "q1" not in repr(result) and "s1" not in repr(result) and "r5" not in repr(result)


def test_rows_of_one_person_count_once(estate: Estate) -> None:
    # Six rows but four people: below k=5 although the class has more than five rows.
    output = _care_extract((("18-64", "F", "TT1"), ["p1", "p1", "p2", "p3", "p4", "p4"]))
    result = _check(estate, "care_research_extract", output)
    assert not result.passed
    assert result.counts["smallest_k"] == 4
    assert result.counts["people_in_classes_below_k"] == 4
    assert result.groups == (
        {"age_band": "18-64", "sex": "F", "postcode_district": "TT1", "size": 4},
    )


def test_one_person_in_two_classes_counts_in_each(estate: Estate) -> None:
    output = _care_extract(
        (("18-64", "F", "TT1"), FIVE),
        (("18-64", "F", "TT2"), ["p1", "x2", "x3", "x4", "x5"]),
    )
    result = _check(estate, "care_research_extract", output)
    assert result.passed
    assert result.counts["smallest_k"] == 5


def test_missing_quasi_identifier_is_a_class_of_its_own(estate: Estate) -> None:
    output = _care_extract((("18-64", "F", "TT1"), FIVE), (("18-64", "F", "TT1"), ["m1", "m2"]))
    output.loc[output["person_key"].isin(["m1", "m2"]), "postcode_district"] = None
    result = _check(estate, "care_research_extract", output)
    assert result.counts["classes"] == 2
    assert result.groups == (
        {"age_band": "18-64", "sex": "F", "postcode_district": None, "size": 2},
    )


def test_rule_without_unit_counts_rows(estate_copy: Path) -> None:
    path = estate_copy / "flows" / "care_research_extract.yaml"
    text = path.read_text()
    old = "quasi_identifiers: [age_band, sex, postcode_district], unit: person_key}"
    assert old in text
    path.write_text(text.replace(old, "quasi_identifiers: [age_band, sex, postcode_district]}"))
    estate = load_estate(estate_copy)
    output = _care_extract((("18-64", "F", "TT1"), ["p1", "p1", "p2", "p3", "p4", "p4"]))
    result = _check(estate, "care_research_extract", output)
    assert result.passed
    assert dict(result.counts) == {
        "k": 5,
        "smallest_k": 6,
        "classes": 1,
        "classes_below_k": 0,
        "rows_in_classes_below_k": 0,
    }
    assert result.rule.endswith("covers at least 5 rows")


def test_without_an_agreement_the_default_k_applies(estate: Estate) -> None:
    flow = estate.flows["care_research_extract"]
    output = _care_extract((("18-64", "F", "TT1"), ["p1", "p2", "p3", "p4"]))
    result = check_disclosure(flow, None, output)
    assert result.counts["k"] == 5
    assert not result.passed


def _admissions(*classes: tuple[tuple[str, str], list[tuple[str, str]]]) -> pd.DataFrame:
    rows = [
        {"person_key": person, "age_band": age, "sex": sex, "diagnosis_chapter": chapter}
        for (age, sex), members in classes
        for person, chapter in members
    ]
    frame = pd.DataFrame(rows)
    frame.insert(0, "record_id", [f"r{i}" for i in range(len(frame))])
    return frame


CIRC = "IX Circulatory"
RESP = "X Respiratory"


def test_l_diverse_extract_passes(estate: Estate) -> None:
    output = _admissions(
        (("18-64", "F"), [("a1", CIRC), ("a2", RESP), ("a3", CIRC), ("a4", CIRC), ("a5", CIRC)]),
        (("65-74", "M"), [("b1", RESP), ("b2", RESP), ("b3", CIRC), ("b4", RESP), ("b5", RESP)]),
    )
    result = _check(estate, "admissions_research_extract", output)
    assert result.passed
    assert result.counts["smallest_l"] == 2
    assert result.counts["classes_below_l"] == 0
    assert result.rule == (
        "k-anonymity: every combination of age_band, sex covers at least 5 people; "
        "l-diversity: at least 2 distinct diagnosis_chapter a combination, and none held by "
        "every person of it"
    )


def test_l_diversity_failure_adds_groups_marked_l_diversity(estate: Estate) -> None:
    output = _admissions(
        (("18-64", "F"), [("a1", CIRC), ("a2", CIRC), ("a3", CIRC), ("a4", CIRC), ("a5", CIRC)]),
        (("65-74", "M"), [("b1", RESP), ("b2", CIRC), ("b3", CIRC), ("b4", RESP), ("b5", RESP)]),
    )
    result = _check(estate, "admissions_research_extract", output)
    assert not result.passed
    assert result.halts
    assert result.findings == (
        "1 combination(s) hold fewer than 2 distinct diagnosis_chapter values (smallest: 1)",
    )
    assert dict(result.counts) == {
        "k": 5,
        "smallest_k": 5,
        "classes": 2,
        "classes_below_k": 0,
        "people_in_classes_below_k": 0,
        "l": 2,
        "smallest_l": 1,
        "classes_below_l": 1,
        "classes_with_shared_value": 1,
    }
    assert result.groups == (
        {
            "age_band": "18-64",
            "sex": "F",
            "distinct": 1,
            "size": 5,
            "shared": 1,
            "failed": "l-diversity",
        },
    )
    assert CIRC not in repr(result.groups)


def test_k_and_l_failures_are_reported_together(estate: Estate) -> None:
    output = _admissions(
        (("18-64", "F"), [("a1", CIRC), ("a2", CIRC), ("a3", CIRC), ("a4", CIRC), ("a5", CIRC)]),
        (("65-74", "M"), [("b1", RESP), ("b2", CIRC)]),
    )
    result = _check(estate, "admissions_research_extract", output)
    assert len(result.findings) == 2
    assert result.findings[0] == (
        "1 combination(s) of age_band, sex cover fewer than 5 people (smallest: 2)"
    )
    assert result.groups == (
        {"age_band": "65-74", "sex": "M", "size": 2},
        {
            "age_band": "18-64",
            "sex": "F",
            "distinct": 1,
            "size": 5,
            "shared": 1,
            "failed": "l-diversity",
        },
    )


def test_l_diversity_counts_people_not_rows(estate: Estate) -> None:
    # Every person of 18-64 F had a circulatory admission; a1's second admission, respiratory,
    # makes two distinct values, but a reader still learns each person's circulatory admission.
    people = [("a1", CIRC), ("a1", RESP), ("a2", CIRC), ("a3", CIRC), ("a4", CIRC), ("a5", CIRC)]
    output = _admissions(
        (("18-64", "F"), people),
        (("65-74", "M"), [("b1", RESP), ("b2", CIRC), ("b3", CIRC), ("b4", RESP), ("b5", RESP)]),
    )
    result = _check(estate, "admissions_research_extract", output)
    assert not result.passed
    assert result.findings == (
        "1 combination(s) with 2 or more distinct values still have a diagnosis_chapter value "
        "held by every person in them",
    )
    assert result.counts["smallest_l"] == 2
    assert result.counts["classes_with_shared_value"] == 1
    assert result.groups == (
        {
            "age_band": "18-64",
            "sex": "F",
            "distinct": 2,
            "size": 5,
            "shared": 1,
            "failed": "l-diversity",
        },
    )


def test_values_are_compared_after_conforming(estate: Estate) -> None:
    # " IX Circulatory " is the same value as "IX Circulatory"; only formatting differs.
    output = _admissions(
        (("18-64", "F"), [("a1", CIRC), ("a2", f" {CIRC} "), ("a3", CIRC), ("a4", CIRC)]),
    )
    output = pd.concat([output, output.assign(person_key="a5", record_id="r9").iloc[:1]])
    output.loc[output.index[-1], "age_band"] = " 18-64"
    result = _check(estate, "admissions_research_extract", output)
    assert result.counts["classes"] == 1
    assert result.counts["smallest_k"] == 5
    assert result.counts["smallest_l"] == 1


# Small cells: people by district and age band. Hand-worked grid (threshold 10):
#            A    B   Total
#   TT1     12    3    15
#   TT2     15   20    35
#   Total   27   23    50
# (TT1, B) is primary. Secondary: its row takes (TT1, A) 12 (smaller than the total 15), its
# column takes (TT2, B) 20 (smaller than 23), then column A takes (TT2, A) 15 (smaller than 27).


def _people_frame() -> pd.DataFrame:
    cells = {("TT1", "A"): 12, ("TT1", "B"): 3, ("TT2", "A"): 15, ("TT2", "B"): 20}
    rows = []
    for (district, band), n in cells.items():
        rows += [
            {
                "person_key": f"{district}-{band}-{i}",
                "postcode_district": district,
                "age_band": band,
            }
            for i in range(n)
        ]
    # A second row for one person does not add to the count of people.
    rows.append({"person_key": "TT1-B-0", "postcode_district": "TT1", "age_band": "B"})
    return pd.DataFrame(rows)


DIMS = ["postcode_district", "age_band"]


def test_suppressed_table_passes(estate: Estate) -> None:
    table = tabulate(_people_frame(), DIMS, unit="person_key", count_column="people")
    published = suppress(table, DIMS, 10, count_column="people").table
    hidden = published.loc[published["suppressed"].astype(bool), DIMS]
    assert sorted(map(tuple, hidden.to_numpy().tolist())) == [
        ("TT1", "A"),
        ("TT1", "B"),
        ("TT2", "A"),
        ("TT2", "B"),
    ]
    result = _check(estate, "care_statistics", published)
    assert result.passed
    assert result.findings == ()
    # One cycle: TT1/A = 12 + t, TT1/B = 3 - t, TT2/A = 15 - t, TT2/B = 20 + t, t from -12 to 3.
    assert result.summary == "4 of 9 cells suppressed (1 primary, 3 secondary); narrowest range 15"
    assert dict(result.counts) == {
        "threshold": 10,
        "protection_width": 10,
        "line_relations": "exact sums",
        "cells": 9,
        "suppressed_cells": 4,
        "primary_cells": 1,
        "secondary_cells": 3,
        "unsafe_cells": 0,
        "recoverable_cells": 0,
        "narrowest_interval": 15,
    }
    assert result.rule == (
        "small cells: no published count below 10 over postcode_district, age_band, and no "
        "suppressed count narrowed to a range under 10 by the published counts and totals "
        "(lines as exact sums)"
    )


def test_published_small_cell_fails(estate: Estate) -> None:
    table = tabulate(_people_frame(), DIMS, unit="person_key", count_column="people")
    cell = (table["postcode_district"] == "TT1") & (table["age_band"] == "B")
    assert table.loc[cell, "people"].tolist() == [3]
    result = _check(estate, "care_statistics", table)
    assert not result.passed
    assert result.halts
    assert result.findings == ("1 published cell(s) rest on fewer than 10",)
    assert dict(result.counts) == {
        "threshold": 10,
        "protection_width": 10,
        "line_relations": "exact sums",
        "cells": 9,
        "suppressed_cells": 0,
        "primary_cells": 0,
        "secondary_cells": 0,
        "unsafe_cells": 1,
        "recoverable_cells": 0,
        "narrowest_interval": "none suppressed",
    }
    assert result.groups == (
        {"postcode_district": "TT1", "age_band": "B", "reason": "below threshold"},
    )


def test_primary_suppression_alone_is_recoverable(estate: Estate) -> None:
    table = tabulate(_people_frame(), DIMS, unit="person_key", count_column="people")
    cell = (table["postcode_district"] == "TT1") & (table["age_band"] == "B")
    table["people"] = table["people"].astype("Int64").mask(cell)
    table["suppressed"] = cell
    result = _check(estate, "care_statistics", table)
    assert not result.passed
    assert result.counts["unsafe_cells"] == 0
    assert result.counts["suppressed_cells"] == 1
    assert result.counts["recoverable_cells"] == 1
    assert result.findings == (
        "1 suppressed cell(s) can be narrowed from the published counts to a range under 10 "
        "(narrowest: 0)",
    )
    assert result.groups == (
        {
            "postcode_district": "TT1",
            "age_band": "B",
            "reason": "recoverable exactly from the published counts",
        },
    )


def test_a_small_count_shown_but_flagged_suppressed_fails(estate: Estate) -> None:
    table = tabulate(_people_frame(), DIMS, unit="person_key", count_column="people")
    published = suppress(table, DIMS, 10, count_column="people").table
    cell = (published["postcode_district"] == "TT1") & (published["age_band"] == "B")
    published.loc[cell, "people"] = 3  # flag and label still say suppressed
    result = _check(estate, "care_statistics", published)
    assert not result.passed
    assert result.counts["unsafe_cells"] == 1
    assert result.groups[0] == {
        "postcode_district": "TT1",
        "age_band": "B",
        "reason": "below threshold, shown although flagged suppressed",
    }


def test_distinct_people_in_several_cells_are_audited_as_units(estate: Estate) -> None:
    # TT3: 12 people in each age band, 5 of them in both, 19 in all. Row TT3 is published in
    # full and sums to more than its total, so the lines are taken as distinct units.
    tt3 = [(f"TT3-{i}", "A") for i in range(12)] + [(f"TT3-{i}", "B") for i in range(7, 19)]
    frame = pd.concat(
        [
            _people_frame(),
            pd.DataFrame(
                [{"person_key": p, "postcode_district": "TT3", "age_band": b} for p, b in tt3]
            ),
        ],
        ignore_index=True,
    )
    table = tabulate(frame, DIMS, unit="person_key", count_column="people")
    row = table[table["postcode_district"] == "TT3"]["people"].tolist()
    assert row == [12, 12, 19]
    published = suppress(table, DIMS, 10, count_column="people").table
    result = _check(estate, "care_statistics", published)
    assert result.passed
    assert result.counts["line_relations"] == "distinct units"
    assert result.counts["suppressed_cells"] == 4
    assert result.rule.endswith("(lines as distinct units)")
