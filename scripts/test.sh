#!/usr/bin/env bash
# `pnpm test`: lint, typecheck, unit tests, then the e2e suites as root against the
# real kernel. Ends with one line `N passed, M failed` summed over everything and
# exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failed_checks=0

echo "== lint"
pnpm -s lint || failed_checks=$((failed_checks + 1))
echo "== typecheck"
pnpm -s typecheck || failed_checks=$((failed_checks + 1))

run_project() { # name
  echo "== $1 tests"
  npx vitest run --project "$1" --passWithNoTests --reporter=default --reporter=json --outputFile.json="$out/$1.json"
}
run_project unit
if [ "$(id -u)" -eq 0 ]; then
  run_project e2e
else
  echo "== e2e tests skipped: they need root (containers, mounts, cgroups)"
fi

node - "$out" "$failed_checks" <<'JS'
const fs = require('node:fs');
const [dir, checks] = process.argv.slice(2);
let passed = 0, failed = Number(checks), skipped = 0;
for (const f of fs.readdirSync(dir)) {
  const r = JSON.parse(fs.readFileSync(`${dir}/${f}`, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  // A file that fails to load has no tests but is a failure all the same.
  for (const s of r.testResults) if (s.status === 'failed' && s.assertionResults.length === 0) failed += 1;
}
if (!fs.readdirSync(dir).length) failed += 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
JS
