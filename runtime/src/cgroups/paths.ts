// Where a container's cgroup lives in each hierarchy: cgroupsPath resolution as
// runc does it (config-linux.md "Cgroups path"), over the hierarchies found in
// /proc/self/mountinfo and the runtime's own cgroup from /proc/self/cgroup.
import { posix } from 'node:path';
import { CgroupError, type CgroupFs } from './types.js';

export interface Hierarchy {
  /** v1 controllers (`cpu`, `memory`...), `name=systemd` for a named one, [] for cgroup2. */
  controllers: string[];
  mountpoint: string;
  /** The cgroup at the mountpoint (mountinfo field 4), `/` unless mounted from inside a cgroup. */
  root: string;
  version: 1 | 2;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/** The cgroup hierarchies mounted at or under `root`. */
export function findHierarchies(fs: CgroupFs, root: string): Hierarchy[] {
  const out: Hierarchy[] = [];
  for (const line of fs.read('/proc/self/mountinfo').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const mountpoint = unescapeMount(pre[4] ?? '');
    if (mountpoint !== root && !mountpoint.startsWith(`${root}/`)) continue;
    const controllers =
      fstype === 'cgroup2'
        ? []
        : superOpts.split(',').filter((o) => !['rw', 'ro', 'nsdelegate', 'noprefix', 'xattr', 'clone_children', 'cpuset_v2_mode'].includes(o) && !o.startsWith('release_agent='));
    out.push({ controllers, mountpoint, root: unescapeMount(pre[3] ?? '/'), version: fstype === 'cgroup2' ? 2 : 1 });
  }
  return out;
}

/** /proc/self/cgroup: controller (or `name=systemd`, or `` for cgroup2) → the runtime's own cgroup. */
export function ownCgroups(fs: CgroupFs): Map<string, string> {
  const own = new Map<string, string>();
  for (const line of fs.read('/proc/self/cgroup').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '') own.set('', m[2]!);
    else for (const c of m[1]!.split(',')) own.set(c, m[2]!);
  }
  return own;
}

/**
 * Normalises linux.cgroupsPath: empty → `/berth/<id>`; absolute stays; relative is
 * kept relative (joined later to the runtime's own cgroup, as runc does); the
 * systemd driver's `slice:prefix:name` is refused since berth has no systemd driver.
 */
export function normaliseCgroupsPath(cgroupsPath: string | undefined, id: string): { path: string; relative: boolean } {
  if (!cgroupsPath) {
    if (!id || id.includes('/') || id === '.' || id === '..') throw new CgroupError('InvalidArgument', `invalid container id ${JSON.stringify(id)} for a cgroup name`);
    return { path: `/berth/${id}`, relative: false };
  }
  if (/^[^/:]*:[^/:]*:[^/:]*$/.test(cgroupsPath)) {
    throw new CgroupError(
      'InvalidArgument',
      `cgroupsPath ${JSON.stringify(cgroupsPath)} is a systemd slice:prefix:name path; berth-runtime has no systemd cgroup driver, use a path like /berth/${id}`,
    );
  }
  if (cgroupsPath.includes('\0')) throw new CgroupError('InvalidArgument', 'cgroupsPath contains a NUL byte');
  const relative = !cgroupsPath.startsWith('/');
  const path = posix.normalize(relative ? `/${cgroupsPath}` : cgroupsPath);
  // normalize() of an absolute path cannot climb above `/`, so `..` cannot escape the hierarchy.
  if (path === '/') throw new CgroupError('InvalidArgument', `cgroupsPath ${JSON.stringify(cgroupsPath)} names the root cgroup`);
  return { path: relative ? path.slice(1) : path.replace(/\/+$/, ''), relative };
}

/** The directory of the container's cgroup in one hierarchy. */
export function dirIn(h: Hierarchy, own: string | undefined, p: { path: string; relative: boolean }): string {
  if (!p.relative) return posix.join(h.mountpoint, p.path);
  // Relative: below the runtime's own cgroup, expressed from the mount's root.
  const base = own ?? '/';
  const fromMount = h.root !== '/' && (base === h.root || base.startsWith(`${h.root}/`)) ? base.slice(h.root.length) : base;
  return posix.join(h.mountpoint, fromMount, p.path);
}
