"""Fast declarations: the event-built YAML equals PyYAML's, producers are indexed, the collector
is left as it was found, and released file contents are read again for error locations."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
import yaml

from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate
from pipelines.heap import young_collections_only
from pipelines.yamlfile import DeclarationError, _load, _Unusual, fast_load, read_yaml

DOCUMENTS = [
    "",
    "# only a comment\n",
    "---\n",
    "plain\n",
    "- a\n- b\n",
    "a: 1\nb: [1, 2.5, .nan, .inf, yes, no, on, ~, null, '', 0x1f, 0o17, 1_000, 190:20:30]\n",
    "when: 2026-01-01\nat: 2026-01-01 10:00:00+01:00\nquoted: '2026-01-01'\n",
    "a:\n  - b: {c: d, e: [f, {g: h}]}\n  - ''\nempty:\nnested: {x: {y: {z: []}}}\n",
    "text: |\n  line one\n  line two\nfolded: >\n  folded\n  text\n",
    "'<<': 1\n'1': one\n1: one\n",
    "a: ! 5\nb: ! text\n",
]
UNUSUAL = [
    "a: &x 1\nb: *x\n",
    "base: &b {k: 1}\nother:\n  <<: *b\n",
    "a: !!str 5\nb: !!binary aGVsbG8=\n",
    "s: !!set {x, y}\n",
    "--- 1\n--- 2\n",
    "a: 1\na: 2\n",
    "true: 1\nyes: 2\n",
    "=: 3\n",
]


def _pyyaml(text: str) -> object:
    return _load(Path("x.yaml"), text)


@pytest.mark.parametrize("text", DOCUMENTS)
def test_event_built_data_equals_pyyaml(text: str) -> None:
    assert repr(fast_load(text)) == repr(_pyyaml(text))


@pytest.mark.parametrize("text", UNUSUAL)
def test_anything_unusual_is_left_to_pyyaml(text: str, tmp_path: Path) -> None:
    with pytest.raises(_Unusual):
        fast_load(text)
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        expected: object = _load(path, text)
    except DeclarationError as exc:
        with pytest.raises(DeclarationError) as got:
            read_yaml(path)
        assert got.value.problems == exc.problems
    else:
        assert repr(read_yaml(path).data) == repr(expected)


def test_every_demo_file_reads_as_pyyaml_reads_it() -> None:
    files = sorted(DEMO_ESTATE.rglob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert read_yaml(path).data == yaml.load(text, Loader=yaml.SafeLoader), path


def test_a_released_file_is_read_again_with_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text("name: x\ncolumns:\n  - {name: a}\n  - {name: b, tags: [t]}\n")
    src = read_yaml(path, tmp_path.resolve())
    before = src.data
    src.release()
    assert src.data == before and src.data is not before
    assert src.where(("columns", 1, "tags")) == f"{path}, line 4: columns[b].tags"
    assert src.resolved == path.resolve()


def test_producers_are_indexed_as_declared() -> None:
    estate = load_estate(DEMO_ESTATE)
    for name in estate.datasets:
        scan = next((f for f in estate.flows.values() if f.output == name), None)
        assert estate.producer(name) is scan
    first = next(iter(estate.flows))
    flow = estate.flows.pop(first)
    assert estate.producer(flow.output) is None
    estate.flows[first] = flow
    assert estate.producer(flow.output) is flow


def test_downstream_follows_every_flow() -> None:
    estate = load_estate(DEMO_ESTATE)
    assert estate.downstream("care_packages") == {"care_research_extract", "care_statistics"}
    assert estate.downstream("care_statistics") == set()


def test_the_collector_is_left_as_found() -> None:
    before = gc.get_threshold()
    with young_collections_only():
        with young_collections_only():
            assert gc.get_threshold()[2] >= 1_000_000
        assert gc.get_threshold()[2] >= 1_000_000
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), young_collections_only():
        raise RuntimeError
    assert gc.get_threshold() == before


_REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "path",
    sorted(p for d in ("pipelines", "tests/fixtures") for p in (_REPO / d).rglob("*.yaml")),
    ids=lambda p: str(p.relative_to(_REPO)),
)
def test_every_declaration_in_the_repository_reads_as_pyyaml_reads_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    try:
        fast: object = fast_load(text)
    except _Unusual:
        return
    assert repr(fast) == repr(_pyyaml(text))
