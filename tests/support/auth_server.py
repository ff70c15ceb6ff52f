"""A small loopback auth server that enforces what CloudBase's does, for integration tests.

ASGI, run with ``tests.support.server.serve``. It implements the Auth v2 calls the tests
need and keeps the rules that make sessions hard to share:

* access tokens live ``lifetime`` seconds (accepted ``grace`` seconds longer, because on
  a loaded 2-core machine a token chosen in time may arrive late; the client's proactive
  refresh is proven by counting refreshes instead);
* refresh tokens are **single-use**: a used one answers ``invalid_grant`` (counted);
* every sign-in starts a *chain*; ``/revoke`` ends the chain (its refresh token too).

Routes: ``/auth/v1/signin/anonymously``, ``/auth/v1/signin`` (password, or a
verification token), ``/auth/v1/signup``, ``/auth/v1/verification`` (+ ``/verify``; the
code is always :data:`CODE`), ``/auth/v1/token``, ``/auth/v1/user/me``,
``/auth/v1/revoke`` and the protected data route ``/v1/functions/echo``.

For the kill tests, :meth:`AuthServer.stall_next_refresh` makes the next refresh wait
(unanswered, the refresh token not yet used) until its client goes away or
:meth:`AuthServer.release` is called; the ``x-worker`` header of that refresh (the
workers send their PID there) is kept in ``stalled_worker``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from typing import Any

import anyio
import httpx

from tests.support.server import read_body

CODE = "123456"


class AuthServer:
    def __init__(self, *, lifetime: float = 1.0, grace: float = 2.0) -> None:
        self.lifetime = lifetime
        self.grace = grace
        self._serial = itertools.count(1)
        self.access: dict[str, tuple[float, int]] = {}  # token -> (monotonic expiry, chain)
        self.refresh: dict[str, int] = {}  # unused refresh token -> chain
        self.chains: dict[int, dict[str, Any]] = {}  # chain -> user
        self.revoked: set[int] = set()
        self.users: dict[str, dict[str, Any]] = {}  # phone -> user
        self.anonymous: dict[str, dict[str, Any]] = {}  # device id -> user
        self.verifications: dict[str, str] = {}  # verification id -> phone
        self.verified: dict[str, str] = {}  # verification token -> phone
        self.stats: Counter[str] = Counter()
        self.stalled = threading.Event()
        self.stalled_worker: str | None = None
        self._stall = 0
        self._released = threading.Event()

    # -- test controls (from the test's thread) --------------------------------------

    def stall_next_refresh(self) -> None:
        self._released.clear()
        self.stalled.clear()
        self._stall = 1

    def release(self) -> None:
        self._released.set()

    def add_user(self, phone: str, name: str = "Ada") -> dict[str, Any]:
        user = {"sub": f"u-{len(self.users) + 1}", "name": name, "phone_number": phone}
        self.users[phone] = user
        return user

    def live_refresh_tokens(self) -> set[str]:
        return {token for token, chain in self.refresh.items() if chain not in self.revoked}

    # -- tokens ----------------------------------------------------------------------

    def issue(self, user: dict[str, Any], chain: int | None = None) -> dict[str, Any]:
        n = next(self._serial)
        if chain is None:
            chain = n
            self.chains[chain] = user
        access, refresh = f"at-{n}", f"rt-{n}"
        self.access[access] = (time.monotonic() + self.lifetime, chain)
        self.refresh[refresh] = chain
        return {
            "token_type": "Bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.lifetime,
            "scope": user.get("scope", "user"),
            "sub": user["sub"],
        }

    def user_of(self, headers: dict[str, str]) -> dict[str, Any] | None:
        """The user an access token belongs to, if it is valid (within the grace)."""
        token = headers.get("authorization", "").removeprefix("Bearer ")
        found = self.access.get(token)
        if found is None or found[1] in self.revoked:
            return None
        expiry, chain = found
        if expiry + self.grace < time.monotonic():
            return None
        if expiry < time.monotonic():
            self.stats["late_token"] += 1  # chosen in time, arrived after expiry
        return self.chains[chain]

    # -- ASGI ------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path = scope["path"]
        if path == "/auth/v1/token" and self._stall:
            self._stall -= 1
            self.stalled_worker = headers.get("x-worker")
            self.stats["stalled"] += 1
            self.stalled.set()
            if await self._wait_stalled(receive):
                self.stats["abandoned"] += 1  # the client went away: nothing was used
                return
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            data = {}
        status, answer = self.route(path, headers, data if isinstance(data, dict) else {})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    async def _wait_stalled(self, receive: Any) -> bool:
        """Hold a refresh until its client disconnects (True) or the test releases it."""
        gone = False

        async def watch() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            deadline = time.monotonic() + 60
            # The release comes from the test's thread: look at it every 10 ms.
            while True:
                if gone or self._released.is_set() or time.monotonic() > deadline:
                    break
                await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
        return gone

    def route(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        user_token = headers.get("authorization", "").startswith("Bearer at-")
        if user_token and path not in ("/auth/v1/user/me", "/auth/v1/revoke", "/v1/functions/echo"):
            self.stats["auth_call_with_authorization"] += 1  # a user token on a token call
        handler = {
            "/auth/v1/signin/anonymously": self.sign_in_anonymously,
            "/auth/v1/signin": self.sign_in,
            "/auth/v1/signup": self.sign_up,
            "/auth/v1/verification": self.send_code,
            "/auth/v1/verification/verify": self.verify,
            "/auth/v1/token": self.token,
            "/auth/v1/user/me": self.me,
            "/auth/v1/revoke": self.revoke,
            "/v1/functions/echo": self.echo,
        }.get(path)
        if handler is None:
            return 404, {"code": "NOT_FOUND", "message": path}
        return handler(headers, body)

    def sign_in_anonymously(self, headers: dict[str, str], body: dict[str, Any]) -> Any:
        self.stats["sign_in"] += 1
        device = headers.get("x-device-id", "")
        user = self.anonymous.setdefault(
            device, {"sub": f"anon-{len(self.anonymous) + 1}", "scope": "anonymous"}
        )
        return 200, self.issue(user)

    def sign_in(self, headers: dict[str, str], body: dict[str, Any]) -> Any:
        self.stats["sign_in"] += 1
        if "verification_token" in body:
            phone = self.verified.pop(body["verification_token"], None)
            user = self.users.get(phone or "")
        else:
            user = next(
                (u for u in self.users.values() if u.get("name") == body.get("username")), None
            )
            if user is not None and body.get("password") != "pw":
                user = None
        if user is None:
            return 400, {"error": "invalid_grant", "error_description": "bad credentials"}
        return 200, self.issue(user)

    def sign_up(self, headers: dict[str, str], body: dict[str, Any]) -> Any:
        phone = self.verified.pop(body.get("verification_token", ""), None)
        if phone is None or phone != body.get("phone_number") or phone in self.users:
            return 400, {"error": "invalid_argument", "error_description": "not verified"}
        self.stats["sign_up"] += 1
        return 200, self.issue(self.add_user(phone, body.get("name") or "new"))

    def send_code(self, headers: dict[str, str], body: dict[str, Any]) -> Any:
        phone = body.get("phone_number", "")
        vid = f"v-{len(self.verifications) + 1}"
        self.verifications[vid] = phone
        self.stats["code_sent"] += 1
        return 200, {"verification_id": vid, "expires_in": 600, "is_user": phone in self.users}

    def verify(self, headers: dict[str, str], body: dict[str, Any]) -> Any:
        phone = self.verifications.get(body.get("verification_id", ""))
        if phone is None or body.get("verification_code") != CODE:
            return 400, {"error": "invalid_verification_code", "error_description": "wrong"}
        del self.verifications[body["verification_id"]]
        token = f"vt-{len(self.verified) + 1}-{phone}"
        self.verified[token] = phone
        return 200, {"verification_token": token, "expires_in": 600}

    def token(self, headers: dict[str, str], body: dict[str, Any]) -> Any:
        self.stats["refresh"] += 1
        chain = self.refresh.pop(body.get("refresh_token", ""), None)  # single use
        if chain is None or chain in self.revoked:
            self.stats["invalid_grant"] += 1
            return 400, {"error": "invalid_grant", "error_description": "used or unknown"}
        return 200, self.issue(self.chains[chain], chain)

    def me(self, headers: dict[str, str], body: dict[str, Any]) -> Any:
        user = self.user_of(headers)
        if user is None:
            self.stats["rejected"] += 1
            return 401, {"error": "unauthenticated", "error_description": "expired"}
        self.stats["me"] += 1
        return 200, {key: user.get(key) for key in ("sub", "name", "phone_number")}

    def revoke(self, headers: dict[str, str], body: dict[str, Any]) -> Any:
        found = self.access.get(body.get("token", ""))
        if found is not None:
            self.revoked.add(found[1])
            self.stats["revoked"] += 1
        return 200, {}

    def echo(self, headers: dict[str, str], body: dict[str, Any]) -> Any:
        user = self.user_of(headers)
        if user is None:
            self.stats["rejected"] += 1
            return 401, {"code": "ACCESS_TOKEN_EXPIRED", "message": "expired"}
        self.stats["ok"] += 1
        return 200, {"token": headers["authorization"].removeprefix("Bearer "), "user": user["sub"]}


class InProcess(httpx.AsyncBaseTransport):
    """The same server as an httpx transport, for tests that need no sockets.

    ``CloudBase(base_url="http://auth.test", transport=InProcess(app))``. While
    ``gate`` is set (an ``anyio.Event``), refreshes wait for it before the server
    handles them; ``refreshes_waiting`` counts those waiting.
    """

    def __init__(self, app: AuthServer) -> None:
        self.app = app
        self.gate: anyio.Event | None = None
        self.refreshes_waiting = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if request.url.path == "/auth/v1/token" and self.gate is not None:
            self.refreshes_waiting += 1
            try:
                await self.gate.wait()
            finally:
                self.refreshes_waiting -= 1
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            data = {}
        status, answer = self.app.route(request.url.path, headers, data)
        return httpx.Response(status, json=answer)
