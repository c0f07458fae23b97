#!/usr/bin/env bash
# Start-up of every binary (`--version`) against a bare `node -e ''`, in one hyperfine run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench/results}
mkdir -p "$out"
hyperfine -N --warmup 5 --runs "${RUNS:-40}" --export-json "$out/startup.json" \
  -n node "node -e ''" \
  -n berth-runtime "node runtime/dist/berth-runtime.cjs --version" \
  -n berth-shimd "node shimd/dist/berth-shimd.cjs --version" \
  -n berth-shim "node shimd/dist/berth-shim.cjs --version" \
  -n berthd "node daemon/dist/berthd.cjs --version" \
  -n berth "node cli/dist/berth.cjs --version" >/dev/null
node -e '
const r = require(process.argv[1]).results;
const base = r.find((x) => x.command === "node").mean;
// CPU time (user+sys) is printed too: on a busy machine it moves far less than wall time.
const cpu = (x) => x.user + x.system;
const baseCpu = cpu(r.find((x) => x.command === "node"));
for (const x of r) console.log(`${x.command.padEnd(14)} ${(x.mean * 1000).toFixed(1).padStart(6)} ms  ${(x.mean / base).toFixed(2)}x node   cpu ${(cpu(x) * 1000).toFixed(1).padStart(6)} ms  ${(cpu(x) / baseCpu).toFixed(2)}x node`);
' "$PWD/$out/startup.json"
