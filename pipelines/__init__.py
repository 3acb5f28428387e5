"""Declarations of inter-departmental flows: taxonomy, models, loading, transforms and storage.

Plain Python: nothing here imports Dagster.
"""
