// The container's filesystem, built by the init stage inside its new mount
// namespace (runc's rootfs_linux.go order): propagation, the rootfs bind, every
// config mount, /dev, then pivot_root (or MS_MOVE + chroot), and after it the
// read-only root, readonlyPaths and maskedPaths. Only synchronous fs calls are
// used: they run on the main thread, which alone is in the new mount namespace.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, posix } from 'node:path';
import type { Mount, Spec } from 'oci-spec-types';
import { invalid } from '../errors.js';
import { MNT_DETACH, MS, O, type Sys } from '../sys/index.js';
import { createDevices, DEV_SYMLINKS } from './devices.js';
import { PROPAGATION, parseMountOptions, pinMountTarget } from './mounts.js';
import { secureJoin } from './paths.js';

export interface RootfsContext {
  sys: Sys;
  spec: Spec;
  rootfs: string;
  /** cgroup hierarchies of the container: name ('' for cgroup2) → host directory. */
  cgroupPaths: Record<string, string>;
  cgroupNs: boolean;
}

function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o755 });
}

function ensureFile(path: string): void {
  if (existsSync(path)) return;
  ensureDir(dirname(path));
  closeSync(openSync(path, 'a', 0o644));
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The mount point that contains `path` in the current namespace (from mountinfo). */
function parentMount(path: string): string {
  let best = '/';
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    if ((path === mp || path.startsWith(mp === '/' ? '/' : `${mp}/`)) && mp.length > best.length) best = mp;
  }
  return best;
}

function inUserNs(spec: Spec): boolean {
  return (spec.linux?.namespaces ?? []).some((n) => n.type === 'user');
}

const LOCKABLE: Record<string, number> = { ro: MS.RDONLY, nosuid: MS.NOSUID, nodev: MS.NODEV, noexec: MS.NOEXEC };

/** The ro/nosuid/nodev/noexec flags of the mount at `path` (from mountinfo). */
function lockedFlags(path: string): number {
  const mp = parentMount(path);
  let flags = 0;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[4] !== mp) continue;
    flags = 0;
    for (const o of (f[5] ?? '').split(',')) flags |= LOCKABLE[o] ?? 0;
  }
  return flags;
}

export function prepareRootfs(ctx: RootfsContext): void {
  const { sys, spec, rootfs } = ctx;
  const prop = spec.linux?.rootfsPropagation;
  const rootFlag = prop ? PROPAGATION[prop] : MS.PRIVATE | MS.REC;
  if (prop && rootFlag === undefined) throw invalid(`config.json: linux.rootfsPropagation: invalid value "${prop}"`);
  // Nothing done below may propagate back to the host, and the rootfs must stay
  // bindable: shared becomes slave and unbindable private until after pivot_root,
  // when finalizeRootfs applies the configured propagation to the new /.
  const initial = rootFlag & MS.SHARED ? MS.SLAVE : rootFlag & MS.UNBINDABLE ? MS.PRIVATE : rootFlag & ~MS.REC;
  sys.mount(null, '/', null, initial | MS.REC, null);
  sys.mount(rootfs, rootfs, 'bind', MS.BIND | MS.REC, null);
  // pivot_root refuses a new root whose parent mount is shared.
  sys.mount(null, parentMount(dirname(rootfs)), null, MS.PRIVATE, null);

  for (const m of spec.mounts ?? []) {
    mountOne(ctx, m);
  }
  const devBind = (spec.mounts ?? []).some(
    (m) => posix.normalize(`/${m.destination}`) === '/dev' && (m.type === 'bind' || m.options?.some((o) => o === 'bind' || o === 'rbind')),
  );
  if (!devBind) {
    const dev = secureJoin(rootfs, '/dev');
    ensureDir(dev);
    createDevices(sys, dev, spec.linux?.devices ?? [], spec.process?.user, inUserNs(spec));
    for (const [link, target] of DEV_SYMLINKS) {
      const path = `${dev}/${link}`;
      if (link === 'core' && !existsSync('/proc/kcore')) continue;
      rmSync(path, { force: true });
      symlinkSync(target, path);
    }
    // The container's ptmx is its own devpts instance's (runc's setupPtmx).
    rmSync(`${dev}/ptmx`, { force: true });
    symlinkSync('pts/ptmx', `${dev}/ptmx`);
    if (spec.process?.terminal) ensureFile(`${dev}/console`);
  }
  if (spec.process?.cwd) {
    // Never under /proc (CVE-2024-21626's cwd /proc/self/fd/N): Node's recursive
    // mkdir loops forever there; finalizeAndExec then refuses a cwd outside the root.
    const cwd = secureJoin(rootfs, spec.process.cwd);
    if (!`${cwd}/`.startsWith(`${rootfs.replace(/\/+$/, '')}/proc/`)) ensureDir(cwd);
  }
}

function mountOne(ctx: RootfsContext, m: Mount): void {
  const { sys, rootfs } = ctx;
  if (!m.destination) throw invalid('config.json: mounts: a mount has no destination');
  const dest = secureJoin(rootfs, m.destination);
  const { flags, propagation, data } = parseMountOptions(m.options);
  const isBind = (flags & MS.BIND) !== 0 || m.type === 'bind';
  // Every mount(2) on the destination goes through a pinned fd (CVE-2021-30465, linux/mounts.ts).
  const pinned = (fn: (target: string) => void) => {
    const pin = pinMountTarget(sys, rootfs, dest, m.destination);
    try {
      fn(pin.target);
    } finally {
      pin.release();
    }
  };
  if (isBind) {
    const source = m.source ?? '';
    if (!existsSync(source)) throw invalid(`mount ${m.destination}: bind source ${source} does not exist`);
    if (isDir(source)) ensureDir(dest);
    else ensureFile(dest);
    pinned((target) => sys.mount(source, target, 'bind', MS.BIND | (flags & MS.REC), null));
    const extra = flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
    if (extra) {
      pinned((target) => {
        try {
          sys.mount(source, target, 'bind', extra | MS.BIND | MS.REMOUNT | (flags & MS.REC), null);
        } catch (err: any) {
          // In a user namespace the flags of a mount inherited from the host are locked:
          // a remount must keep them (runc retries the same way).
          const locked = err?.code === 'EPERM' ? lockedFlags(dest) : 0;
          if (!locked) throw err;
          sys.mount(source, target, 'bind', extra | locked | MS.BIND | MS.REMOUNT | (flags & MS.REC), null);
        }
      });
    }
  } else if (m.type === 'cgroup' || m.type === 'cgroup2') {
    mountCgroup(ctx, dest, flags);
  } else if (m.type === 'sysfs' && inUserNs(ctx.spec)) {
    ensureDir(dest);
    try {
      sys.mount(m.source ?? 'sysfs', dest, 'sysfs', flags, data || null);
    } catch (err: any) {
      // A user namespace without its own network namespace may not mount sysfs:
      // bind the host's /sys instead, with the flags asked for (runc's fallback).
      if (err?.code !== 'EPERM') throw err;
      sys.mount('/sys', dest, 'bind', MS.BIND | MS.REC, null);
      const extra = flags & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC);
      if (extra) sys.mount('/sys', dest, 'bind', extra | lockedFlags(dest) | MS.BIND | MS.REMOUNT, null);
    }
  } else {
    ensureDir(dest);
    pinned((target) => sys.mount(m.source ?? m.type ?? 'none', target, m.type ?? null, flags, data || null));
  }
  if (propagation.length) pinned((target) => {
    for (const p of propagation) sys.mount(null, target, null, p, null);
  });
}

// A cgroup mount shows the container its own cgroups: the cgroup namespace root
// when it has one, else bind mounts of its cgroup directories (runc's approach for
// v1: a tmpfs with one directory per hierarchy).
function mountCgroup(ctx: RootfsContext, dest: string, flags: number): void {
  const { sys, cgroupPaths } = ctx;
  const ro = flags & MS.RDONLY;
  const base = flags & (MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME);
  ensureDir(dest);
  if (Object.keys(cgroupPaths).length === 1 && '' in cgroupPaths) {
    if (ctx.cgroupNs) sys.mount('cgroup2', dest, 'cgroup2', flags, null);
    else {
      sys.mount(cgroupPaths[''], dest, 'bind', MS.BIND, null);
      sys.mount(cgroupPaths[''], dest, 'bind', MS.BIND | MS.REMOUNT | base | ro, null);
    }
    return;
  }
  sys.mount('tmpfs', dest, 'tmpfs', base, 'mode=755');
  for (const [name, hostDir] of Object.entries(cgroupPaths)) {
    const sub = `${dest}/${name === '' ? 'unified' : name.replace(/^name=/, '')}`;
    ensureDir(sub);
    sys.mount(hostDir, sub, 'bind', MS.BIND, null);
    sys.mount(hostDir, sub, 'bind', MS.BIND | MS.REMOUNT | base | ro, null);
    // A co-mounted hierarchy (cpu,cpuacct) is also reachable by each name.
    if (name.includes(',')) for (const alias of name.split(',')) if (!existsSync(`${dest}/${alias}`)) symlinkSync(name, `${dest}/${alias}`);
  }
  if (ro) sys.mount('tmpfs', dest, 'tmpfs', MS.REMOUNT | base | MS.RDONLY, 'mode=755');
}

export function pivotRoot(sys: Sys, rootfs: string, noPivot: boolean): void {
  sys.chdir(rootfs);
  if (noPivot) {
    sys.mount(rootfs, '/', null, MS.MOVE, null);
    sys.chroot('.');
  } else {
    const oldRoot = sys.open('/', O.DIRECTORY | O.RDONLY | O.CLOEXEC);
    try {
      sys.pivotRoot('.', '.');
      // The old root is now stacked on the new one. Make it (and only it) a slave
      // so detaching it cannot propagate to the host.
      sys.fchdir(oldRoot);
      sys.mount(null, '.', null, MS.SLAVE | MS.REC, null);
      sys.umount2('.', MNT_DETACH);
    } finally {
      sys.close(oldRoot);
    }
  }
  sys.chdir('/');
}

/** After pivot_root: rootfsPropagation, the read-only root, readonlyPaths, maskedPaths. */
export function finalizeRootfs(sys: Sys, spec: Spec): void {
  const prop = spec.linux?.rootfsPropagation;
  if (prop) sys.mount(null, '/', null, PROPAGATION[prop], null);
  if (spec.root?.readonly) sys.mount(null, '/', null, MS.BIND | MS.REMOUNT | MS.RDONLY, null);
  for (const p of spec.linux?.readonlyPaths ?? []) {
    if (!existsSync(p)) continue;
    sys.mount(p, p, null, MS.BIND | MS.REC, null);
    sys.mount(p, p, null, MS.BIND | MS.REMOUNT | MS.RDONLY, null);
  }
  for (const p of spec.linux?.maskedPaths ?? []) {
    if (!existsSync(p)) continue;
    if (isDir(p)) sys.mount('tmpfs', p, 'tmpfs', MS.RDONLY, null);
    else sys.mount('/dev/null', p, null, MS.BIND, null);
  }
}
