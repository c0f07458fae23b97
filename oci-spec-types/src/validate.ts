// Validation of runtime-spec and image-spec documents. The runtime validates
// config.json on every `create`, and loading zod and building the schemas costs
// ~40 ms of a ~60 ms Node start here, so a document is checked by validators
// generated at build time from the zod schemas (schemas.ts -> generated/validators.js,
// plain JavaScript, ~1 ms); zod is loaded only when a document is invalid, to name
// the first bad field exactly as it always has. Unknown fields pass through untouched
// (config.md: runtimes MUST ignore properties they do not recognise).
import { createRequire } from 'node:module';
import type * as Zod from 'zod';
import * as compiled from './generated/validators.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageLayout, ImageManifest } from './image.js';
import type { Spec, State } from './runtime.js';
import { buildImageSchemas, buildRuntimeSchemas } from './schemas.js';

export { isDigest } from './schemas.js';

/** Thrown by every validate function; `path` is the JSON path of the first bad field. */
export class SpecValidationError extends Error {
  readonly kind = 'InvalidArgument';
  constructor(
    /** e.g. `linux.namespaces[2].type`; empty when the document itself is wrong. */
    readonly path: string,
    /** The problem without the path, e.g. `invalid value "foo" (expected one of pid, ...)`. */
    readonly reason: string,
    /** Which document was being validated: `config.json`, `state`, `image manifest`... */
    readonly document: string,
  ) {
    super(path ? `${path}: ${reason}` : `${document}: ${reason}`);
    this.name = 'SpecValidationError';
  }
}

function loadZod(): typeof Zod {
  // A bundle (esbuild, CommonJS) and vitest both provide `require`; in a bundle esbuild
  // inlines zod behind this call and evaluates it only when it runs. Plain Node ESM
  // has no `require`, and `import.meta` would make esbuild warn in the CommonJS
  // bundles, so that case resolves zod from this file's own path.
  if (typeof require === 'function') return require('zod');
  return createRequire(ownFileName())('zod');
}

function ownFileName(): string {
  const saved = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_e, sites) => sites;
    const sites = new Error().stack as unknown as NodeJS.CallSite[];
    return sites[0]!.getFileName() ?? `${process.cwd()}/`;
  } finally {
    Error.prepareStackTrace = saved;
  }
}

// Built on the first invalid document, each family on its own.
let runtimeSchemas: ReturnType<typeof buildRuntimeSchemas> | undefined;
let imageSchemas: ReturnType<typeof buildImageSchemas> | undefined;
let zod: typeof Zod | undefined;

function runtime() {
  zod ??= loadZod();
  runtimeSchemas ??= buildRuntimeSchemas(zod);
  return runtimeSchemas;
}

function image() {
  zod ??= loadZod();
  imageSchemas ??= buildImageSchemas(zod);
  return imageSchemas;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let cur: unknown = doc;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key as string)) return { found: false, value: undefined };
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: cur };
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function reasonFor(issue: Zod.core.$ZodIssue, doc: unknown): string {
  const at = valueAt(doc, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      if (!at.found || at.value === undefined) return `required field missing (expected ${issue.expected})`;
      return `expected ${issue.expected}, got ${kindOf(at.value)} ${show(at.value)}`;
    case 'invalid_value': {
      const values = issue.values.map((v) => String(v));
      const expected = values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${values.join(', ')}`;
      return `invalid value ${show(at.value)} (expected ${expected})`;
    }
    case 'invalid_format':
    case 'custom':
      if (!at.found) return issue.message;
      return `invalid value ${show(at.value)} (${issue.message})`;
    case 'invalid_union': {
      const inner = issue.errors[0]?.[0];
      return inner ? reasonFor({ ...inner, path: [...issue.path, ...inner.path] }, doc) : issue.message;
    }
    default:
      return issue.message;
  }
}

function validate<T>(fast: compiled.Validator, schema: () => Zod.ZodType, doc: unknown, document: string): T {
  // The generated validator accepts exactly what the zod schema accepts (generate.ts
  // and validate.test.ts see to it), and a valid document is returned as it is.
  if (fast(doc)) return doc as T;
  const result = schema().safeParse(doc);
  if (result.success) return result.data as T;
  const issue = result.error.issues[0]!;
  throw new SpecValidationError(formatPath(issue.path), reasonFor(issue, doc), document);
}

/** Validates a runtime bundle's config.json. */
export function validateSpec(doc: unknown): Spec {
  return validate<Spec>(compiled.spec, () => runtime().spec, doc, 'config.json');
}

/** Validates a runtime state document (`runtime state ID`). */
export function validateState(doc: unknown): State {
  return validate<State>(compiled.state, () => runtime().state, doc, 'state');
}

export function validateDescriptor(doc: unknown): Descriptor {
  return validate<Descriptor>(compiled.descriptor, () => image().descriptor, doc, 'descriptor');
}

export function validateImageIndex(doc: unknown): ImageIndex {
  return validate<ImageIndex>(compiled.imageIndex, () => image().index, doc, 'image index');
}

export function validateImageManifest(doc: unknown): ImageManifest {
  return validate<ImageManifest>(compiled.imageManifest, () => image().manifest, doc, 'image manifest');
}

export function validateImageConfig(doc: unknown): ImageConfig {
  return validate<ImageConfig>(compiled.imageConfig, () => image().imageConfig, doc, 'image config');
}

/** Validates the `oci-layout` file of an image layout. */
export function validateImageLayout(doc: unknown): ImageLayout {
  return validate<ImageLayout>(compiled.imageLayout, () => image().layout, doc, 'oci-layout');
}
