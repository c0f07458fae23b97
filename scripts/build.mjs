// Bundles each binary into one CommonJS file with esbuild. Native pieces (koffi's
// addon) are copied beside the bundle and loaded from there, so an installed binary
// needs nothing from node_modules.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, existsSync, chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { protoDescriptorsPlugin } from '../proto/build/descriptors-plugin.mjs';
import { generate as generateSpecValidators } from '../oci-spec-types/scripts/generate.mjs';

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

// The entry each binary starts from: it compiles the bundle with V8's code cache
// (made at build time), which saves ~15 ms of parsing and compiling per start.
// A cache V8 rejects (another node version or flags) just means a normal compile.
function loader(bundleName) {
  return `#!/usr/bin/env node
'use strict';
const fs = require('node:fs'), vm = require('node:vm'), path = require('node:path'), Module = require('node:module');
const file = path.join(__dirname, ${JSON.stringify(bundleName)}), cacheFile = file + '.cache';
let cachedData;
try { cachedData = fs.readFileSync(cacheFile); } catch {}
const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), {
  filename: file,
  cachedData,
  // a real import() left in the bundle resolves like one in a plain script
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
const m = new Module(file, module);
m.filename = file;
m.paths = Module._nodeModulePaths(__dirname);
if (process.env.BERTH_CODE_CACHE_WRITE === '1') {
  process.on('exit', () => fs.writeFileSync(cacheFile, script.createCachedData()));
}
script.runInThisContext().call(m.exports, m.exports, (id) => m.require(id), m, file, __dirname);
`;
}

async function main() {
  const only = process.argv.slice(2);
  const addon = koffiAddon();
  // oci-spec-types' validators are generated from its zod schemas; a stale copy is rewritten.
  await generateSpecValidators();
  await Promise.all(
    binaries
      .filter((b) => only.length === 0 || only.includes(b.out))
      .map(async (b) => {
        const outdir = join(root, b.pkg, 'dist');
        mkdirSync(outdir, { recursive: true });
        const outfile = join(outdir, `${b.out}.bundle.cjs`);
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
          // ESM-only dependencies (yargs) read import.meta.url, which a CJS bundle lacks.
          banner: { js: 'var __bundleImportMetaUrl=require("url").pathToFileURL(__filename).href;' },
          define: {
            'import.meta.url': '__bundleImportMetaUrl',
            'process.env.BERTH_VERSION': JSON.stringify(version),
            'process.env.BERTH_COMMIT': JSON.stringify(commit),
            'process.env.BERTH_BUNDLED': '"1"',
          },
          // (protoDescriptorsPlugin: .proto files parsed at build time, see proto/build/)
          plugins: [koffiPlugin, protoDescriptorsPlugin, rawPlugin],
          logLevel: 'warning',
        });
        // Copy and rename: rewriting koffi.node in place crashes (SIGSEGV/SIGBUS) every
        // running process that has it mapped, such as shims of running containers.
        copyFileSync(addon, join(outdir, `koffi.node.${process.pid}`));
        renameSync(join(outdir, `koffi.node.${process.pid}`), join(outdir, 'koffi.node'));
        const entry = join(outdir, `${b.out}.cjs`);
        writeFileSync(entry, loader(`${b.out}.bundle.cjs`));
        chmodSync(entry, 0o755);
        // One run with the cache writer on leaves the compiled code beside the bundle. V8
        // caches only functions that ran, so each binary's main takes a hidden `__warmup`
        // argument that runs its hot path (for the runtime: parse create's flags, validate
        // a default config.json) without side effects, and exits.
        rmSync(`${outfile}.cache`, { force: true });
        // (its exit status does not matter)
        spawnSync(process.execPath, [entry, '__warmup'], {
          env: { ...process.env, BERTH_CODE_CACHE_WRITE: '1' },
          stdio: 'ignore',
        });
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
