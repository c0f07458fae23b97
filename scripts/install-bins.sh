#!/usr/bin/env bash
# Puts the bundled binaries on PATH: PREFIX/lib/berth holds the bundles and their
# native files, PREFIX/bin holds symlinks. The shebang is rewritten to this node's
# absolute path so callers with a minimal PATH (dockerd, containerd) can run them.
set -euo pipefail
PREFIX=${PREFIX:-/usr/local}
top=$(cd "$(dirname "$0")/.." && pwd)
lib="$PREFIX/lib/berth"
node=$(command -v node)
mkdir -p "$lib" "$PREFIX/bin"
for pkgbin in runtime:berth-runtime shimd:berth-shimd shimd:berth-shim daemon:berthd cli:berth; do
  pkg=${pkgbin%%:*}; bin=${pkgbin##*:}
  dist="$top/$pkg/dist"
  [ -f "$dist/$bin.cjs" ] || { echo "install-bins: $dist/$bin.cjs is missing; run pnpm build first" >&2; exit 1; }
  # the bundle and its code cache first, then the entry that loads them
  for f in "$bin.bundle.cjs" "$bin.bundle.cjs.cache" koffi.node; do
    [ -f "$dist/$f" ] && cp -f "$dist/$f" "$lib/$f.tmp" && mv -f "$lib/$f.tmp" "$lib/$f"
  done
  { echo "#!$node"; tail -n +2 "$dist/$bin.cjs"; } > "$lib/$bin.cjs.tmp"
  chmod 0755 "$lib/$bin.cjs.tmp"
  mv -f "$lib/$bin.cjs.tmp" "$lib/$bin.cjs"
  ln -sfn "$lib/$bin.cjs" "$PREFIX/bin/$bin"
done
# Native helpers built beside the runtime bundle.
for f in "$top"/runtime/dist/*; do
  case "$f" in *.cjs|*.cache|*/koffi.node) ;; *) [ -f "$f" ] && [ -x "$f" ] && cp -f "$f" "$lib/";; esac
done
echo "installed berth, berthd, berth-shimd, berth-shim, berth-runtime into $PREFIX/bin"
