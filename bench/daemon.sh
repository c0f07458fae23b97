#!/usr/bin/env bash
# berthd against Debian's dockerd, both driven by the same docker CLI
# (/usr/local/bin/docker) in one hyperfine run per measure:
#   docker run --rm IMG true; docker create / start / rm separately; N × run -d;
#   docker ps with N running; docker logs of ~200 MB of stdout; daemon memory (PSS)
#   idle and with N containers.
# Both daemons run on private dirs, sockets and pidfile (another dockerd may be
# running on this machine), with no bridge networking (dockerd --bridge=none
# --iptables=false, berthd without CNI) and the same OCI runtime (runc; RUNTIME=...
# picks another for berth-shimd). Results: bench/results/daemon-*.json and a summary
# with every berthd/dockerd ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-50}
RUNS=${RUNS:-10}
RUNTIME=${RUNTIME:-runc}
DOCKER=${DOCKER:-/usr/local/bin/docker}
OUT=bench/results
mkdir -p "$OUT"
T=$(mktemp -d /tmp/daemon-bench-XXXXXX)
# The busybox docker-archive the e2e fixtures build (run any e2e test once to make it).
FIXTURE=$(ls -t e2e/.fixtures/*/busybox-docker.tar 2>/dev/null | head -1 || true)
[ -f "$FIXTURE" ] || { echo "no busybox docker-archive fixture: run the e2e suite once to build it" >&2; exit 1; }

if ! command -v dockerd >/dev/null; then
  echo "dockerd missing: installing Debian's docker.io (the docker 28 client at $DOCKER stays)"
  cp -a "$DOCKER" "$T/docker-client-keep"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io >/dev/null
  # docker.io ships its own client at /usr/bin/docker; /usr/local/bin/docker must stay the docker 28 one.
  cmp -s "$DOCKER" "$T/docker-client-keep" || cp -a "$T/docker-client-keep" "$DOCKER"
  # Debian's package starts a system dockerd; this bench uses its own.
  systemctl stop docker.service docker.socket 2>/dev/null || true
fi

PIDS=()
cleanup() {
  for h in berthd dockerd; do
    [ -S "$T/$h.sock" ] || continue
    ids=$(DOCKER_HOST=unix://$T/$h.sock "$DOCKER" ps -aq 2>/dev/null || true)
    [ -n "$ids" ] && DOCKER_HOST=unix://$T/$h.sock "$DOCKER" rm -f $ids >/dev/null 2>&1 || true
  done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  grep " $T" /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

wait_sock() { for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.05; done; echo "no socket $1" >&2; return 1; }

node shimd/dist/berth-shimd.cjs --address "$T/shimd.sock" --root "$T/shimd-root" --state "$T/shimd-state" --runtime "$RUNTIME" >"$T/shimd.log" 2>&1 &
SHIMD=$!
PIDS+=("$SHIMD")
wait_sock "$T/shimd.sock"
node daemon/dist/berthd.cjs --host "unix://$T/berthd.sock" --data-root "$T/berthd" --shimd-address "$T/shimd.sock" --cni-bin-dir "" >"$T/berthd.log" 2>&1 &
BERTHD=$!
PIDS+=("$BERTHD")
dockerd --host "unix://$T/dockerd.sock" --data-root "$T/dockerd" --exec-root "$T/dockerd-exec" --pidfile "$T/dockerd.pid" \
  --bridge=none --iptables=false --ip6tables=false >"$T/dockerd.log" 2>&1 &
DOCKERD=$!
PIDS+=("$DOCKERD")
wait_sock "$T/berthd.sock"
wait_sock "$T/dockerd.sock"
for _ in $(seq 100); do DOCKER_HOST=unix://$T/dockerd.sock "$DOCKER" version >/dev/null 2>&1 && break; sleep 0.1; done

B="env DOCKER_HOST=unix://$T/berthd.sock $DOCKER"
D="env DOCKER_HOST=unix://$T/dockerd.sock $DOCKER"
for h in "$B" "$D"; do $h load -i "$FIXTURE" >/dev/null; done

# PSS of a process and its descendants (kB): the daemon, and its whole stack.
pss() { awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
tree_pss() {
  local total=0 p
  for p in $(ps -e -o pid= -o ppid= | awk -v root="$1" '
    { parent[$1]=$2 } END { for (p in parent) { q=p; while (q && q!=root && q!=1) q=parent[q]; if (q==root) print p } }'); do
    total=$((total + $(pss "$p")))
  done
  echo "$total"
}
shims_pss() { # the per-container shims of this run: reparented, so found by name and by our dir
  local total=0 p cwd
  for p in $(pgrep -f "$1" || true); do
    cwd=$(readlink "/proc/$p/cwd" 2>/dev/null || true)
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "$T" || [[ "$cwd" == "$T"* ]]; then
      total=$((total + $(pss "$p")))
    fi
  done
  echo "$total"
}

hf() { # name, then hyperfine arguments
  local name=$1
  shift
  hyperfine -N --style basic --export-json "$OUT/daemon-$name.json" -n berthd -n dockerd "$@" >"$T/hf-$name.txt" 2>&1 || { cat "$T/hf-$name.txt"; return 1; }
  node -e '
    const r = require(process.argv[1]).results;
    const [b, d] = r;
    const f = (x) => `${(x.mean * 1000).toFixed(1)} ± ${(x.stddev * 1000).toFixed(1)} ms`;
    console.log(`${process.argv[2].padEnd(22)} berthd ${f(b).padEnd(20)} dockerd ${f(d).padEnd(20)} ratio ${(b.mean / d.mean).toFixed(2)}`);
  ' "$PWD/$OUT/daemon-$name.json" "$name"
}

echo "== berthd vs dockerd $(dockerd --version | cut -d, -f1 | cut -d' ' -f3), runtime $RUNTIME, N=$N"
B_IDLE=$(pss "$BERTHD"); D_IDLE=$(pss "$DOCKERD")
B_IDLE_STACK=$(( B_IDLE + $(pss "$SHIMD") )); D_IDLE_STACK=$(tree_pss "$DOCKERD")

hf run --warmup 2 --runs "$RUNS" "$B run --rm busybox true" "$D run --rm busybox true"
hf create --runs "$RUNS" \
  --prepare "$B rm -f bench-c" --prepare "$D rm -f bench-c" \
  "$B create --name bench-c busybox true" "$D create --name bench-c busybox true"
hf start --runs "$RUNS" \
  --prepare "sh -c '$B rm -f bench-s >/dev/null 2>&1; $B create --name bench-s busybox sleep 600 >/dev/null'" \
  --prepare "sh -c '$D rm -f bench-s >/dev/null 2>&1; $D create --name bench-s busybox sleep 600 >/dev/null'" \
  "$B start bench-s" "$D start bench-s"
for h in "$B" "$D"; do $h rm -f bench-s bench-c >/dev/null 2>&1 || true; done
hf rm --runs "$RUNS" \
  --prepare "sh -c '$B rm -f bench-r >/dev/null 2>&1; $B create --name bench-r busybox true >/dev/null'" \
  --prepare "sh -c '$D rm -f bench-r >/dev/null 2>&1; $D create --name bench-r busybox true >/dev/null'" \
  "$B rm bench-r" "$D rm bench-r"
hf "run-d-x$N" --runs 3 \
  --prepare "sh -c 'ids=\$($B ps -aq); [ -z \"\$ids\" ] || $B rm -f \$ids >/dev/null'" \
  --prepare "sh -c 'ids=\$($D ps -aq); [ -z \"\$ids\" ] || $D rm -f \$ids >/dev/null'" \
  "sh -c 'for i in \$(seq $N); do $B run -d busybox sleep 600 >/dev/null; done'" \
  "sh -c 'for i in \$(seq $N); do $D run -d busybox sleep 600 >/dev/null; done'"
echo "running: berthd $($B ps -q | wc -l), dockerd $($D ps -q | wc -l)"
hf "ps-$N-running" --warmup 2 --runs "$RUNS" "$B ps" "$D ps"
B_BUSY=$(pss "$BERTHD"); D_BUSY=$(pss "$DOCKERD")
B_BUSY_STACK=$(( B_BUSY + $(pss "$SHIMD") + $(shims_pss "berth-shim.cjs") ))
D_BUSY_STACK=$(( $(tree_pss "$DOCKERD") + $(shims_pss "containerd-shim-runc-v2") ))
for h in "$B" "$D"; do ids=$($h ps -aq); [ -z "$ids" ] || $h rm -f $ids >/dev/null; done

# ~200 MB of stdout (150 MB of zeros, base64: 76-column lines), then docker logs.
for h in "$B" "$D"; do $h run --name bench-logs busybox sh -c 'head -c 150000000 /dev/zero | base64' >/dev/null; done
echo "log bytes: berthd $($B logs bench-logs | wc -c), dockerd $($D logs bench-logs | wc -c)"
hf logs-200MB --warmup 1 --runs 3 "$B logs bench-logs" "$D logs bench-logs"
hf logs-tail --warmup 1 --runs "$RUNS" "$B logs --tail 10 bench-logs" "$D logs --tail 10 bench-logs"
for h in "$B" "$D"; do $h rm -f bench-logs >/dev/null; done

ratio() { node -e 'console.log((Number(process.argv[1]) / Number(process.argv[2])).toFixed(2))' "$1" "$2"; }
echo "PSS idle, daemon:          berthd ${B_IDLE} kB   dockerd ${D_IDLE} kB   ratio $(ratio "$B_IDLE" "$D_IDLE")"
echo "PSS idle, daemon stack:    berthd+shimd ${B_IDLE_STACK} kB   dockerd+containerd ${D_IDLE_STACK} kB   ratio $(ratio "$B_IDLE_STACK" "$D_IDLE_STACK")"
echo "PSS $N running, daemon:    berthd ${B_BUSY} kB   dockerd ${D_BUSY} kB   ratio $(ratio "$B_BUSY" "$D_BUSY")"
echo "PSS $N running, stack:     berthd+shimd+shims ${B_BUSY_STACK} kB   dockerd+containerd+shims ${D_BUSY_STACK} kB   ratio $(ratio "$B_BUSY_STACK" "$D_BUSY_STACK")"
