"""Events from producers outside Dagster join the same graph; bad ones are refused with the reason."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from lineage.serve import ServeSettings

from .conftest import SPEC, client_for, needs_spec

PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0"
OUTPUT = ("postgres://warehouse:5432", "research.admissions_copy")


def airflow_event(run_id: str = "01930f6e-7d2a-7c1e-9a55-2f8a3c4d5e61") -> dict[str, Any]:
    """A COMPLETE event as Airflow's provider would send it: its own custom run facet, standard
    schema and column-lineage facets, reading a dataset tagtrail published."""
    facets = "https://openlineage.io/spec/facets/1-2-0"
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-02T10:00:00.000Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {
            "runId": run_id,
            "facets": {
                "airflow": {
                    "_producer": PRODUCER,
                    "_schemaURL": "https://airflow.apache.org/schemas/AirflowRunFacet.json",
                    "dag": {"dag_id": "copy_research"},
                }
            },
        },
        "job": {"namespace": "airflow://warehouse", "name": "copy_research.copy_admissions"},
        "inputs": [{"namespace": "tagtrail.research", "name": "admissions_research_extract"}],
        "outputs": [
            {
                "namespace": OUTPUT[0],
                "name": OUTPUT[1],
                "facets": {
                    "schema": {
                        "_producer": PRODUCER,
                        "_schemaURL": f"{facets}/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
                        "fields": [{"name": "person_key", "type": "text"}],
                    },
                    "columnLineage": {
                        "_producer": PRODUCER,
                        "_schemaURL": (
                            f"{facets}/ColumnLineageDatasetFacet.json"
                            "#/$defs/ColumnLineageDatasetFacet"
                        ),
                        "fields": {
                            "person_key": {
                                "inputFields": [
                                    {
                                        "namespace": "tagtrail.research",
                                        "name": "admissions_research_extract",
                                        "field": "person_key",
                                        "transformations": [
                                            {"type": "DIRECT", "subtype": "IDENTITY"}
                                        ],
                                    }
                                ]
                            }
                        },
                    },
                },
            }
        ],
    }


def test_an_airflow_event_joins_the_graph_and_the_trace(client: TestClient) -> None:
    event = airflow_event()
    posted = client.post("/api/v1/lineage", content=json.dumps(event))
    assert posted.status_code == 201 and posted.json() == {"stored": True}
    again = client.post("/api/v1/lineage", content=json.dumps(event, indent=2))
    assert again.status_code == 201 and again.json() == {"stored": False}
    graph = client.get("/api/v1/graph").json()
    target = f"{OUTPUT[0]}/{OUTPUT[1]}"
    assert target in {d["id"] for d in graph["datasets"]}
    assert (
        "tagtrail.research/admissions_research_extract",
        target,
    ) in {(e["from_dataset"], e["to_dataset"]) for e in graph["edges"]}
    params = {"dataset": "admissions_research_extract", "column": "person_key"}
    hops = client.get("/api/v1/trace", params=params).json()["hops"]
    assert {"dataset": OUTPUT[1], "column": "person_key"} in [h["to"] for h in hops]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[1, 2]", 400),
        (json.dumps({"eventType": "START"}).encode(), 400),
        (json.dumps({**airflow_event(), "eventTime": "yesterday"}).encode(), 400),
    ],
)
def test_events_the_store_cannot_index_are_refused(
    client: TestClient, body: bytes, status: int
) -> None:
    response = client.post("/api/v1/lineage", content=body)
    assert response.status_code == status
    assert response.json()["error"]


def test_an_oversized_event_is_refused(store_url: str) -> None:
    for small in client_for(ServeSettings(store_url=store_url, max_event_bytes=100)):
        assert small.post("/api/v1/lineage", content=json.dumps(airflow_event())).status_code == 413


@needs_spec
def test_the_schema_check_names_the_field(strict_client: TestClient) -> None:
    assert strict_client.get("/api/v1/health").json()["schemaValidation"] is True
    good = airflow_event("01930f6e-7d2a-7c1e-9a55-2f8a3c4d5e62")
    assert strict_client.post("/api/v1/lineage", content=json.dumps(good)).status_code == 201
    bad = copy.deepcopy(good)
    bad["run"]["runId"] = "01930f6e-7d2a-7c1e-9a55-2f8a3c4d5e63"
    bad["outputs"][0]["facets"]["schema"]["fields"] = "person_key"
    refused = strict_client.post("/api/v1/lineage", content=json.dumps(bad))
    assert refused.status_code == 400
    assert any("schema" in e and "fields" in e for e in refused.json()["errors"])
    wrong_type = {**good, "eventType": "DONE"}
    assert strict_client.post("/api/v1/lineage", content=json.dumps(wrong_type)).status_code == 400
    assert SPEC.is_dir()
