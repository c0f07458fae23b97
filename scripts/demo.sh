#!/usr/bin/env bash
# From a fresh clone, as root: install, build, put the binaries on PATH, make the
# busybox image locally and run a container end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
bash scripts/install-bins.sh
bundle=$(mktemp -d /tmp/berth-demo-XXXXXX)
trap 'rm -rf "$bundle"' EXIT
node scripts/fixtures.mjs bundle "$bundle" echo hello >/dev/null
echo "+ berth-runtime run --bundle $bundle berth-demo-$$"
berth-runtime run --bundle "$bundle" "berth-demo-$$"
