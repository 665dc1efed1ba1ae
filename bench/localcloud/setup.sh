#!/usr/bin/env bash
# Installs what bench/localcloud/run.py needs: serverless@3 + serverless-offline@13 exactly as package-lock.json pins
# them (npm ci, into bench/localcloud/node_modules), wrk, and checks the Python serverless-offline runs handlers with.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup.sh: $1 not found; $2" >&2; exit 1; }; }
need node "install Node.js 18.12 or newer (serverless-offline 13 needs it)"
need npm "install npm (it comes with Node.js)"
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 18 ]; then
    echo "setup.sh: Node.js $(node --version) is too old; serverless-offline 13 needs 18.12 or newer" >&2
    exit 1
fi

# serverless@3 + serverless-offline@13, reproducibly; no audit or funding calls, no update notices
# (skipped when node_modules was installed from this very lock file: the stamp is a copy of it)
stamp="$here/node_modules/.golive-bench-lock.json"
if [ ! -x "$here/node_modules/.bin/serverless" ] || ! cmp -s "$here/package-lock.json" "$stamp"; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$here/package-lock.json" "$stamp"
fi

if ! command -v wrk >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    if ! $sudo apt-get install -y wrk >/dev/null 2>&1; then
        $sudo apt-get update
        $sudo apt-get install -y wrk
    fi
fi

# serverless-offline starts `python3` for a python3.x runtime; run.py points VIRTUAL_ENV at the project's venv so it
# is the same interpreter golive's workers use. Check both it and the project's venv (uvicorn comes from the dev extra).
python="$root/.venv/bin/python3"
if [ ! -x "$python" ]; then
    echo "setup.sh: $python not found; create the project's venv first (python3.11 -m venv .venv && .venv/bin/pip install -e '.[dev]')" >&2
    exit 1
fi
"$python" -c 'import sys; assert sys.version_info >= (3, 9), sys.version' \
    || { echo "setup.sh: serverless-offline needs Python 3.9 or newer for its handler bridge" >&2; exit 1; }
"$python" -c 'import uvicorn, golive' \
    || { echo "setup.sh: uvicorn or golive missing from .venv; run .venv/bin/pip install -e '.[dev]'" >&2; exit 1; }

echo "setup.sh: ready: node $(node --version), serverless $(node -p "require('$here/node_modules/serverless/package.json').version"), serverless-offline $(node -p "require('$here/node_modules/serverless-offline/package.json').version"), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), $("$python" --version)"
