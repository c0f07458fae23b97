// User namespaces. Node cannot enter one (it is multi-threaded), so the stage that
// must run inside it is started through berth-nsexec (runtime/native/nsexec.c), a
// single-threaded helper shipped beside the bundle: it unshares or joins the user
// namespace, waits for this side to write the id maps, becomes root there, unshares
// the pid namespace when it is new (the user namespace must own it for proc to be
// mountable) and forks the Node stage as its pid 1, or execs the stage itself when
// there is no new pid namespace (exec, or a joined one). Everything else stays in
// TypeScript.
import { existsSync, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { invalid } from '../errors.js';

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** What the init's user namespace is: none, new (with its maps) or joined by path. */
export type UserNamespace =
  | { mode: 'none' }
  | { mode: 'new'; uidMappings: IdMapping[]; gidMappings: IdMapping[] }
  | { mode: 'join'; path: string };

// The kernel's limit on lines in uid_map/gid_map (since Linux 4.15).
const MAX_MAP_LINES = 340;
const MAX_ID = 2 ** 32 - 1;

function checkMappings(field: string, raw: unknown): IdMapping[] {
  if (!Array.isArray(raw)) throw invalid(`config.json: linux.${field}: must be an array`);
  if (raw.length === 0) throw invalid(`config.json: linux.${field}: must not be empty with a new user namespace`);
  if (raw.length > MAX_MAP_LINES) throw invalid(`config.json: linux.${field}: at most ${MAX_MAP_LINES} entries`);
  const maps = raw.map((m: any, i: number) => {
    for (const k of ['containerID', 'hostID', 'size'] as const) {
      const v = m?.[k];
      if (!Number.isInteger(v) || v < 0 || v > MAX_ID || (k === 'size' && v === 0)) {
        throw invalid(`config.json: linux.${field}[${i}].${k}: must be ${k === 'size' ? 'a positive' : 'a non-negative'} 32-bit integer`);
      }
    }
    if (m.containerID + m.size - 1 > MAX_ID || m.hostID + m.size - 1 > MAX_ID) {
      throw invalid(`config.json: linux.${field}[${i}]: the range passes the largest id`);
    }
    return { containerID: m.containerID, hostID: m.hostID, size: m.size } as IdMapping;
  });
  // The kernel refuses overlapping ranges on either side with a bare EINVAL; name them.
  for (let i = 0; i < maps.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = maps[i];
      const b = maps[j];
      for (const side of ['containerID', 'hostID'] as const) {
        if (a[side] < b[side] + b.size && b[side] < a[side] + a.size) {
          throw invalid(`config.json: linux.${field}[${i}] overlaps linux.${field}[${j}] (${side} ranges)`);
        }
      }
    }
  }
  if (!maps.some((m) => m.containerID === 0)) {
    throw invalid(`config.json: linux.${field}: does not map id 0, which the container's init needs to set itself up`);
  }
  return maps;
}

/** Reads the user namespace from a raw (not yet validated) config.json `linux` object. */
export function userNamespaceOf(linux: any): UserNamespace {
  const nss = Array.isArray(linux?.namespaces) ? linux.namespaces : [];
  const users = nss.filter((n: any) => n?.type === 'user');
  const hasMaps = linux?.uidMappings !== undefined || linux?.gidMappings !== undefined;
  if (users.length === 0) {
    if (hasMaps) throw invalid('config.json: linux.uidMappings/gidMappings are set, but linux.namespaces has no user namespace');
    return { mode: 'none' };
  }
  if (users.length > 1) throw invalid('config.json: linux.namespaces: the user namespace is listed more than once');
  const path = users[0].path;
  if (path !== undefined && path !== '') {
    if (typeof path !== 'string') throw invalid('config.json: linux.namespaces: the user namespace path must be a string');
    if (!existsSync(path)) throw invalid(`config.json: linux.namespaces: user namespace path ${path} does not exist`);
    return { mode: 'join', path };
  }
  if (linux?.uidMappings === undefined) throw invalid('config.json: linux.uidMappings is missing: a new user namespace needs uid and gid mappings');
  if (linux?.gidMappings === undefined) throw invalid('config.json: linux.gidMappings is missing: a new user namespace needs uid and gid mappings');
  return { mode: 'new', uidMappings: checkMappings('uidMappings', linux.uidMappings), gidMappings: checkMappings('gidMappings', linux.gidMappings) };
}

function formatMap(maps: IdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/**
 * Writes the maps of the process `pid`'s new user namespace. As root in the parent
 * namespace this needs no `setgroups deny` (only an unprivileged writer does; runc
 * writes it only when rootless).
 */
export function writeIdMappings(pid: number, uid: IdMapping[], gid: IdMapping[]): void {
  for (const [file, field, maps] of [
    ['uid_map', 'uidMappings', uid],
    ['gid_map', 'gidMappings', gid],
  ] as const) {
    try {
      writeFileSync(`/proc/${pid}/${file}`, formatMap(maps));
    } catch (err: any) {
      throw invalid(`cannot apply linux.${field} to the container's user namespace: ${err?.code ?? err?.message ?? err}`);
    }
  }
}

/** berth-nsexec, beside the script of the stage command (the bundle's directory). */
export function nsexecPath(stageCommand: readonly string[]): string {
  let dir: string;
  try {
    dir = dirname(realpathSync(stageCommand[1] ?? stageCommand[0]));
  } catch {
    dir = dirname(stageCommand[1] ?? stageCommand[0]);
  }
  const path = join(dir, 'berth-nsexec');
  if (!existsSync(path)) {
    throw invalid(`user namespaces need the berth-nsexec helper beside berth-runtime (${path} is missing; build it with scripts/build.mjs)`);
  }
  return path;
}

/** `path` and every directory above it, root first. */
function withAncestors(path: string): string[] {
  const out = [path];
  for (let d = dirname(path); d !== out[0]; d = dirname(d)) out.unshift(d);
  return out;
}

/**
 * The stage is Node running this runtime's own script as the container's root (the
 * host ids container 0 maps to; berth-nsexec becomes it before exec), so that id must
 * be able to enter the directories on the way and read the script and its siblings.
 * Else Node fails inside the namespace with a bare "Cannot find module" (runc has no
 * such need: it re-executes itself through /proc/self/exe). Checked from the mode bits
 * only, for a clear error before anything starts.
 */
export function checkStageReachable(stageCommand: readonly string[], userns: UserNamespace): void {
  if (userns.mode !== 'new' || !stageCommand[1]) return;
  const uid = userns.uidMappings.find((m) => m.containerID === 0)?.hostID ?? 0;
  const gid = userns.gidMappings.find((m) => m.containerID === 0)?.hostID ?? 0;
  if (uid === 0) return;
  const script = resolve(stageCommand[1]);
  let real: string;
  try {
    real = realpathSync(script);
  } catch {
    return;
  }
  const allows = (path: string, bit: number): boolean => {
    const st = statSync(path);
    const bits = st.uid === uid ? st.mode >> 6 : st.gid === gid ? st.mode >> 3 : st.mode;
    return (bits & bit) !== 0;
  };
  const dirs = new Set([...withAncestors(dirname(script)), ...withAncestors(dirname(real))]);
  const files = [real, ...readdirSync(dirname(real)).filter((f) => /\.(cjs|node)$/.test(f)).map((f) => join(dirname(real), f))];
  for (const [paths, bit, verb] of [[[...dirs], 1, 'enter'], [files, 4, 'read']] as const) {
    for (const p of paths) {
      if (!allows(p, bit)) {
        throw invalid(
          `the container's root (host uid ${uid}, gid ${gid}) cannot ${verb} ${p}, and berth-runtime runs ${script} as that user inside the new user namespace: install berth-runtime where every user can read it (directories o+x, files o+r)`,
        );
      }
    }
  }
}

/**
 * The helper's arguments in front of a stage command. `newPidNs`: it also unshares
 * the pid namespace and forks the stage as its pid 1; `wait`: it then waits for it
 * and exits the same way (else it exits at once and the caller's subreaper reaps it).
 */
export function nsexecPrefix(helper: string, syncFd: number, userns: UserNamespace, newPidNs: boolean, wait: boolean): string[] {
  const args = [helper, '-s', String(syncFd)];
  if (userns.mode === 'new') args.push('-U');
  else if (userns.mode === 'join') args.push('-u', userns.path);
  if (newPidNs) args.push('-p');
  if (newPidNs && wait) args.push('-w');
  args.push('--');
  return args;
}
