// berth-runtime as a library: the same lifecycle the CLI drives, callable
// in-process (the shim uses state/kill/delete without starting a Node per call).
// create and exec spawn their stage from `stageCommand` (default: this Node and
// process.argv[1]); a caller that is not the berth-runtime CLI passes
// [process.execPath, '/path/to/berth-runtime.cjs'].
export { type Created, type CreateOptions, create, type Exit } from './container/create.js';
export { type ExecOptions, type Executed, exec } from './container/exec.js';
export { destroy as delete, destroy, kill, list, load, pause, pids, resume, start, state } from './container/lifecycle.js';
export type { OciState, Status } from './container/state.js';
export { defaultSpec, features } from './container/spec.js';
export { type ErrorKind, RuntimeError } from './errors.js';
export { parseSignal } from './linux/signals.js';
