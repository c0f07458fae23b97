#!/usr/bin/env bash
# From a fresh clone, as root: install, build, put the binaries on PATH, start
# berth-shimd and berthd, make the busybox image locally, load it and run a
# container through the whole stack (berth → berthd → berth-shimd → berth-shim →
# berth-runtime). The daemons keep running afterwards; `bash scripts/demo.sh stop`
# stops them (containers and their shims are stopped first).
set -euo pipefail
cd "$(dirname "$0")/.."
logs=/var/log/berth
pidfile() { echo "/run/berth/$1.pid"; }

stop() {
  if [ -S /run/berth/berthd.sock ] && berth ps -aq >/dev/null 2>&1; then
    ids=$(berth ps -aq)
    [ -z "$ids" ] || berth rm -f $ids >/dev/null
  fi
  for d in berthd berth-shimd; do
    if [ -f "$(pidfile $d)" ]; then kill "$(cat "$(pidfile $d)")" 2>/dev/null || true; rm -f "$(pidfile $d)"; fi
  done
}
if [ "${1:-}" = stop ]; then stop; exit 0; fi

bash scripts/setup.sh >/dev/null
bash scripts/install-bins.sh

mkdir -p /run/berth "$logs"
start() { # name socket args...
  local name=$1 sock=$2; shift 2
  if [ -S "$sock" ] && [ -f "$(pidfile "$name")" ] && kill -0 "$(cat "$(pidfile "$name")")" 2>/dev/null; then return; fi
  setsid "$name" "$@" >>"$logs/$name.log" 2>&1 </dev/null &
  echo $! >"$(pidfile "$name")"
  for _ in $(seq 100); do [ -S "$sock" ] && return; sleep 0.1; done
  echo "demo: $name did not start; see $logs/$name.log" >&2
  exit 1
}
start berth-shimd /run/berth/shimd.sock
start berthd /run/berth/berthd.sock

archive=$(node scripts/fixtures.mjs | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).dockerArchive')
echo "+ berth load -i $archive"
berth load -i "$archive"
echo "+ berth run --rm busybox echo hello"
berth run --rm busybox echo hello
