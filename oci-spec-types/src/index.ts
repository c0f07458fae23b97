// The OCI runtime-spec and image-spec types, with validation.
//
// validateSpec(doc) returns a typed Spec or throws SpecValidationError whose
// `path` is the JSON path of the first bad field (e.g. `linux.namespaces[2].type`)
// and whose message names it: `linux.namespaces[2].type: invalid value "foo" (expected one of pid, ...)`.
// Validating is cheap: a good document is checked by code generated at build time from
// the zod schemas (src/generated/, `pnpm --filter oci-spec-types generate`); zod loads
// only to explain a bad one.
export * from './runtime.js';
export * from './image.js';
export * from './validate.js';
export { DEFAULT_CAPABILITIES, DEFAULT_READONLY_PATHS } from './defaults.js';
