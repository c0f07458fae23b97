// The OCI runtime-spec and image-spec types, with validation.
//
// validateSpec(doc) returns a typed Spec or throws SpecValidationError whose
// `path` is the JSON path of the first bad field (e.g. `linux.namespaces[2].type`)
// and whose message names it: `linux.namespaces[2].type: invalid value "foo" (expected one of pid, ...)`.
// Importing this module is cheap: zod and the schemas load on the first validate call.
export * from './runtime.js';
export * from './image.js';
export * from './validate.js';
