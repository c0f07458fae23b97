// The OCI runtime-spec and image-spec types, with validation. This file fixes the
// package's public surface; runtime.ts, image.ts and validate.ts fill it in.
//
// validateSpec(doc) returns a typed Spec or throws SpecValidationError whose
// `path` is the JSON path of the first bad field (e.g. `linux.namespaces[2].type`)
// and whose message names it: `linux.namespaces[2].type: invalid value "foo"`.
export {};
