// Container state under --root: one directory per container holding state.json
// (written atomically) and, while the container is created but not started, the
// exec.fifo its init blocks on (runc's layout). Status is derived, never stored:
// created iff the fifo exists and the init is alive, paused iff frozen.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hooks } from 'oci-spec-types';
import { invalid, notFound } from '../errors.js';

export type Status = 'creating' | 'created' | 'running' | 'stopped' | 'paused';

export interface SavedState {
  ociVersion: string;
  id: string;
  /** The init's pid on the host. */
  pid: number;
  /** Field 22 of /proc/PID/stat when created, so a reused pid is not mistaken for the init. */
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  cgroupsPath?: string;
  /** Namespace paths of the init (or the joined paths) for exec. */
  namespaces: Record<string, string>;
  /** Whether the init is in a new pid namespace (then killing it kills everything). */
  newPidNs: boolean;
  /** The hooks run after create (poststart by start, poststop by delete), kept as create saw them. */
  hooks?: Pick<Hooks, 'poststart' | 'poststop'>;
}

/** The state document `state` prints (runtime-spec state plus runc's rootfs/created/owner). */
export interface OciState {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

const ID_RE = /^[\w+.-]+$/;

export function checkId(id: string): void {
  if (!ID_RE.test(id) || id === '.' || id === '..') throw invalid(`invalid id format: ${id}`);
}

export function containerDir(root: string, id: string): string {
  checkId(id);
  return join(root, id);
}

export const fifoPath = (dir: string) => join(dir, 'exec.fifo');

export function writeAtomic(path: string, data: string, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}

export function saveState(dir: string, s: SavedState): void {
  writeAtomic(join(dir, 'state.json'), JSON.stringify(s));
}

export function loadState(root: string, id: string): SavedState {
  const dir = containerDir(root, id);
  let saved: unknown;
  try {
    saved = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
  } catch (err: any) {
    if (err?.code === 'ENOENT') throw notFound('container does not exist');
    throw invalid(`container ${id}: cannot read ${join(dir, 'state.json')}: ${err?.message ?? err}`);
  }
  // Another runtime (runc) may keep its state dirs under the same --root.
  if (!isSavedState(saved)) throw invalid(`container ${id}: ${join(dir, 'state.json')} is not a berth-runtime state file`);
  return saved;
}

function isSavedState(v: any): v is SavedState {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.id === 'string' &&
    Number.isInteger(v.pid) &&
    typeof v.bundle === 'string' &&
    typeof v.created === 'string' &&
    typeof v.namespaces === 'object' &&
    v.namespaces !== null
  );
}

export function listIds(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(root, e.name, 'state.json')))
      .map((e) => e.name)
      .sort();
  } catch (err: any) {
    if (err?.code === 'ENOENT') return [];
    throw err;
  }
}

export function ensureRoot(root: string): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
}

/** Field 22 (starttime) of /proc/PID/stat, and the state letter; undefined if gone. */
export function procStat(pid: number): { start: string; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], start: fields[19] };
  } catch {
    return undefined;
  }
}

/** True while the saved init is alive (not a zombie, not a reused pid). */
export function initAlive(s: SavedState): boolean {
  if (!s.pid) return false;
  const st = procStat(s.pid);
  return !!st && st.start === s.pidStartTime && st.state !== 'Z' && st.state !== 'X';
}

export function computeStatus(root: string, s: SavedState, frozen: () => boolean): Status {
  if (!initAlive(s)) return 'stopped';
  if (existsSync(fifoPath(join(root, s.id)))) return 'created';
  return frozen() ? 'paused' : 'running';
}

export function toOciState(s: SavedState, status: Status): OciState {
  const out: OciState = {
    ociVersion: s.ociVersion,
    id: s.id,
    pid: status === 'stopped' ? 0 : s.pid,
    status,
    bundle: s.bundle,
    rootfs: s.rootfs,
    created: s.created,
    owner: s.owner,
  };
  if (s.annotations && Object.keys(s.annotations).length) out.annotations = s.annotations;
  return out;
}
