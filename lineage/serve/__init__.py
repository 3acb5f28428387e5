"""``tagtrail serve``: the governance explorer and OpenLineage endpoint over the lineage store."""

from lineage.serve.app import ServeSettings, create_app

__all__ = ["ServeSettings", "create_app"]
