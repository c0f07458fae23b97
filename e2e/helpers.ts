// Shared helpers for the e2e suites: where the built binaries are, and which
// runtime a runtime-level test drives (berth-runtime, or a peer named in
// BERTH_TEST_RUNTIME such as runc or crun, so the same test checks both).
import { join } from 'node:path';
import { repoRoot } from './fixtures/index.js';

export const bins = {
  runtime: join(repoRoot, 'runtime', 'dist', 'berth-runtime.cjs'),
  shimd: join(repoRoot, 'shimd', 'dist', 'berth-shimd.cjs'),
  shim: join(repoRoot, 'shimd', 'dist', 'berth-shim.cjs'),
  daemon: join(repoRoot, 'daemon', 'dist', 'berthd.cjs'),
  cli: join(repoRoot, 'cli', 'dist', 'berth.cjs'),
};

/** The runtime under test: BERTH_TEST_RUNTIME (e.g. `runc`) or berth-runtime. */
export const runtimeUnderTest = process.env.BERTH_TEST_RUNTIME || bins.runtime;
export const isRoot = process.getuid?.() === 0;
