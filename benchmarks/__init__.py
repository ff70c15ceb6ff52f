"""Side-by-side benchmarks of cloudbase_async against raw httpx and the peer SDKs.

Run ``python -m benchmarks --help`` from the repository root; results and the exact
command live in ``benchmarks/RESULTS.md``.
"""
