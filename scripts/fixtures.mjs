// Runs e2e/fixtures/cli.ts (TypeScript) by bundling it on the fly with esbuild.
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const dir = mkdtempSync(join(tmpdir(), 'berth-fixtures-'));
const out = join(dir, 'fixtures.mjs');
try {
  await build({
    entryPoints: [join(root, 'e2e', 'fixtures', 'cli.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'warning',
    // the fixtures locate the repository from their own path
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(join(root, 'e2e', 'fixtures', 'index.ts')).href) },
  });
  await import(pathToFileURL(out).href);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
