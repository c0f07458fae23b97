#!/usr/bin/env bash
# Builds the runtime's single-threaded user-namespace helper (nsexec.c) into the
# directory given (runtime/dist), beside the bundle that looks for it there.
set -euo pipefail
out=${1:?usage: build.sh OUTDIR}
src=$(cd "$(dirname "$0")" && pwd)/nsexec.c
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "berth-runtime: no C compiler ($cc) found: install gcc and libc6-dev (scripts/setup.sh does) to build berth-nsexec" >&2
  exit 1
fi
mkdir -p "$out"
tmp="$out/berth-nsexec.tmp.$$"
# Static when the libc allows it (no loader or libc needed inside odd environments).
if ! "$cc" -O2 -Wall -static -o "$tmp" "$src" 2>/dev/null; then
  "$cc" -O2 -Wall -o "$tmp" "$src"
fi
chmod 0755 "$tmp"
# rename, never rewrite in place: a running helper keeps its mapped text
mv -f "$tmp" "$out/berth-nsexec"
