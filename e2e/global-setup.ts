import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fixtures, repoRoot } from './fixtures/index.js';

// Runs once per e2e run: the fixtures are built (or found in the cache) and the
// bundled binaries must exist, since e2e tests drive them as a user would.
export default function setup(): void {
  fixtures();
  for (const bin of ['runtime/dist/berth-runtime.cjs']) {
    if (!existsSync(join(repoRoot, bin))) throw new Error(`${bin} is missing: run pnpm build first`);
  }
}
