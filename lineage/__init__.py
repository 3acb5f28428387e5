"""Lineage for tagtrail: privacy tags computed through declared flows, carried in OpenLineage.

Plain Python (nothing here imports Dagster). Import the submodules you need:
:mod:`lineage.rules` and :mod:`lineage.propagation` compute column tags, :mod:`lineage.facets` and
:mod:`lineage.events` build OpenLineage events, :mod:`lineage.validation` checks them against the
official schemas, :mod:`lineage.typed` reads them back into openlineage-python's classes.
"""
