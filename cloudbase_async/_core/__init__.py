"""The plumbing every service stands on; services import from here, never the reverse.

Configuration and identity:

* ``config``: arguments and environment variables resolved once (the only module that
  reads the environment).
* ``credentials``: where the ``Authorization`` header comes from (and who signs).
* ``tc3``: TC3-HMAC-SHA256 signatures for a client configured with a Tencent Cloud secret.

Sending and reading:

* ``transport``: admission in front of the pool, deadlines, retries, credentials per
  attempt, error mapping and logging (the only module that sleeps).
* ``responses``: what the transport hands back, and how bodies are read (bounded,
  mapped, closed).
* ``default_transport`` / ``aiohttp_transport``: what carries the bytes when the caller
  brings no client (aiohttp's pool under asyncio when installed, httpcore's otherwise).
* ``retry``: the retry policy and ``Retry-After`` arithmetic.
* ``sse``: the server-sent events decoder and reader.

What services are made of:

* ``service``: the ``Service`` base (describe a call, send it, decode the answer).
* ``streams``: ``OwnedStream``, the one lifecycle of every streamed response;
  ``lifecycle``: ``async with`` for everything closed with ``aclose()``.
* ``codec``: JSON in and out; ``convert``: the one cattrs converter.
* ``errors``: the one exception hierarchy and the mapping of error bodies onto it.
* ``paths``, ``headers``, ``redact``, ``passthrough``, ``types``: the checks and
  helpers every service shares (path segments, header values, what secrets look like).
"""
