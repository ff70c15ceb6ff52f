"""Server-side user sessions with FastAPI: the browser holds only an opaque cookie.

The SMS one-time-code sign-in runs through this backend. The user's CloudBase session
(access and refresh tokens) never reaches the browser: it lives in the session store
under a random id, and the cookie carries only that id. Every worker process, on every
machine sharing the store, serves the user, and the user's token is refreshed once
between them (``cb.with_session(sid)``; see the README's "Server-side user sessions").

    pip install 'cloudbase-async[redis]' fastapi uvicorn
    export CLOUDBASE_ENV=cloud1-abc CLOUDBASE_PUBLISHABLE_KEY=...
    export REDIS_URL=redis://127.0.0.1:6379/0   # or SESSION_FILE=/var/lib/app/sessions.json
    uvicorn --app-dir examples fastapi_sessions:app --workers 4

Routes (JSON bodies):

    POST /login/code    {"phone": "138 0013 8000"}  sends the code; sets the cookie
    POST /login/verify  {"code": "123456"}          signs in (or signs up a new user)
    GET  /me                                        the user's profile, from CloudBase
    POST /logout                                    signs out; the session is deleted

Without ``REDIS_URL`` the sessions go to ``SESSION_FILE`` (default ``sessions.json``), a
``FileStore`` that the workers of one machine share. ``COOKIE_SECURE=0`` allows the
cookie over plain http (local testing only).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from cloudbase_async import APIError, CloudBase, FileStore, RedisStore, SessionStoreError
from cloudbase_async.auth import OtpSignIn, SessionStore, Verification

COOKIE = "sid"
COOKIE_AGE = 30 * 24 * 3600  # the refresh token's life is the real limit
# A code sent but not verified yet, kept beside the sessions (same store, own keys).
# An abandoned login leaves its entry behind: in production give these keys a TTL
# (with your Redis client) or sweep them.
PENDING = "pending-login:"


def make_store() -> SessionStore:
    if url := os.environ.get("REDIS_URL"):
        return RedisStore.from_url(url)
    return FileStore(os.environ.get("SESSION_FILE", "sessions.json"))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        store = make_store()
        if isinstance(store, RedisStore):
            await stack.enter_async_context(store)
        # One client per process for every user: copies share its connection pool.
        app.state.cb = await stack.enter_async_context(CloudBase(session_store=store))
        app.state.store = store
        yield


app = FastAPI(lifespan=lifespan)


@app.exception_handler(APIError)
async def cloudbase_error(request: Request, exc: APIError) -> JSONResponse:
    # CloudBase refused (a wrong code, a captcha wanted...): say what, not how.
    status = exc.status_code if 400 <= exc.status_code < 500 else 502
    return JSONResponse({"error": exc.code or "cloudbase_error"}, status_code=status)


@app.exception_handler(SessionStoreError)
async def store_down(request: Request, exc: SessionStoreError) -> JSONResponse:
    return JSONResponse({"error": "session_store_unavailable"}, status_code=503)


def set_cookie(response: Response, sid: str) -> None:
    response.set_cookie(
        COOKIE,
        sid,
        max_age=COOKIE_AGE,
        httponly=True,  # never readable by scripts
        samesite="lax",
        secure=os.environ.get("COOKIE_SECURE", "1") != "0",
    )


def session_id(request: Request) -> str:
    sid = request.cookies.get(COOKIE)
    if not sid:
        raise HTTPException(401, "not signed in")
    return sid


def user_client(request: Request, sid: Annotated[str, Depends(session_id)]) -> CloudBase:
    """The process's client acting as this cookie's user (a cheap copy per request)."""
    cb: CloudBase = request.app.state.cb
    return cb.with_session(sid)


class Phone(BaseModel):
    phone: str


class Code(BaseModel):
    code: str


@app.post("/login/code")
async def send_code(body: Phone, request: Request, response: Response) -> dict[str, Any]:
    # A new random id for every login, never one the browser brings: nobody can plant
    # a known id in a victim's browser and use the session it then signs in to.
    sid = secrets.token_urlsafe(32)
    cb: CloudBase = request.app.state.cb
    handle = await cb.with_session(sid).auth.sign_in_with_otp(phone_number=body.phone)
    pending = {
        "verification_id": handle.verification.verification_id,
        "is_user": handle.is_user,
        "contact": dict(handle.contact),
    }
    await request.app.state.store.set(PENDING + sid, json.dumps(pending))
    set_cookie(response, sid)
    return {"sent": True, "new_user": not handle.is_user}


@app.post("/login/verify")
async def verify(
    body: Code, request: Request, sid: Annotated[str, Depends(session_id)]
) -> dict[str, Any]:
    store: SessionStore = request.app.state.store
    raw = await store.get(PENDING + sid)
    if raw is None:
        raise HTTPException(400, "ask for a code first")
    pending = json.loads(raw)
    user = request.app.state.cb.with_session(sid)
    handle = OtpSignIn(
        Verification(pending["verification_id"], is_user=pending["is_user"]),
        pending["contact"],
        auth=user.auth,
    )
    session = await handle.verify(body.code)  # stored under sid: the user is signed in
    await store.delete(PENDING + sid)
    return {"user_id": session.user_id}


@app.get("/me")
async def me(cb: Annotated[CloudBase, Depends(user_client)]) -> dict[str, Any]:
    if await cb.auth.get_session() is None:  # refreshed first when it is about to expire
        raise HTTPException(401, "not signed in")
    user = await cb.auth.get_user()
    return {"id": user.sub, "name": user.name, "phone": user.phone_number}


@app.post("/logout")
async def logout(
    request: Request, response: Response, cb: Annotated[CloudBase, Depends(user_client)]
) -> dict[str, Any]:
    await cb.auth.sign_out()  # revoked on the server, deleted from the store
    sid = request.cookies[COOKIE]
    await request.app.state.store.delete(PENDING + sid)
    response.delete_cookie(COOKIE)
    return {"signed_out": True}
