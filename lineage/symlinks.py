"""The ``symlinks`` facet: every dataset of tagtrail's events also named as a table.

Catalogues resolve OpenLineage datasets to tables by a ``schema.table`` name: OpenMetadata's
connector takes the first symlink identifier's name (else the dataset's own name), uses its last
two dot-separated parts as schema and table, and drops a dataset whose name has no dot. tagtrail's
dataset names have none, so each dataset is also named ``<department>.<dataset>``: its department
is its schema. The identifier's namespace is ``tagtrail``, the estate as one catalogue (the
department is already in the name), and its type ``TABLE``.

A source dataset's run reads an extract (a file, a SQL table or a query of the source system),
which is not the dataset itself: it is named ``<department>.<dataset>-extract``, a table beside
the dataset's own. A hyphen cannot occur in a dataset name, so no dataset's table has that name.
"""

from __future__ import annotations

from typing import Final

from openlineage.client.generated import symlinks_dataset

SYMLINK_NAMESPACE: Final = "tagtrail"
SYMLINK_TYPE: Final = "TABLE"
EXTRACT_SUFFIX: Final = "-extract"


def table_name(department: str, dataset: str) -> str:
    """``<department>.<dataset>``: the dataset as a table in its department's schema."""
    return f"{department}.{dataset}"


def extract_table_name(department: str, dataset: str) -> str:
    """``<department>.<dataset>-extract``: what a source dataset is read from, as a table."""
    return f"{department}.{dataset}{EXTRACT_SUFFIX}"


def symlinks_facet(table: str, *, producer: str) -> symlinks_dataset.SymlinksDatasetFacet:
    """The ``symlinks`` facet naming a dataset as ``table`` in the ``tagtrail`` namespace."""
    return symlinks_dataset.SymlinksDatasetFacet(
        identifiers=[
            symlinks_dataset.Identifier(namespace=SYMLINK_NAMESPACE, name=table, type=SYMLINK_TYPE)
        ],
        producer=producer,
    )
