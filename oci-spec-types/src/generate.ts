// Turns the zod schemas (schemas.ts) into plain JavaScript validators: zod 4's
// toJSONSchema gives JSON Schema, ajv's standalone mode compiles it to code that
// needs neither library at run time. Validating config.json with zod costs ~40 ms of
// loading and schema building per process; the generated module costs well under
// 1 ms. Only build tooling imports this file (scripts/generate.mjs writes
// generated/validators.js; generate.test.ts checks the committed copy is current).
import AjvModule, { _, type KeywordCxt } from 'ajv';
import standaloneModule from 'ajv/dist/standalone/index.js';
import * as z from 'zod';
import { buildImageSchemas, buildRuntimeSchemas, type JsonHint, UNIQUE_NAMESPACE_TYPES } from './schemas.js';

// ajv is CommonJS whose default export is the module itself under NodeNext.
const Ajv = ((AjvModule as any).default ?? AjvModule) as typeof AjvModule.default;
const standaloneCode = ((standaloneModule as any).default ?? standaloneModule) as typeof standaloneModule.default;

/** The validators the generated module exports, by name, with the zod schema each comes from. */
export function zodSchemas(hints?: z.core.$ZodRegistry<JsonHint>) {
  const runtime = buildRuntimeSchemas(z, hints);
  const image = buildImageSchemas(z, hints);
  return {
    spec: runtime.spec,
    state: runtime.state,
    descriptor: image.descriptor,
    imageIndex: image.index,
    imageManifest: image.manifest,
    imageConfig: image.imageConfig,
    imageLayout: image.layout,
  };
}

export type ValidatorName = keyof ReturnType<typeof zodSchemas>;

/** JSON Schema (draft-07) of each document, refinements replaced by their hints. */
export function jsonSchemas(): Record<ValidatorName, Record<string, unknown>> {
  const hints = z.registry<JsonHint>();
  const schemas = zodSchemas(hints);
  const out = {} as Record<ValidatorName, Record<string, unknown>>;
  for (const [name, schema] of Object.entries(schemas) as [ValidatorName, z.ZodType][]) {
    const json = z.toJSONSchema(schema, {
      metadata: hints,
      target: 'draft-7',
      unrepresentable: 'throw',
      // A schema used in several places becomes one definition, compiled once.
      reused: 'ref',
      // toJSONSchema drops refinements silently, which would make the generated
      // validator accept what zod rejects: every refinement must come with a hint.
      override: (ctx) => {
        const checks = (ctx.zodSchema._zod.def as { checks?: z.core.$ZodCheck[] }).checks ?? [];
        if (checks.some((c) => c._zod.def.check === 'custom') && !hints.has(ctx.zodSchema)) {
          throw new Error(`${name}: a refinement without a JSON Schema hint at ${JSON.stringify(ctx.path)}`);
        }
      },
    }) as Record<string, unknown>;
    delete json.$schema;
    inlineSmallDefinitions(json);
    dropEmptyAdditionalProperties(json);
    out[name] = json;
  }
  return out;
}

// reused: 'ref' also extracts one-keyword schemas such as {type: 'boolean'} or {}:
// put those back, so only real structures (hooks, descriptors...) become functions.
function inlineSmallDefinitions(root: Record<string, unknown>): void {
  const defs = (root.definitions ?? {}) as Record<string, unknown>;
  const small = new Map<string, unknown>();
  for (const [name, def] of Object.entries(defs)) {
    if (JSON.stringify(def).length <= 100 && !JSON.stringify(def).includes('$ref')) small.set(`#/definitions/${name}`, def);
  }
  const visit = (node: unknown): unknown => {
    if (node === null || typeof node !== 'object') return node;
    if (Array.isArray(node)) return node.map(visit);
    const obj = node as Record<string, unknown>;
    const ref = obj.$ref;
    if (typeof ref === 'string' && small.has(ref)) {
      const { $ref: _ignored, ...rest } = obj;
      return visit({ ...structuredClone(small.get(ref) as object), ...rest });
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, visit(v)]));
  };
  const rewritten = visit(root) as Record<string, unknown>;
  for (const ref of small.keys()) delete (rewritten.definitions as Record<string, unknown>)[ref.slice('#/definitions/'.length)];
  if (rewritten.definitions && Object.keys(rewritten.definitions).length === 0) delete rewritten.definitions;
  for (const key of Object.keys(root)) delete root[key];
  Object.assign(root, rewritten);
}

// A loose object is `additionalProperties: {}`, which is JSON Schema's default but
// makes ajv loop over every property checking it against nothing.
function dropEmptyAdditionalProperties(node: unknown): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) dropEmptyAdditionalProperties(item);
    return;
  }
  const obj = node as Record<string, unknown>;
  const extra = obj.additionalProperties;
  if (extra !== null && typeof extra === 'object' && Object.keys(extra).length === 0) delete obj.additionalProperties;
  for (const value of Object.values(obj)) dropEmptyAdditionalProperties(value);
}

const HEADER = `// biome-ignore-all lint: generated code
// GENERATED by oci-spec-types/scripts/generate.mjs from src/schemas.ts (zod -> JSON
// Schema -> ajv standalone). Do not edit; run \`pnpm --filter oci-spec-types generate\`.
`;

/** The source of generated/validators.js and generated/validators.d.ts. */
export function generateValidators(): { js: string; dts: string } {
  const ajv = new Ajv({
    code: { source: true, esm: true },
    // The same semantics as zod: numbers must be finite, patterns are plain (non-u)
    // regular expressions, and nothing is coerced, defaulted or removed.
    strictNumbers: true,
    unicodeRegExp: false,
    allErrors: false,
    strict: true,
    inlineRefs: false,
    // (the args-or-commandLine hint names required properties in anyOf branches)
    strictRequired: false,
  });
  ajv.addKeyword({
    keyword: UNIQUE_NAMESPACE_TYPES,
    type: 'array',
    schemaType: 'boolean',
    code(cxt: KeywordCxt) {
      if (cxt.schema !== true) return;
      cxt.fail(
        _`${cxt.data}.some((n, i, a) => n !== null && typeof n === "object" && a.findIndex((m) => m !== null && typeof m === "object" && m.type === n.type) !== i)`,
      );
    },
  });
  const names: Record<string, string> = {};
  for (const [name, schema] of Object.entries(jsonSchemas())) {
    ajv.addSchema(schema, name);
    names[name] = name;
  }
  let js = standaloneCode(ajv, names);
  // minLength counts code points with a helper from ajv's runtime; inline it so the
  // module needs nothing from node_modules.
  const helper = /const (\w+) = require\("ajv\/dist\/runtime\/ucs2length"\)\.default;?/g;
  js = js.replace(helper, (_m, id: string) => `const ${id} = (s) => Array.from(s).length;`);
  if (/require\(/.test(js)) throw new Error('generated validators still require a module');
  js = stripErrorDetails(js);
  js = `${HEADER}${js.replace(/^"use strict";\n?/, '')}\n`;
  const dts = `${HEADER}
/** Whether a document is valid; the generated code reports nothing else (zod explains failures). */
export type Validator = (doc: unknown) => boolean;
${Object.keys(names)
  .map((n) => `export declare const ${n}: Validator;`)
  .join('\n')}
`;
  return { js, dts };
}

/** The end (exclusive) of the object or array literal that starts at `start`. */
function literalEnd(code: string, start: number): number {
  let depth = 0;
  for (let i = start; i < code.length; i++) {
    const c = code[i];
    if (c === '"') {
      // ajv emits only double-quoted strings (JSON.stringify'd); skip one.
      for (i++; code[i] !== '"'; i++) if (code[i] === '\\') i++;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  throw new Error(`unbalanced literal at ${start} in generated code`);
}

// The runtime asks a generated validator only whether a document is valid (zod says
// what is wrong), so ajv's error objects, and the schema constants they quote, are
// dead weight: ~40% of the code V8 would parse and compile on every start.
function stripErrorDetails(js: string): string {
  let out = '';
  let at = 0;
  for (let i = js.indexOf('{instancePath'); i >= 0; i = js.indexOf('{instancePath', at)) {
    out += `${js.slice(at, i)}{}`;
    at = literalEnd(js, i);
  }
  out += js.slice(at);
  // Schema constants nothing refers to any more.
  for (const m of [...out.matchAll(/const (schema\d+) = /g)]) {
    const name = m[1]!;
    if (new RegExp(`\\b${name}\\b`).test(out.replace(m[0], ''))) continue;
    const start = out.indexOf(m[0]);
    let end = literalEnd(out, start + m[0].length);
    if (out[end] === ';') end++;
    out = out.slice(0, start) + out.slice(end);
  }
  return out;
}
