"""The code location Dagster loads: the demo estate bundled with tagtrail."""

from dagster_project.factory import build_definitions
from pipelines.demo import DEMO_ESTATE
from pipelines.estate import load_estate

defs = build_definitions(load_estate(DEMO_ESTATE))
