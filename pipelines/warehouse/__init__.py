"""Published datasets in PostgreSQL: one schema a department, one table a dataset.

:class:`Warehouse` writes a version through a hidden staging table swapped in atomically with
the old table's privileges, and reads it back as the frame that was written;
:class:`DatasetStore` is what every reader of a published dataset uses, whichever store holds it
(:class:`FileStore` for Parquet files under a home, :class:`TableStore` for the warehouse).
"""

from pipelines.warehouse.codec import UnsupportedColumn, sha256_of_frame
from pipelines.warehouse.names import TableRef, WarehouseNameError, parse_ref
from pipelines.warehouse.stores import DatasetStore, FileStore, TableStore
from pipelines.warehouse.tables import DatasetMissing, Staged, StageError, Warehouse

__all__ = [
    "DatasetMissing",
    "DatasetStore",
    "FileStore",
    "StageError",
    "Staged",
    "TableRef",
    "TableStore",
    "UnsupportedColumn",
    "Warehouse",
    "WarehouseNameError",
    "parse_ref",
    "sha256_of_frame",
]
