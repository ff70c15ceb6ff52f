"""``python -m cloudbase_async.local serve``: the local gateway as a server.

It prints the URL, the keys and the custom-login key file's path as ``KEY=value``
lines (ready for ``export`` or a ``.env`` file), logs every SMS and email code to
stderr, and runs until Ctrl+C or SIGTERM. ``--data DIR`` keeps users, keys and data
across restarts; without it the state is temporary. ``--functions pkg.module`` imports
a module and calls its ``register(local)``, which registers functions, web functions,
CloudRun apps and AI scripts.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from ._handle import LocalCloudBase

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cloudbase_async.local", description="Local CloudBase gateway."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8787, help="port (0: a free one)")
    serve.add_argument("--env", default="local-dev", help="environment id clients use")
    serve.add_argument("--data", type=Path, help="state directory kept across restarts")
    serve.add_argument("--rdb-schema", type=Path, help="SQL file for the relational database")
    serve.add_argument(
        "--functions",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE and call its register(local) (repeatable)",
    )
    serve.add_argument(
        "--verification-code", "--sms-code", help="answer every SMS/email with this code"
    )
    serve.add_argument(
        "--access-token-lifetime", type=float, default=7200.0, help="seconds (default 7200)"
    )
    return parser


def _register(local: LocalCloudBase, module_name: str) -> None:
    module = importlib.import_module(module_name)
    register = getattr(module, "register", None)
    if not callable(register):
        raise SystemExit(f"{module_name} has no register(local) function.")
    register(local)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("cloudbase_async.local").setLevel(logging.INFO)
    local = LocalCloudBase(
        args.env,
        data_dir=args.data,
        host=args.host,
        port=args.port,
        access_token_lifetime=args.access_token_lifetime,
        verification_code=args.verification_code,
        rdb_schema=args.rdb_schema,
    )
    # The working directory's modules, as `python -m` users expect.
    sys.path.insert(0, str(Path.cwd()))
    for name in args.functions:
        _register(local, name)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with local:
        where = str(args.data) if args.data else "temporary"
        print(f"Local CloudBase {local.env!r} is serving (data: {where}).")
        print(f"CLOUDBASE_BASE_URL={local.url}")
        print(f"CLOUDBASE_ENV={local.env}")
        print(f"CLOUDBASE_API_KEY={local.api_key}")
        # The console's custom-login key file, for a backend that mints its own tickets.
        print(f"CLOUDBASE_CUSTOM_LOGIN_KEY_FILE={local.custom_login_key_file}")
        # The Tencent Cloud secret it accepts TC3 signatures from (as the administrator).
        print(f"TENCENTCLOUD_SECRETID={local.secret_id}")
        print(f"TENCENTCLOUD_SECRETKEY={local.secret_key}")
        print(f"CLOUDBASE_PUBLISHABLE_KEY={local.publishable_key}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
