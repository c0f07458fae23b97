#!/usr/bin/env bash
# `pnpm bench`: every benchmark in this folder, each comparing berth with its peer in
# one run. Results (hyperfine JSON) go to bench/results/.
set -euo pipefail
cd "$(dirname "$0")"
for b in startup.sh runtime.sh shimd.sh images.sh daemon.sh; do
  [ -f "$b" ] || continue
  echo "== ${b%.sh}"
  bash "$b"
done
