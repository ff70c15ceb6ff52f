"""``/auth/v1/...``: requests into :class:`AuthEngine` calls, errors into the auth shape.

Bodies are JSON whatever the content type (the js-sdk labels them ``text/plain``).
Calls about "the user" need a user's access token; an API key or the publishable key
there is ``unauthenticated``, as a stranger would be.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .._http import read_json
from .._identity import CredentialError, Identify
from ._engine import AuthEngine, AuthError

__all__ = ["routes"]

Body: TypeAlias = Mapping[str, Any]
Handler: TypeAlias = Callable[[Request, Body], Awaitable[Any]]


async def _object_body(request: Request) -> Body:
    try:
        body = await read_json(request)
    except ValueError as exc:
        raise AuthError("invalid_argument", f"The body is not JSON: {exc}") from exc
    if body is None:
        return {}
    if not isinstance(body, Mapping):
        raise AuthError("invalid_argument", "The body must be a JSON object.")
    return body


def _answer(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Run ``handler(request, body)``; its value is the JSON answer (``None``: ``{}``)."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request, await _object_body(request))
        except AuthError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)
        return JSONResponse({} if result is None else result)

    return endpoint


def routes(engine: AuthEngine, identify: Identify) -> list[BaseRoute]:
    """The auth API's routes over ``engine``."""

    def user_id(request: Request) -> str:
        try:
            caller = identify(request.headers.get("authorization"))
        except CredentialError as exc:
            raise AuthError("unauthenticated", exc.message) from exc
        if caller.uid is None:
            raise AuthError("unauthenticated", "This call needs a user's access token.")
        return caller.uid

    def optional_user_id(request: Request) -> str | None:
        try:
            return identify(request.headers.get("authorization")).uid
        except CredentialError:
            return None

    async def run(fn: Callable[..., Any], *args: Any) -> Any:
        # SQLite and password hashing block: keep them off the event loop.
        return await anyio.to_thread.run_sync(functools.partial(fn, *args))

    @_answer
    async def anonymous(request: Request, body: Body) -> Any:
        return await run(engine.sign_in_anonymously, request.headers.get("x-device-id"))

    @_answer
    async def sign_in(request: Request, body: Body) -> Any:
        if isinstance(body.get("verification_token"), str):
            return await run(engine.sign_in_with_verification, body["verification_token"])
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise AuthError(
                "invalid_argument", "Send username and password, or verification_token."
            )
        return await run(engine.sign_in_with_password, username, password)

    @_answer
    async def sign_up(request: Request, body: Body) -> Any:
        return await run(engine.sign_up, body)

    @_answer
    async def custom(request: Request, body: Body) -> Any:
        ticket = body.get("ticket")
        if not isinstance(ticket, str) or not ticket:
            raise AuthError("invalid_argument", "ticket is required.")
        return await run(engine.sign_in_with_ticket, ticket)

    @_answer
    async def verification(request: Request, body: Body) -> Any:
        return await run(engine.send_code, body, optional_user_id(request))

    @_answer
    async def verify(request: Request, body: Body) -> Any:
        vid, code = body.get("verification_id"), body.get("verification_code")
        if not isinstance(vid, str) or not isinstance(code, str | int):
            raise AuthError("invalid_argument", "Send verification_id and verification_code.")
        return await run(engine.verify_code, vid, str(code))

    @_answer
    async def token(request: Request, body: Body) -> Any:
        grant = body.get("grant_type")
        if grant == "refresh_token":
            refresh = body.get("refresh_token")
            if not isinstance(refresh, str) or not refresh:
                raise AuthError("invalid_argument", "refresh_token is required.")
            return await run(engine.refresh, refresh)
        if grant == "password":
            username, password = body.get("username"), body.get("password")
            if not isinstance(username, str) or not isinstance(password, str):
                raise AuthError("invalid_argument", "Send username and password.")
            return await run(engine.sign_in_with_password, username, password)
        raise AuthError(
            "invalid_argument", f"Unsupported grant_type {grant!r} in the local gateway."
        )

    @_answer
    async def client_credential(request: Request, body: Body) -> Any:
        # A TC3-signed request reaches here as an administrator (see local/_tc3.py);
        # the reference lists the API key as a credential for the exchange too.
        try:
            caller = identify(request.headers.get("authorization"))
        except CredentialError as exc:
            raise AuthError("unauthenticated", exc.message) from exc
        if not caller.is_admin:
            raise AuthError(
                "permission_denied", "The exchange needs a TC3 signature or the API key."
            )
        if body.get("grant_type") != "client_credentials":
            raise AuthError("invalid_argument", "grant_type must be 'client_credentials'.")
        return engine.client_credential()

    async def introspect(request: Request) -> Response:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        found = value.strip() if scheme.lower() == "bearer" else ""
        return JSONResponse(await run(engine.introspect, found) if found else {})

    @_answer
    async def revoke(request: Request, body: Body) -> Any:
        # The js-sdk sends no Authorization here: the token in the body is the credential.
        value = body.get("token")
        if not isinstance(value, str) or not value:
            _, _, value = request.headers.get("authorization", "").partition(" ")
        if value:
            await run(engine.revoke, value.strip())

    @_answer
    async def sign_out(request: Request, body: Body) -> Any:
        user_id(request)
        header = request.headers.get("authorization", "")
        await run(engine.revoke, header.partition(" ")[2].strip())
        uri = body.get("redirect_uri")
        return {"redirect_uri": uri} if isinstance(uri, str) else {}

    @_answer
    async def me(request: Request, body: Body) -> Any:
        uid = user_id(request)
        if request.method == "DELETE":
            return await run(
                engine.accounts.delete_user, uid, request.query_params.get("sudo_token")
            )
        return await run(engine.accounts.user, uid)

    @_answer
    async def edit(request: Request, body: Body) -> Any:
        return await run(engine.accounts.edit_user, user_id(request), body)

    @_answer
    async def sudo(request: Request, body: Body) -> Any:
        return await run(engine.accounts.sudo, user_id(request), body)

    @_answer
    async def password(request: Request, body: Body) -> Any:
        # The docs show sudo_token as a query parameter; the official SDK sends it in the body.
        sudo_token = body.get("sudo_token") or request.query_params.get("sudo_token")
        return await run(engine.accounts.change_password, user_id(request), body, sudo_token)

    @_answer
    async def reset(request: Request, body: Body) -> Any:
        return await run(engine.accounts.reset_password, body)

    @_answer
    async def providers(request: Request, body: Body) -> Any:
        user = await run(engine.accounts.user, user_id(request))
        bound = {p["id"] for p in user.get("providers", [])}
        data = [{"id": "custom", "name": "custom", "bind": "custom" in bound}]
        return {"total": len(data), "data": data}

    prefix = "/auth/v1"
    return [
        Route(f"{prefix}/signin/anonymously", anonymous, methods=["POST"]),
        Route(f"{prefix}/signin/custom", custom, methods=["POST"]),
        Route(f"{prefix}/signin", sign_in, methods=["POST"]),
        Route(f"{prefix}/signup", sign_up, methods=["POST"]),
        Route(f"{prefix}/verification/verify", verify, methods=["POST"]),
        Route(f"{prefix}/verification", verification, methods=["POST"]),
        Route(f"{prefix}/token/introspect", introspect, methods=["GET"]),
        Route(f"{prefix}/token/clientCredential", client_credential, methods=["POST"]),
        Route(f"{prefix}/token", token, methods=["POST"]),
        Route(f"{prefix}/revoke", revoke, methods=["POST"]),
        Route(f"{prefix}/reset", reset, methods=["POST"]),
        Route(f"{prefix}/user/me", me, methods=["GET", "DELETE"]),
        Route(f"{prefix}/user/basic/edit", edit, methods=["POST"]),
        Route(f"{prefix}/user/profile", edit, methods=["PATCH"]),
        Route(f"{prefix}/user/sudo", sudo, methods=["POST"]),
        Route(f"{prefix}/user/password", password, methods=["PATCH"]),
        Route(f"{prefix}/user/signout", sign_out, methods=["POST"]),
        Route(f"{prefix}/user/provider", providers, methods=["GET"]),
    ]
