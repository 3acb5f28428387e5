"""The read API answers the governance questions from the store: graph, filters, traces."""

from __future__ import annotations

from starlette.testclient import TestClient

from lineage.store import open_store
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate

ESTATE = load_estate(DEMO_ESTATE)


def test_the_estate_graph_has_every_flow_edge_with_its_agreement(client: TestClient) -> None:
    data = client.get("/api/v1/graph").json()
    names = {d["name"] for d in data["datasets"]}
    assert set(ESTATE.datasets) <= names
    flow_edges = {
        (e["to_dataset"].split("/")[-1], e["agreement_id"], e["purpose"]) for e in data["edges"]
    }
    for flow in ESTATE.flows.values():
        agreement = ESTATE.agreements[flow.agreement].id
        assert (flow.output, agreement, flow.purpose) in flow_edges
    by_name = {d["name"]: d for d in data["datasets"]}
    for name, owner in ESTATE.dataset_owner.items():
        assert by_name[name]["department"] == owner


def test_filters_by_tag_department_and_agreement(client: TestClient, store_url: str) -> None:
    with open_store(store_url) as store:
        tags = store.column_tags()
    health = client.get("/api/v1/graph", params={"tag": "person.special.health"}).json()
    expected = {n for n, found in tags.items() if "person.special.health" in found}
    assert {d["id"] for d in health["datasets"]} == expected
    assert all(
        e["from_dataset"] in expected and e["to_dataset"] in expected for e in health["edges"]
    )
    special = client.get("/api/v1/graph", params={"tag": "person.special"}).json()
    assert {d["id"] for d in special["datasets"]} >= expected
    research = client.get("/api/v1/graph", params={"department": "research"}).json()
    assert {d["department"] for d in research["datasets"]} == {"research"}
    agreement = client.get("/api/v1/graph", params={"agreement": "DSA-ASC-RES-03"}).json()
    assert {e["agreement_id"] for e in agreement["edges"]} == {"DSA-ASC-RES-03"}
    assert "care_research_extract" in {d["name"] for d in agreement["datasets"]}


def test_column_trace_shows_tags_rule_agreement_and_legal_basis(client: TestClient) -> None:
    params = {"dataset": "inpatient_episodes", "column": "nhs_number", "direction": "downstream"}
    hops = client.get("/api/v1/trace", params=params).json()["hops"]
    research = next(h for h in hops if h["to"]["dataset"] == "admissions_research_extract")
    assert research["tagsBefore"] == ["person.id.direct"]
    assert research["tagsAfter"] == ["person.id.pseudonymous"]
    assert research["agreement"] == "DSA-HLT-RES-05"
    assert research["purpose"] == "service_evaluation"
    assert research["legalBasis"].startswith("Art. 6(1)(e); Art. 9(2)(j)")
    assert any(t["masking"] for t in research["transformations"])
    social = next(h for h in hops if h["to"]["dataset"] == "discharge_notifications")
    assert social["tagsBefore"] == social["tagsAfter"] == ["person.id.direct"]


def test_marquez_shaped_lineage(client: TestClient) -> None:
    node = "datasetField:tagtrail.health:inpatient_episodes:nhs_number"
    graph = client.get("/api/v1/lineage", params={"nodeId": node, "depth": 5}).json()["graph"]
    ids = {n["id"]: n for n in graph}
    assert node in ids
    target = "datasetField:tagtrail.research:admissions_research_extract:person_key"
    assert {"origin": node, "destination": target} in ids[node]["outEdges"]
    assert ids[target]["data"]["tags"] == ["person.id.pseudonymous"]
    assert {"origin": node, "destination": target} in ids[target]["inEdges"]
    datasets = client.get(
        "/api/v1/lineage", params={"nodeId": "dataset:tagtrail.research:care_research_extract"}
    ).json()["graph"]
    kinds = {n["type"] for n in datasets}
    assert kinds == {"DATASET", "JOB"}
    assert "dataset:tagtrail.social_care:care_packages" in {n["id"] for n in datasets}


def test_a_dataset_page(client: TestClient) -> None:
    data = client.get("/api/v1/datasets/care_research_extract").json()
    assert data["dataset"]["agreement"]["id"] == "DSA-ASC-RES-03"
    columns = {c["name"]: c for c in data["columns"]}
    assert {t["tag"] for t in columns["person_key"]["tags"]} == {"person.id.pseudonymous"}
    assert columns["person_key"]["tags"][0]["attributions"]
    assert [r["state"] for r in data["runs"]] == ["COMPLETE"]
    assert isinstance(data["controls"], list)


def test_mistakes_are_named(client: TestClient) -> None:
    missing = client.get("/api/v1/datasets/care_research_extrac")
    assert missing.status_code == 404 and "care_research_extract" in missing.json()["error"]
    assert client.get("/api/v1/trace", params={"dataset": "x"}).status_code == 404
    assert client.get("/api/v1/trace").status_code == 400
    bad = {"dataset": "care_packages", "direction": "sideways"}
    assert client.get("/api/v1/trace", params=bad).status_code == 400
    assert client.get("/api/v1/lineage", params={"nodeId": "nope"}).status_code == 400
    deep = {"nodeId": "dataset:tagtrail.health:inpatient_episodes", "depth": "-1"}
    assert client.get("/api/v1/lineage", params=deep).status_code == 400
    assert client.get("/api/v1/audit", params={"kind": "nope"}).status_code == 400
    assert client.get("/api/v1/audit", params={"since": "soon"}).status_code == 400


def test_report_pages_and_schemas(client: TestClient) -> None:
    page = client.get("/reports/ropa")
    assert page.status_code == 200 and page.text.count("<table>") == len(ESTATE.flows)
    assert client.get("/reports/transparency", params={"since": "2026-01-01"}).status_code == 200
    listed = client.get("/spec/facets/").json()["schemas"]
    assert listed
    schema = client.get(listed[0])
    assert schema.status_code == 200 and schema.json()["$id"].endswith(listed[0])


def test_every_custom_facet_schema_url_resolves_on_the_server(client: TestClient) -> None:
    from urllib.parse import urlparse

    from lineage.control_facets import TagtrailAuditRunFacet, TagtrailControlsDatasetFacet
    from lineage.disposal import TagtrailDisposalDatasetFacet
    from lineage.facets import TagtrailPrivacyDatasetFacet

    for cls in (
        TagtrailAuditRunFacet,
        TagtrailControlsDatasetFacet,
        TagtrailDisposalDatasetFacet,
        TagtrailPrivacyDatasetFacet,
    ):
        url = urlparse(cls._get_schema())
        served = client.get(url.path)
        assert served.status_code == 200, url.path
        schema = served.json()
        assert urlparse(schema["$id"]).path == url.path
        assert url.fragment.removeprefix("/$defs/") in schema["$defs"]
