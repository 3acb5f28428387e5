"""Privacy controls as plain functions: each returns a :class:`~pipelines.policy.result.ControlResult`.

:mod:`~pipelines.policy.agreement` (agreement in force), :mod:`~pipelines.policy.minimisation`,
:mod:`~pipelines.policy.identifiers` (pseudonymisation), :mod:`~pipelines.policy.disclosure` and
:mod:`~pipelines.policy.disclosure_check` (k-anonymity, l-diversity, small-cell suppression),
:mod:`~pipelines.policy.retention`, :mod:`~pipelines.policy.optout`, and
:mod:`~pipelines.policy.preview` (what the declarations alone say). No Dagster here.
"""
