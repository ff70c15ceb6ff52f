"""The plumbing every service stands on; services import from here, never the reverse.

* ``config``: arguments and environment variables resolved once (the only module that
  reads the environment).
* ``credentials``: where the ``Authorization`` header comes from.
* ``transport``: the one pooled ``httpx.AsyncClient``, admission, deadlines, retries,
  error mapping and logging (the only module that sleeps or sends).
* ``retry``: the retry policy and ``Retry-After`` arithmetic.
* ``errors``: the one exception hierarchy and the mapping of error bodies onto it.
* ``convert``: the one cattrs converter.
* ``sse``: the server-sent events decoder and reader.
* ``passthrough``: the checks shared by services that forward a caller's HTTP request.
"""
