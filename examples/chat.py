"""Stream a chat completion and print it as it arrives.

    python examples/chat.py "Write a haiku about connection pools"

With ``CLOUDBASE_ENV`` and a key (``CLOUDBASE_API_KEY`` or ``CLOUDBASE_PUBLISHABLE_KEY``)
set, this talks to your CloudBase environment (``CLOUDBASE_AI_PROVIDER``, default
``cloudbase``; ``CLOUDBASE_AI_MODEL``, default ``hy3-preview``). Without them it starts
llmock, a local OpenAI-compatible server from the dev extra, and streams from that.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx

from cloudbase_async import CloudBase


@contextlib.contextmanager
def local_llmock() -> Iterator[str]:
    """Run ``llmock serve`` on a free loopback port for as long as the block lasts."""
    binary = shutil.which("llmock") or str(Path(sys.executable).with_name("llmock"))
    if not Path(binary).exists():
        sys.exit("No CloudBase credentials and no llmock: pip install -e '.[dev]'")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [binary, "serve", "-h", "127.0.0.1", "-p", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("llmock did not start")
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(10)


async def chat(cb: CloudBase, provider: str, model: str, prompt: str) -> None:
    async with cb.ai.chat.completions.stream(
        provider=provider,
        model=model,
        messages=[{"role": "user", "content": prompt}],
        stream_options={"include_usage": True},
    ) as stream:
        async for text in stream.text_stream:
            print(text, end="", flush=True)
        completion = await stream.get_final_completion()
    print(f"\n\n[request_id={stream.request_id} usage={completion.usage}]")


def main() -> None:
    prompt = " ".join(sys.argv[1:]) or "Say hello to CloudBase."
    has_credentials = os.environ.get("CLOUDBASE_ENV") and (
        os.environ.get("CLOUDBASE_API_KEY") or os.environ.get("CLOUDBASE_PUBLISHABLE_KEY")
    )
    if has_credentials:
        provider = os.environ.get("CLOUDBASE_AI_PROVIDER", "cloudbase")
        model = os.environ.get("CLOUDBASE_AI_MODEL", "hy3-preview")

        async def run_cloud() -> None:
            async with CloudBase() as cb:
                await chat(cb, provider, model, prompt)

        anyio.run(run_cloud)
        return

    print("(no CloudBase credentials set: streaming from a local llmock)\n")
    with local_llmock() as url:

        async def run_local() -> None:
            # llmock serves /v1/chat/completions: the "v1" provider segment reaches it.
            async with CloudBase(env="local", endpoints={"ai": url}, api_key="local") as cb:
                await chat(cb, "v1", "llmock", prompt)

        anyio.run(run_local)


if __name__ == "__main__":
    main()
