// The runtime imports this package on every `create`: check, in the bundled form the
// binaries use, that neither importing it nor validating a good document evaluates
// zod, and that a bad document still gets zod's explanation.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'ocispec-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('loads zod only for an invalid document, and the bundle builds without warnings', async () => {
  const outfile = join(dir, 'probe.cjs');
  const result = await build({
    stdin: {
      contents: [
        "import { validateSpec } from './index.js';",
        "const before = '__zod_globalConfig' in globalThis;",
        "validateSpec({ ociVersion: '1.2.0' });",
        "const afterValid = '__zod_globalConfig' in globalThis;",
        'let message = "";',
        "try { validateSpec({ ociVersion: 1 }); } catch (e) { message = e.message; }",
        "console.log(JSON.stringify({ before, afterValid, afterInvalid: '__zod_globalConfig' in globalThis, message }));",
      ].join('\n'),
      resolveDir: import.meta.dirname,
      loader: 'ts',
    },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minifySyntax: true,
    define: { 'process.env.BERTH_BUNDLED': '"1"' },
    logLevel: 'silent',
  });
  expect(result.warnings.map((w) => w.text)).toEqual([]);
  const out = JSON.parse(execFileSync(process.execPath, [outfile], { encoding: 'utf8' }));
  expect(out).toEqual({
    before: false,
    afterValid: false,
    afterInvalid: true,
    message: 'ociVersion: expected string, got number 1',
  });
});
