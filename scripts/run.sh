#!/usr/bin/env bash
# Installs what is missing, builds, and runs parleyd on its embedded default:
# domain localhost, SQLite under ./parley-data, a self-signed certificate generated on first
# start, c2s on 127.0.0.1:5222 (STARTTLS required) and HTTP on 127.0.0.1:5280.
# Arguments are passed to parleyd (e.g. --config parley.toml).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"
exec "$root/build/parleyd" "$@"
