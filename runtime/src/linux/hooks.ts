// OCI hooks (config.md "POSIX-platform Hooks", runtime.md lifecycle): each hook is
// an absolute path run with its own args and env (nothing inherited), the
// container state JSON on stdin and an optional timeout in seconds. Which process
// runs them decides their namespaces: the runtime for prestart, createRuntime,
// poststart and poststop; the container's init for createContainer (before
// pivot_root, so the path resolves on the host's tree) and startContainer (after
// it, so the path resolves in the container).
import { spawnSync } from 'node:child_process';
import type { Hook, Hooks } from 'oci-spec-types';
import { invalid } from '../errors.js';
import { logWarn } from '../log.js';

export type HookKind = keyof Hooks & ('prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop');
export const HOOK_KINDS: HookKind[] = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

/** The parent's checks before anything starts: absolute paths and sane timeouts. */
export function checkHooks(hooks: Hooks | undefined): void {
  for (const kind of HOOK_KINDS) {
    for (const [i, h] of (hooks?.[kind] ?? []).entries()) {
      if (!h.path.startsWith('/')) throw invalid(`config.json: hooks.${kind}[${i}].path: "${h.path}" is not an absolute path`);
      if (h.timeout !== undefined && !(h.timeout > 0)) throw invalid(`config.json: hooks.${kind}[${i}].timeout: must be a positive number of seconds`);
    }
  }
}

function tail(text: string): string {
  const t = text.trim();
  return t.length > 500 ? `…${t.slice(-500)}` : t;
}

/** Runs one hook to completion; throws an error naming the hook when it fails. */
export function runHook(kind: HookKind, index: number, hook: Hook, state: unknown): void {
  const env: Record<string, string> = {};
  for (const e of hook.env ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  const r = spawnSync(hook.path, (hook.args ?? []).slice(1), {
    argv0: hook.args?.[0] ?? hook.path,
    env,
    input: JSON.stringify(state),
    encoding: 'utf8',
    timeout: hook.timeout ? hook.timeout * 1000 : undefined,
    killSignal: 'SIGKILL',
    maxBuffer: 1 << 20,
  });
  const name = `${kind} hook #${index} (${hook.path})`;
  // A hook need not read its stdin: the EPIPE of writing the state to it is no failure.
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') r.error = undefined;
  const output = [r.stdout && `stdout: ${tail(r.stdout)}`, r.stderr && `stderr: ${tail(r.stderr)}`].filter(Boolean).join(', ');
  const withOutput = (msg: string) => (output ? `${msg}; ${output}` : msg);
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    throw new Error(withOutput(`${name}: timed out after ${hook.timeout}s`));
  }
  if (r.error) throw new Error(`${name}: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : r.error.message}`);
  if (r.signal) throw new Error(withOutput(`${name}: killed by ${r.signal}`));
  if (r.status !== 0) throw new Error(withOutput(`${name}: exit status ${r.status}`));
}

/** Runs the hooks of one kind in order, stopping at the first failure (create-time hooks). */
export function runHooks(kind: HookKind, hooks: Hooks | undefined, state: unknown): void {
  for (const [i, h] of (hooks?.[kind] ?? []).entries()) runHook(kind, i, h, state);
}

/** poststart and poststop: a failure is logged as a warning and the rest still run. */
export function runHooksWarn(kind: HookKind, hooks: Hooks | undefined, state: unknown): void {
  for (const [i, h] of (hooks?.[kind] ?? []).entries()) {
    try {
      runHook(kind, i, h, state);
    } catch (err: any) {
      logWarn(err?.message ?? String(err));
    }
  }
}
