"""``tagtrail demo``: generate the demo's synthetic sources, then run the demo estate like any other."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from dagster_project.resources import ensure_demo_key
from dagster_project.run import RunReport, run_estate
from pipelines.demo import DEMO_ESTATE
from pipelines.demo.defects import inject
from pipelines.demo.generate import generate
from pipelines.demo.policy_defects import POLICY_DEFECTS
from pipelines.estate import Estate, load_estate


def run_demo(
    home: Path,
    *,
    people: int = 10_000,
    seed: int = 2026,
    defect: str | None = None,
    as_of: dt.date | None = None,
    estate: Estate | None = None,
    lineage_url: str | None = None,
    regenerate: bool = True,
    launched_by: str | None = None,
    workers: int = 0,
) -> RunReport:
    """Generate sources under ``home``, optionally inject ``defect``, and run every flow.

    ``regenerate=False`` reruns on the extracts already there (to see a changed opt-out register
    or a later ``as_of`` at work); ``launched_by`` defaults to the OS user; ``workers`` as for
    :func:`run_estate`.
    """
    home = home.resolve()
    as_of = as_of or dt.date.today()
    if regenerate:
        generate(home, people=people, seed=seed, reference_date=as_of)
    injected: list[str] = []
    if defect in POLICY_DEFECTS:
        estate = load_estate(POLICY_DEFECTS[defect].estate_copy(DEMO_ESTATE, home))
    elif defect:
        injected = inject(home, defect, seed)
    ensure_demo_key(home)
    report = run_estate(
        estate or load_estate(DEMO_ESTATE),
        home,
        as_of=as_of,
        lineage_url=lineage_url,
        launched_by=launched_by,
        tags={"tagtrail/defect": defect} if defect else None,
        workers=workers,
    )
    return dataclasses.replace(report, injected=tuple(injected))
