"""A lineage graph in the shape Marquez's API returns, built from the store's traces.

``dataset:<namespace>:<name>`` gives DATASET and JOB nodes (a job sits between the datasets it
read and wrote); ``datasetField:<namespace>:<name>:<field>`` gives DATASET_FIELD nodes. Each node
is ``{id, type, data, inEdges, outEdges}`` with edges ``{origin, destination}``; ``data`` carries
tagtrail's own facts too (department, agreement, purpose, legal basis, privacy tags).
"""

from __future__ import annotations

from typing import Any

from lineage.store import LineageStore
from lineage.store.records import DatasetRecord, Direction, Hop

DIRECTIONS: tuple[Direction, ...] = ("upstream", "downstream")

_DATASET = "dataset"
_FIELD = "datasetField"


class NodeIdError(ValueError):
    """A ``nodeId`` that is not one of the two forms."""


def lineage_graph(store: LineageStore, node_id: str, depth: int) -> list[dict[str, Any]]:
    """Every node reachable from ``node_id`` within ``depth`` hops, upstream and downstream."""
    kind, _, rest = node_id.partition(":")
    if kind == _DATASET and ":" in rest:
        namespace, _, name = rest.rpartition(":")
        return _datasets(store, f"{namespace}/{name}", depth)
    if kind == _FIELD and rest.count(":") >= 2:
        head, _, field = rest.rpartition(":")
        namespace, _, name = head.rpartition(":")
        return _fields(store, f"{namespace}/{name}", field, depth)
    raise NodeIdError(
        "nodeId must be dataset:<namespace>:<name> or datasetField:<namespace>:<name>:<field>, "
        f"not {node_id!r}"
    )


class _Graph:
    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}

    def node(self, node_id: str, kind: str, data: dict[str, Any]) -> None:
        entry = self.nodes.setdefault(
            node_id, {"id": node_id, "type": kind, "data": {}, "inEdges": [], "outEdges": []}
        )
        entry["data"].update(data)

    def edge(self, origin: str, destination: str) -> None:
        edge = {"origin": origin, "destination": destination}
        if edge not in self.nodes[origin]["outEdges"]:
            self.nodes[origin]["outEdges"].append(edge)
            self.nodes[destination]["inEdges"].append(edge)

    def result(self) -> list[dict[str, Any]]:
        return [self.nodes[k] for k in sorted(self.nodes)]


def _records(store: LineageStore) -> dict[str, DatasetRecord]:
    found: dict[str, DatasetRecord] = {}
    for record in store.datasets():
        found[f"{record.namespace}/{record.name}"] = record
        found.setdefault(record.name, record)
    return found


def dataset_summary(record: DatasetRecord) -> dict[str, Any]:
    """What a graph node says of a dataset: where it lives and under which terms."""
    return {
        "namespace": record.namespace,
        "name": record.name,
        "department": record.department,
        "agreement": record.agreement.id if record.agreement else None,
        "purpose": record.purpose,
        "legalBasis": record.legal_basis,
        "identifiability": record.identifiability,
        "lifecycleState": record.lifecycle_state,
        "tags": list(record.tags),
    }


def _dataset_data(record: DatasetRecord | None, name: str) -> dict[str, Any]:
    return dataset_summary(record) if record is not None else {"name": name}


def _key(record: DatasetRecord | None, name: str) -> tuple[str, str]:
    return (record.namespace, record.name) if record is not None else ("", name)


def _datasets(store: LineageStore, start: str, depth: int) -> list[dict[str, Any]]:
    records = _records(store)
    graph = _Graph()
    first = store.dataset(start)
    if first is None:
        store.columns(start)  # raises UnknownNameError with the closest names
    namespace, name = _key(first, start)
    graph.node(f"{_DATASET}:{namespace}:{name}", "DATASET", _dataset_data(first, name))
    for direction in DIRECTIONS:
        for hop in store.trace(start, None, direction, depth):
            source, target = records.get(hop.from_dataset), records.get(hop.to_dataset)
            sid = "{}:{}:{}".format(_DATASET, *_key(source, hop.from_dataset))
            tid = "{}:{}:{}".format(_DATASET, *_key(target, hop.to_dataset))
            jid = f"job:{_key(target, hop.to_dataset)[0]}:{hop.job}"
            graph.node(sid, "DATASET", _dataset_data(source, hop.from_dataset))
            graph.node(tid, "DATASET", _dataset_data(target, hop.to_dataset))
            graph.node(jid, "JOB", {"name": hop.job, "department": hop.department})
            graph.edge(sid, jid)
            graph.edge(jid, tid)
    return graph.result()


def _fields(store: LineageStore, start: str, field: str, depth: int) -> list[dict[str, Any]]:
    records = _records(store)
    graph = _Graph()
    first = store.dataset(start)
    namespace, name = _key(first, start)
    own = {c.name: c for c in store.columns(start)}
    tags = sorted({t.tag for t in own[field].tags}) if field in own else []
    graph.node(
        f"{_FIELD}:{namespace}:{name}:{field}",
        "DATASET_FIELD",
        {"dataset": name, "field": field, "tags": tags},
    )
    for direction in DIRECTIONS:
        for hop in store.trace(start, field, direction, depth):
            _field_hop(graph, records, hop)
    return graph.result()


def _field_hop(graph: _Graph, records: dict[str, DatasetRecord], hop: Hop) -> None:
    source, target = records.get(hop.from_dataset), records.get(hop.to_dataset)
    sns, sname = _key(source, hop.from_dataset)
    tns, tname = _key(target, hop.to_dataset)
    sid = f"{_FIELD}:{sns}:{sname}:{hop.from_column}"
    graph.node(
        sid,
        "DATASET_FIELD",
        {
            "dataset": sname,
            "field": hop.from_column,
            "department": hop.from_department,
            "tags": sorted({t.tag for t in hop.from_tags}),
        },
    )
    if hop.to_column is None:
        tid = f"{_DATASET}:{tns}:{tname}"
        graph.node(tid, "DATASET", _dataset_data(target, hop.to_dataset))
    else:
        tid = f"{_FIELD}:{tns}:{tname}:{hop.to_column}"
        graph.node(
            tid,
            "DATASET_FIELD",
            {
                "dataset": tname,
                "field": hop.to_column,
                "department": hop.department,
                "tags": sorted({t.tag for t in hop.tags}),
                "agreement": hop.agreement_id,
                "purpose": hop.purpose,
                "legalBasis": target.legal_basis if target else None,
                "transformations": [
                    {
                        "type": t.type,
                        "subtype": t.subtype,
                        "masking": t.masking,
                        "description": t.description,
                    }
                    for t in hop.transformations
                ],
                "job": hop.job,
            },
        )
    graph.edge(sid, tid)
