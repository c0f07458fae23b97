// Bundles each binary into one CommonJS file with esbuild. Native pieces (koffi's
// addon) are copied beside the bundle and loaded from there, so an installed binary
// needs nothing from node_modules.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, existsSync, chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
} catch {}

export const binaries = [
  { pkg: 'runtime', entry: 'src/main.ts', out: 'berth-runtime' },
  { pkg: 'shimd', entry: 'src/shimd/main.ts', out: 'berth-shimd' },
  { pkg: 'shimd', entry: 'src/shim/main.ts', out: 'berth-shim' },
  { pkg: 'daemon', entry: 'src/main.ts', out: 'berthd' },
  { pkg: 'cli', entry: 'src/main.ts', out: 'berth' },
];

// koffi locates its addon relative to its own files; in a bundle we load it from
// the bundle's directory instead.
const koffiPlugin = {
  name: 'koffi-beside-bundle',
  setup(b) {
    b.onResolve({ filter: /^koffi$/ }, () => ({ path: 'koffi', namespace: 'koffi-native' }));
    b.onLoad({ filter: /.*/, namespace: 'koffi-native' }, () => ({
      contents: "module.exports = require(require('node:path').join(__dirname, 'koffi.node'));",
      loader: 'js',
    }));
  },
};

// `import text from './x.proto?raw'` (vite's form, used by the tests) becomes a string.
const rawPlugin = {
  name: 'raw-text',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (args) => ({
      path: resolve(args.resolveDir, args.path.slice(0, -4)),
      namespace: 'raw-text',
    }));
    b.onLoad({ filter: /.*/, namespace: 'raw-text' }, (args) => ({
      contents: readFileSync(args.path, 'utf8'),
      loader: 'text',
    }));
  },
};

function koffiAddon() {
  const req = createRequire(join(root, 'runtime', 'package.json'));
  let koffiDir = dirname(req.resolve('koffi'));
  while (!existsSync(join(koffiDir, 'package.json'))) koffiDir = dirname(koffiDir);
  const platformPkg = join(koffiDir, '..', '@koromix', `koffi-${process.platform}-${process.arch}`);
  const candidates = [
    join(platformPkg, `${process.platform}_${process.arch}`, 'koffi.node'),
    join(koffiDir, 'build', 'koffi', `${process.platform}_${process.arch}`, 'koffi.node'),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`koffi addon not found in ${candidates.join(', ')}`);
  return found;
}

async function main() {
  const only = process.argv.slice(2);
  const addon = koffiAddon();
  await Promise.all(
    binaries
      .filter((b) => only.length === 0 || only.includes(b.out))
      .map(async (b) => {
        const outdir = join(root, b.pkg, 'dist');
        mkdirSync(outdir, { recursive: true });
        const outfile = join(outdir, `${b.out}.cjs`);
        await build({
          entryPoints: [join(root, b.pkg, b.entry)],
          outfile,
          bundle: true,
          platform: 'node',
          format: 'cjs',
          target: 'node20',
          minifyWhitespace: true,
          minifySyntax: true,
          keepNames: false,
          sourcemap: false,
          legalComments: 'none',
          banner: { js: '#!/usr/bin/env node' },
          define: {
            'process.env.BERTH_VERSION': JSON.stringify(version),
            'process.env.BERTH_COMMIT': JSON.stringify(commit),
            'process.env.BERTH_BUNDLED': '"1"',
          },
          plugins: [koffiPlugin, rawPlugin],
          logLevel: 'warning',
        });
        chmodSync(outfile, 0o755);
        copyFileSync(addon, join(outdir, 'koffi.node'));
      }),
  );
  // The runtime's single-threaded helper (user namespaces, see runtime/native) is
  // built with the system cc when its source exists.
  const nativeBuild = join(root, 'runtime', 'native', 'build.sh');
  if (existsSync(nativeBuild) && (only.length === 0 || only.includes('berth-runtime'))) {
    execFileSync('bash', [nativeBuild, join(root, 'runtime', 'dist')], { stdio: 'inherit' });
  }
}

await main();
