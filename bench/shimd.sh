#!/usr/bin/env bash
# create + start + wait + delete of /bin/true through berth-shimd (`berth ctr run
# --rm`) against Debian containerd's `ctr run --rm`, both driving runc, in one
# hyperfine run; `berth ctr namespaces ls` against `ctr namespaces ls` (client
# start-up); then the PSS of one shim per container with 20 idle containers
# (berth-shim against containerd-shim-runc-v2). Each daemon runs on its own temp
# dirs and is stopped by PID. Needs root, hyperfine, runc, busybox, jq, containerd
# (apt-get install containerd) and a build (pnpm build).
# Usage: bench/shimd.sh [hyperfine args...]; BERTH_BENCH_RUNTIME=berth-runtime to
# drive berth-runtime under berth-shimd instead of runc.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
shimd="$top/shimd/dist/berth-shimd.cjs"
berth="$top/cli/dist/berth.cjs"
for f in "$shimd" "$berth"; do [ -f "$f" ] || { echo "bench/shimd.sh: $f is missing; run pnpm build first" >&2; exit 1; }; done
for tool in hyperfine runc busybox jq containerd ctr; do
  command -v "$tool" >/dev/null || { echo "bench/shimd.sh: $tool is not installed" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "bench/shimd.sh: containers need root" >&2; exit 1; }
runtime=${BERTH_BENCH_RUNTIME:-runc}
[ "$runtime" = berth-runtime ] && runtime="$top/runtime/dist/berth-runtime.cjs"

work=$(mktemp -d /tmp/shimd-bench-XXXXXX)
shimd_pid=""
containerd_pid=""
N=20
cleanup() {
  set +e
  for i in $(seq 1 $N); do
    node "$berth" ctr -a "$work/shimd.sock" tasks kill -s 9 "shimd-bench-idle-$i" >/dev/null 2>&1
    ctr -a "$work/containerd.sock" tasks kill -s 9 "ctr-bench-idle-$i" >/dev/null 2>&1
  done
  sleep 0.5
  for i in $(seq 1 $N); do
    node "$berth" ctr -a "$work/shimd.sock" tasks delete "shimd-bench-idle-$i" >/dev/null 2>&1
    node "$berth" ctr -a "$work/shimd.sock" containers rm "shimd-bench-idle-$i" >/dev/null 2>&1
    ctr -a "$work/containerd.sock" tasks delete "ctr-bench-idle-$i" >/dev/null 2>&1
    ctr -a "$work/containerd.sock" containers rm "ctr-bench-idle-$i" >/dev/null 2>&1
  done
  [ -n "$shimd_pid" ] && kill "$shimd_pid" 2>/dev/null
  [ -n "$containerd_pid" ] && kill "$containerd_pid" 2>/dev/null
  sleep 0.5
  grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

rootfs="$work/rootfs"
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc}
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for a in true sh sleep; do ln -s busybox "$rootfs/bin/$a"; done

node "$shimd" --address "$work/shimd.sock" --root "$work/shimd-root" --state "$work/shimd-state" --runtime "$runtime" 2>"$work/shimd.log" &
shimd_pid=$!
cat > "$work/containerd.toml" <<TOML
version = 2
root = "$work/containerd-root"
state = "$work/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/containerd.sock"
[ttrpc]
  address = "$work/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
TOML
containerd --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &
containerd_pid=$!
for _ in $(seq 1 100); do [ -S "$work/shimd.sock" ] && [ -S "$work/containerd.sock" ] && break; sleep 0.1; done

hyperfine --warmup 3 -N --export-json "$work/result.json" "${@:---min-runs=20}" \
  -n berth-shimd "node $berth ctr -a $work/shimd.sock run --rm --rootfs $rootfs shimd-bench /bin/true" \
  -n containerd "ctr -a $work/containerd.sock run --rm --rootfs $rootfs ctr-bench /bin/true"
mkdir -p "$top/bench/results"
cp "$work/result.json" "$top/bench/results/shimd.json"

jq -r '.results as $r | ($r[] | select(.command=="containerd") | .mean) as $c
  | ($r[] | select(.command=="berth-shimd") | .mean) as $b
  | "containerd \($c * 1000 | floor) ms, berth-shimd \($b * 1000 | floor) ms: berth-shimd/containerd = \($b / $c * 100 | round / 100)"' "$work/result.json"

# The same from an image (the e2e fixture's busybox OCI archive, when it was built):
# snapshot prepare + spec from the image + run + snapshot removal.
archive=$(ls -t "$top"/e2e/.fixtures/*/busybox-oci.tar 2>/dev/null | head -1 || true)
if [ -n "$archive" ] && node "$berth" ctr -a "$work/shimd.sock" images import "$archive" >/dev/null &&
  ctr -a "$work/containerd.sock" images import "$archive" >/dev/null; then
  hyperfine --warmup 3 -N --export-json "$work/image-run.json" --min-runs=20 \
    -n berth-shimd "node $berth ctr -a $work/shimd.sock run --rm docker.io/library/busybox:latest shimd-bench-img /bin/true" \
    -n containerd "ctr -a $work/containerd.sock run --rm docker.io/library/busybox:latest ctr-bench-img /bin/true" >/dev/null
  jq -r '.results as $r | ($r[] | select(.command=="containerd") | .mean) as $c
    | ($r[] | select(.command=="berth-shimd") | .mean) as $b
    | "run --rm from an image: containerd \($c * 1000 | floor) ms, berth-shimd \($b * 1000 | floor) ms: berth-shimd/containerd = \($b / $c * 100 | round / 100)"' "$work/image-run.json"
fi

# Start-up of the client: one unary call (`namespaces ls`), berth ctr against ctr.
hyperfine --warmup 3 -N --export-json "$work/startup.json" --min-runs=30 \
  -n "berth ctr" "node $berth ctr -a $work/shimd.sock namespaces ls" \
  -n ctr "ctr -a $work/containerd.sock namespaces ls" >/dev/null
jq -r '.results as $r | ($r[] | select(.command=="ctr") | .mean) as $c
  | ($r[] | select(.command=="berth ctr") | .mean) as $b
  | "namespaces ls: ctr \($c * 1000 * 10 | floor / 10) ms, berth ctr \($b * 1000 * 10 | floor / 10) ms: berth ctr/ctr = \($b / $c * 100 | round / 100)"' "$work/startup.json"

# Per-shim memory with N idle containers.
for i in $(seq 1 $N); do
  node "$berth" ctr -a "$work/shimd.sock" run -d --rootfs "$rootfs" "shimd-bench-idle-$i" /bin/sleep 1000 >/dev/null
  ctr -a "$work/containerd.sock" run -d --rootfs "$rootfs" "ctr-bench-idle-$i" /bin/sleep 1000 >/dev/null
done
sleep 2
pss() { local t=0 n=0; for p in "$@"; do t=$((t + $(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup"))); n=$((n + 1)); done; echo $((t / n)); }
berth_pss=$(pss $(pgrep -f "berth-shim.cjs .*--bundle $work/"))
ctr_pss=$(pss $(pgrep -f "containerd-shim-runc-v2 .*-address $work/"))
echo "PSS per shim with $N idle containers: berth-shim ${berth_pss} kB, containerd-shim-runc-v2 ${ctr_pss} kB: berth-shim/containerd-shim = $(jq -n "$berth_pss / $ctr_pss * 100 | round / 100")"
