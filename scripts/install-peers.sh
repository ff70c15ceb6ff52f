#!/usr/bin/env bash
# Installs the real servers integration tests run against (idempotent; safe to re-run).
# Each test fixture starts and stops its own server; this script only installs.
set -euo pipefail
cd "$(dirname "$0")/.."
