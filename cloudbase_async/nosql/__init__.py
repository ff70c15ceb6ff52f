"""The document (NoSQL) database: ``cb.nosql``.

Values travel as MongoDB Extended JSON; see :mod:`cloudbase_async.ejson`.
"""

from ._collection import Collection, Document, DocumentIterator
from ._database import DEFAULT, Database, NoSQL, Transaction
from ._models import DeleteResult, NoSQLPaths, UpdateResult

__all__ = [
    "DEFAULT",
    "Collection",
    "Database",
    "DeleteResult",
    "Document",
    "DocumentIterator",
    "NoSQL",
    "NoSQLPaths",
    "Transaction",
    "UpdateResult",
]
