"""The relational database REST API (PostgREST dialect): ``cb.rdb``.

See :class:`Rdb` for the entry points, :class:`QueryBuilder` for filters and
modifiers, and :mod:`cloudbase_async.rdb.filters` for conditions inside ``or_``/``and_``.
"""

from . import filters
from ._builder import MaybeSingleQuery, QueryBuilder, RpcBuilder, SingleQuery
from ._client import DEFAULT_MYSQL_INSTANCE, Rdb, Table
from ._encode import Condition, Group
from ._result import (
    MultipleRowsError,
    NoRowsError,
    RdbPage,
    RdbResult,
    RowCountError,
    parse_content_range,
)
from ._spec import CountMethod, Returning

__all__ = [
    "Condition",
    "CountMethod",
    "DEFAULT_MYSQL_INSTANCE",
    "Group",
    "MaybeSingleQuery",
    "MultipleRowsError",
    "NoRowsError",
    "QueryBuilder",
    "Rdb",
    "RdbPage",
    "RdbResult",
    "Returning",
    "RowCountError",
    "RpcBuilder",
    "SingleQuery",
    "Table",
    "filters",
    "parse_content_range",
]
