// Writes src/generated/validators.{js,d.ts} from the zod schemas (see src/generate.ts).
// `--check` only reports whether the committed files are current (exit 1 if not).
// scripts/build.mjs runs this before bundling, so a binary never carries stale validators.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const pkg = join(dirname(new URL(import.meta.url).pathname), '..');
const outDir = join(pkg, 'src', 'generated');

export async function generate({ check = false } = {}) {
  const outfile = join(pkg, 'scripts', `.generate-${process.pid}.mjs`);
  try {
    // Bundled beside this script so zod and ajv resolve from the workspace.
    await build({
      entryPoints: [join(pkg, 'src', 'generate.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'warning',
    });
    const { generateValidators } = await import(pathToFileURL(outfile).href);
    const { js, dts } = generateValidators();
    const files = { 'validators.js': js, 'validators.d.ts': dts };
    const stale = Object.entries(files).filter(([name, text]) => {
      try {
        return readFileSync(join(outDir, name), 'utf8') !== text;
      } catch {
        return true;
      }
    });
    if (!check) for (const [name, text] of stale) writeFileSync(join(outDir, name), text);
    return stale.map(([name]) => name);
  } finally {
    rmSync(outfile, { force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const check = process.argv.includes('--check');
  const stale = await generate({ check });
  if (check && stale.length) {
    console.error(`oci-spec-types: ${stale.join(', ')} out of date; run pnpm --filter oci-spec-types generate`);
    process.exit(1);
  }
  if (!check) console.log(stale.length ? `oci-spec-types: wrote ${stale.join(', ')}` : 'oci-spec-types: validators up to date');
}
