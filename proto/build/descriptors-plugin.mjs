// esbuild plugin for scripts/build.mjs: a bundle gets proto/src/descriptors.ts as
// the JSON it would compute (the parsed .proto files), so binaries never parse
// .proto text nor carry protobufjs's parser. The JSON comes from running that very
// module once at build time, so sources and bundles cannot disagree.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';

const here = dirname(new URL(import.meta.url).pathname);
const descriptorsModule = resolve(here, '..', 'src', 'descriptors.ts');

async function computeDescriptors() {
  const out = await build({
    entryPoints: [descriptorsModule],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    logLevel: 'warning',
    plugins: [
      {
        name: 'proto-raw',
        setup(b) {
          b.onResolve({ filter: /\?raw$/ }, (args) => ({ path: resolve(args.resolveDir, args.path.slice(0, -4)), namespace: 'proto-raw' }));
          b.onLoad({ filter: /.*/, namespace: 'proto-raw' }, (args) => ({ contents: readFileSync(args.path, 'utf8'), loader: 'text' }));
        },
      },
    ],
  });
  const m = { exports: {} };
  const req = createRequire(descriptorsModule);
  new Function('module', 'exports', 'require', out.outputFiles[0].text)(m, m.exports, req);
  const { descriptor, descriptorNames } = m.exports;
  return Object.fromEntries(descriptorNames.map((n) => [n, descriptor(n)]));
}

export const protoDescriptorsPlugin = {
  name: 'proto-descriptors',
  setup(b) {
    let computed;
    b.onLoad({ filter: /[\\/]proto[\\/]src[\\/]descriptors\.ts$/ }, async (args) => {
      if (resolve(args.path) !== descriptorsModule) return undefined;
      computed ??= computeDescriptors();
      const all = await computed;
      return {
        // JSON.parse of a string is faster for V8 than an object literal of this size.
        contents: `const all = JSON.parse(${JSON.stringify(JSON.stringify(all))});
export const descriptorNames = Object.keys(all);
export function descriptor(name) { return all[name]; }
`,
        loader: 'js',
        resolveDir: join(here, '..', 'src'),
      };
    });
  },
};
