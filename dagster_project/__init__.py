"""The Dagster layer: turns an estate of declarations into assets, checks, resources and jobs."""
