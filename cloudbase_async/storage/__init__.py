"""Cloud storage: upload, download, stream, temporary URLs, delete, copy.

``cb.storage`` is classic (COS-backed) storage, :class:`Storage`; in PostgreSQL-mode
environments ``cb.storage.buckets`` (:class:`Buckets`) and ``cb.storage.bucket(id)``
(:class:`Bucket`) reach PG-mode storage instead. Uploads are read in chunks of
``chunk_size`` bytes and downloads pass on the network's reads as they come, so memory
stays constant whatever the object's size.

The package reads top to bottom by concern; each module serves any flavour of storage
except ``_classic``:

* ``_names``: cloud paths and cloud ids, checked before anything is sent;
* ``_models``: result models, and how one answer item becomes one;
* ``_batch``: batch calls, every answer item paired with its item;
* ``_object_store``: the object store's own (XML) errors;
* ``_bodies``: upload bodies for every kind of source;
* ``_stream``: :class:`ObjectStream`, an object's bytes owned by an ``async with`` block;
* ``_writer``: saving a stream to disk atomically;
* ``_classic``: the service on the gateway's classic calls;
* ``_pg_models``, ``_pg_wire``: PG-mode results, and what its requests carry;
* ``_buckets``: PG-mode buckets;
* ``_pg_urls``, ``_pg``: one bucket's routes and URLs, and its objects.
"""

from ._batch import BatchResult, ItemError, StorageBatchError
from ._bodies import DEFAULT_CHUNK_SIZE, ProgressCallback, UploadSource, guess_content_type
from ._buckets import Buckets, BucketSort, FileSizeLimit, SortOrder
from ._classic import DEFAULT_BATCH_SIZE, DEFAULT_MAX_AGE_FIELD, Storage
from ._models import CopiedObject, DeletedObject, DownloadedFile, DownloadUrl, UploadResult
from ._names import (
    CLOUD_ID_PREFIX,
    clean_object_name,
    validate_bucket_id,
    validate_cloud_id,
    validate_cloud_path,
)
from ._object_store import parse_object_store_error
from ._pg import REMOVE_BATCH_SIZE, Bucket, ObjectPages, ObjectSort
from ._pg_models import (
    BucketInfo,
    ObjectEntry,
    ObjectInfo,
    ObjectList,
    ObjectRef,
    SignedUploadUrl,
    SignedUrl,
)
from ._pg_urls import SIGN_BATCH_SIZE
from ._pg_wire import Download
from ._stream import ObjectStream

__all__ = [
    "CLOUD_ID_PREFIX",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_AGE_FIELD",
    "REMOVE_BATCH_SIZE",
    "SIGN_BATCH_SIZE",
    "BatchResult",
    "Bucket",
    "BucketInfo",
    "BucketSort",
    "Buckets",
    "CopiedObject",
    "DeletedObject",
    "Download",
    "DownloadUrl",
    "DownloadedFile",
    "FileSizeLimit",
    "ItemError",
    "ObjectEntry",
    "ObjectInfo",
    "ObjectList",
    "ObjectPages",
    "ObjectRef",
    "ObjectSort",
    "ObjectStream",
    "ProgressCallback",
    "SignedUploadUrl",
    "SignedUrl",
    "SortOrder",
    "Storage",
    "StorageBatchError",
    "UploadResult",
    "UploadSource",
    "clean_object_name",
    "guess_content_type",
    "parse_object_store_error",
    "validate_bucket_id",
    "validate_cloud_id",
    "validate_cloud_path",
]
