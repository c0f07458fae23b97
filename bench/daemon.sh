#!/usr/bin/env bash
# berthd against Debian's dockerd (when installed), both driven by the same docker CLI:
# `docker run --rm IMG true`, create/start/rm separately, N × `run -d`, `docker ps`
# with N running, 200 MB to stdout then `docker logs`, and daemon memory (PSS) idle
# and with N containers. Results go to bench/results/daemon-*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-50}
OUT=bench/results
mkdir -p "$OUT"
ROOT=$(pwd)
T=$(mktemp -d /tmp/daemon-bench-XXXXXX)
FIXTURE=$(node -e "import('./e2e/fixtures/index.ts').then(m=>console.log(m.fixtures().dockerArchive))" 2>/dev/null || ls -d e2e/.fixtures/*/busybox-docker.tar | head -1)
PIDS=()
cleanup() {
  for h in "$T"/*.sock; do
    [ -S "$h" ] || continue
    case "$h" in *shimd.sock|*containerd.sock) continue ;; esac
    ids=$(DOCKER_HOST=unix://$h docker ps -aq 2>/dev/null || true)
    [ -n "$ids" ] && DOCKER_HOST=unix://$h docker rm -f $ids >/dev/null 2>&1 || true
  done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  grep " $T" /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  ip link del bdbench 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

pss() { awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup"; }

node shimd/dist/berth-shimd.cjs --address "$T/shimd.sock" --root "$T/shimd-root" --state "$T/shimd-state" --runtime runc >"$T/shimd.log" 2>&1 &
PIDS+=($!)
sleep 1
node daemon/dist/berthd.cjs --host "unix://$T/berthd.sock" --data-root "$T/berthd" --shimd-address "$T/shimd.sock" --bridge bdbench --bridge-subnet 172.31.252.0/24 >"$T/berthd.log" 2>&1 &
BERTHD=$!
PIDS+=($BERTHD)
HOSTS=("berthd unix://$T/berthd.sock $BERTHD")

if command -v dockerd >/dev/null; then
  dockerd --host "unix://$T/dockerd.sock" --data-root "$T/dockerd" --exec-root "$T/dockerd-exec" --pidfile "$T/dockerd.pid" --bridge none --iptables=false >"$T/dockerd.log" 2>&1 &
  DOCKERD=$!
  PIDS+=($DOCKERD)
  HOSTS+=("dockerd unix://$T/dockerd.sock $DOCKERD")
else
  echo "dockerd is not installed: measuring berthd alone (apt-get install docker.io for the comparison)"
fi
sleep 3

for h in "${HOSTS[@]}"; do
  read -r name host pid <<<"$h"
  export DOCKER_HOST=$host
  docker load -i "$FIXTURE" >/dev/null
  echo "== $name"
  echo "idle PSS: $(pss "$pid") kB"
  hyperfine -N --warmup 2 --runs 10 --export-json "$OUT/daemon-$name-run.json" "docker run --rm busybox true"
  c=0; s=0; r=0
  for i in 1 2 3 4 5; do
    t0=$(date +%s%N); docker create --name bench-csr busybox true >/dev/null
    t1=$(date +%s%N); docker start -a bench-csr >/dev/null
    t2=$(date +%s%N); docker rm bench-csr >/dev/null
    t3=$(date +%s%N)
    c=$((c + t1 - t0)); s=$((s + t2 - t1)); r=$((r + t3 - t2))
  done
  echo "create / start -a / rm (mean of 5): $((c / 5000000)) / $((s / 5000000)) / $((r / 5000000)) ms"
  start=$(date +%s%N)
  for i in $(seq 1 "$N"); do docker run -d --name "bench-$i" busybox sleep 600 >/dev/null; done
  echo "$N x run -d: $(( ($(date +%s%N) - start) / 1000000 )) ms"
  hyperfine -N --warmup 1 --runs 10 --export-json "$OUT/daemon-$name-ps.json" "docker ps"
  echo "PSS with $N running: $(pss "$pid") kB"
  docker rm -f $(docker ps -aq) >/dev/null
  docker run --name bench-logs busybox sh -c 'head -c 150000000 /dev/zero | base64' >/dev/null
  start=$(date +%s%N)
  docker logs bench-logs | wc -c
  echo "docker logs of ~200 MB: $(( ($(date +%s%N) - start) / 1000000 )) ms"
  docker rm -f bench-logs >/dev/null
done
