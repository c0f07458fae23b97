#!/usr/bin/env bash
# Pull + unpack of a ~100 MB, 5-layer image from a local docker-registry: berth
# (berth-shimd + `berth ctr images pull`) and, when installed, containerd's
# `ctr image pull` (which unpacks too). Prints seconds for each and the ratio.
# Needs root, docker-registry, skopeo; builds with `node scripts/build.mjs` first.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
work=$(mktemp -d /tmp/img-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  rm -rf "$work"
}
trap cleanup EXIT

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cat >"$work/registry.yml" <<YML
version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: $work/registry } }
http: { addr: 127.0.0.1:$port }
YML
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 & pids+=($!)

# An OCI layout with 5 layers of ~20 MB (random bytes, some compressible text).
layout=$work/layout
mkdir -p "$layout/blobs/sha256"
layers=() diffs=()
for i in 1 2 3 4 5; do
  d=$work/l$i; mkdir -p "$d/data$i"
  head -c 16000000 /dev/urandom >"$d/data$i/random.bin"
  seq 1 600000 >"$d/data$i/text.txt"
  tar -C "$d" -cf "$work/l$i.tar" .
  diffs+=("sha256:$(sha256sum "$work/l$i.tar" | cut -d' ' -f1)")
  gzip -1 -c "$work/l$i.tar" >"$work/l$i.tgz"
  dg=$(sha256sum "$work/l$i.tgz" | cut -d' ' -f1)
  mv "$work/l$i.tgz" "$layout/blobs/sha256/$dg"
  layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$dg\",\"size\":$(stat -c %s "$layout/blobs/sha256/$dg")}")
  rm -rf "$d" "$work/l$i.tar"
done
diff_json=$(printf '"%s",' "${diffs[@]}"); diff_json="[${diff_json%,}]"
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":%s}}' "$diff_json" >"$work/config.json"
cd_=$(sha256sum "$work/config.json" | cut -d' ' -f1); cp "$work/config.json" "$layout/blobs/sha256/$cd_"
layer_json=$(IFS=,; echo "${layers[*]}")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
  "$cd_" "$(stat -c %s "$work/config.json")" "$layer_json" >"$work/manifest.json"
md=$(sha256sum "$work/manifest.json" | cut -d' ' -f1); cp "$work/manifest.json" "$layout/blobs/sha256/$md"
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"bench"}}]}' \
  "$md" "$(stat -c %s "$work/manifest.json")" >"$layout/index.json"
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$layout:bench" "docker://127.0.0.1:$port/bench/big:1"
echo "image: $(du -sb "$layout/blobs" | cut -f1) bytes compressed, 5 layers"

now() { date +%s.%N; }
berth_times=()
for r in $(seq "$RUNS"); do
  root=$work/berth-$r
  node shimd/dist/berth-shimd.cjs --address "$root.sock" --root "$root" --state "$root-state" >/dev/null 2>&1 & spid=$!; pids+=($spid)
  for _ in $(seq 100); do [ -S "$root.sock" ] && break; sleep 0.05; done
  t0=$(now)
  node cli/dist/berth.cjs ctr -a "$root.sock" images pull "127.0.0.1:$port/bench/big:1" >/dev/null
  t1=$(now)
  berth_times+=("$(echo "$t1 - $t0" | bc)")
  kill $spid; wait $spid 2>/dev/null || true
done
echo "berth ctr images pull (pull+unpack): ${berth_times[*]} s"

if command -v ctr >/dev/null && command -v containerd >/dev/null; then
  ctd_times=()
  for r in $(seq "$RUNS"); do
    croot=$work/ctd-$r
    containerd --root "$croot" --state "$croot-state" --address "$croot.sock" >/dev/null 2>&1 & cpid=$!; pids+=($cpid)
    for _ in $(seq 100); do [ -S "$croot.sock" ] && break; sleep 0.05; done
    t0=$(now)
    ctr -a "$croot.sock" image pull --plain-http "127.0.0.1:$port/bench/big:1" >/dev/null
    t1=$(now)
    ctd_times+=("$(echo "$t1 - $t0" | bc)")
    kill $cpid; wait $cpid 2>/dev/null || true
  done
  echo "containerd ctr image pull (pull+unpack): ${ctd_times[*]} s"
  b=$(printf '%s\n' "${berth_times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  c=$(printf '%s\n' "${ctd_times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  echo "ratio berth/containerd (medians): $(echo "scale=2; $b / $c" | bc)"
else
  echo "containerd is not installed: no ratio (apt-get install containerd)"
fi
