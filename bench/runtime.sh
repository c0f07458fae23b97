#!/usr/bin/env bash
# `run` of /bin/true in a busybox bundle, then the same in a new user namespace:
# berth-runtime against runc, each pair in one hyperfine run; prints the ratios of
# the means. Needs root, hyperfine, runc and a
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
chmod 755 "$work" # the user-namespace run reaches the rootfs as an unprivileged host uid
trap 'for id in rt-bench-runc rt-bench-runc-userns; do runc --root "$work/runc" delete -f $id >/dev/null 2>&1 || true; done; for id in rt-bench-berth rt-bench-berth-userns; do "$berth" --root "$work/berth" delete -f $id >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT

bundle="$work/bundle"
mkdir -p "$bundle/rootfs"/{bin,proc,sys,dev,tmp,etc}
cp "$(command -v busybox)" "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/true"
ln -s busybox "$bundle/rootfs/bin/sh"
"$berth" spec -b "$bundle"
jq '.process.terminal = false | .process.args = ["/bin/true"] | .ociVersion = "1.0.2"' "$bundle/config.json" > "$bundle/config.json.tmp"
mv "$bundle/config.json.tmp" "$bundle/config.json"

# The user-namespace bundle: the same rootfs, root mapped to 100000 (its files stay
# readable through their world bits).
userns="$work/userns"
mkdir -p "$userns"
jq --arg rootfs "$bundle/rootfs" '.root.path = $rootfs
  | .linux.namespaces += [{"type":"user"}]
  | .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}]
  | .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]' \
  "$bundle/config.json" > "$userns/config.json"

compare() { # label runc-command berth-command
  hyperfine --warmup 3 --min-runs 20 -N --export-json "$work/result.json" "${extra[@]}" -n runc "$2" -n berth-runtime "$3"
  jq -r --arg what "$1" '.results as $r | ($r[] | select(.command=="runc") | .mean) as $runc
    | ($r[] | select(.command=="berth-runtime") | .mean) as $berth
    | "\($what): runc \($runc * 1000 | floor) ms, berth-runtime \($berth * 1000 | floor) ms: berth-runtime/runc = \($berth / $runc * 100 | round / 100)"' "$work/result.json" >> "$work/summary"
}
extra=("$@")
compare "run /bin/true" "runc --root $work/runc run -b $bundle rt-bench-runc" "$berth --root $work/berth run -b $bundle rt-bench-berth"
compare "run /bin/true in a user namespace" "runc --root $work/runc run -b $userns rt-bench-runc-userns" "$berth --root $work/berth run -b $userns rt-bench-berth-userns"
cat "$work/summary"
