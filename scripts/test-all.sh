#!/usr/bin/env bash
# From a fresh clone on a fresh Debian machine, as root: set up, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec pnpm test
