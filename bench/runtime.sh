#!/usr/bin/env bash
# `run` of /bin/true in a busybox bundle: berth-runtime against runc, in one
# hyperfine run; prints the ratio of the means. Needs root, hyperfine, runc and a
# built runtime (pnpm build). Usage: bench/runtime.sh [hyperfine args...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
berth="$top/runtime/dist/berth-runtime.cjs"
[ -x "$berth" ] || { echo "bench/runtime.sh: $berth is missing; run pnpm build first" >&2; exit 1; }
for tool in hyperfine runc busybox jq; do
  command -v "$tool" >/dev/null || { echo "bench/runtime.sh: $tool is not installed" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "bench/runtime.sh: containers need root" >&2; exit 1; }

work=$(mktemp -d /tmp/rt-bench-XXXXXX)
trap 'runc --root "$work/runc" delete -f rt-bench-runc >/dev/null 2>&1 || true; "$berth" --root "$work/berth" delete -f rt-bench-berth >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

bundle="$work/bundle"
mkdir -p "$bundle/rootfs"/{bin,proc,sys,dev,tmp,etc}
cp "$(command -v busybox)" "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/true"
ln -s busybox "$bundle/rootfs/bin/sh"
"$berth" spec -b "$bundle"
jq '.process.terminal = false | .process.args = ["/bin/true"] | .ociVersion = "1.0.2"' "$bundle/config.json" > "$bundle/config.json.tmp"
mv "$bundle/config.json.tmp" "$bundle/config.json"

hyperfine --warmup 3 --min-runs 20 -N --export-json "$work/result.json" "$@" \
  -n runc "runc --root $work/runc run -b $bundle rt-bench-runc" \
  -n berth-runtime "$berth --root $work/berth run -b $bundle rt-bench-berth"

jq -r '.results as $r | ($r[] | select(.command=="runc") | .mean) as $runc
  | ($r[] | select(.command=="berth-runtime") | .mean) as $berth
  | "runc \($runc * 1000 | floor) ms, berth-runtime \($berth * 1000 | floor) ms: berth-runtime/runc = \($berth / $runc * 100 | round / 100)"' "$work/result.json"
