// OCI mount options → mount(2) flags, propagation changes and filesystem data,
// following the option names runc accepts (`runc features` lists them).
import { invalid } from '../errors.js';
import { MS, type Sys } from '../sys/index.js';

const SET: Record<string, number> = {
  bind: MS.BIND,
  rbind: MS.BIND | MS.REC,
  dirsync: MS.DIRSYNC,
  iversion: MS.I_VERSION,
  lazytime: MS.LAZYTIME,
  mand: MS.MANDLOCK,
  noatime: MS.NOATIME,
  nodev: MS.NODEV,
  nodiratime: MS.NODIRATIME,
  noexec: MS.NOEXEC,
  nosuid: MS.NOSUID,
  nosymfollow: MS.NOSYMFOLLOW,
  relatime: MS.RELATIME,
  remount: MS.REMOUNT,
  ro: MS.RDONLY,
  silent: MS.SILENT,
  strictatime: MS.STRICTATIME,
  sync: MS.SYNCHRONOUS,
};

const CLEAR: Record<string, number> = {
  async: MS.SYNCHRONOUS,
  atime: MS.NOATIME,
  defaults: 0,
  dev: MS.NODEV,
  diratime: MS.NODIRATIME,
  exec: MS.NOEXEC,
  loud: MS.SILENT,
  noiversion: MS.I_VERSION,
  nolazytime: MS.LAZYTIME,
  nomand: MS.MANDLOCK,
  norelatime: MS.RELATIME,
  nostrictatime: MS.STRICTATIME,
  rw: MS.RDONLY,
  suid: MS.NOSUID,
  symfollow: MS.NOSYMFOLLOW,
};

export const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

// Recursive attributes (mount_setattr in runc): applied here as the plain flag on
// the mount itself.
const RECURSIVE: Record<string, string> = {
  rro: 'ro',
  rrw: 'rw',
  rnosuid: 'nosuid',
  rsuid: 'suid',
  rnodev: 'nodev',
  rdev: 'dev',
  rnoexec: 'noexec',
  rexec: 'exec',
  rnoatime: 'noatime',
  ratime: 'atime',
  rrelatime: 'relatime',
  rnorelatime: 'norelatime',
  rstrictatime: 'strictatime',
  rnostrictatime: 'nostrictatime',
  rnodiratime: 'nodiratime',
  rdiratime: 'diratime',
  rnosymfollow: 'nosymfollow',
  rsymfollow: 'symfollow',
};

const IGNORED = new Set(['tmpcopyup', 'idmap', 'ridmap']);

export interface ParsedOptions {
  flags: number;
  propagation: number[];
  data: string;
}

export function parseMountOptions(options: string[] = []): ParsedOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  for (let o of options) {
    o = RECURSIVE[o] ?? o;
    if (o in SET) flags |= SET[o];
    else if (o in CLEAR) flags &= ~CLEAR[o];
    else if (o in PROPAGATION) propagation.push(PROPAGATION[o]);
    else if (!IGNORED.has(o)) data.push(o);
  }
  return { flags, propagation, data: data.join(',') };
}

export const MOUNT_OPTION_NAMES = [
  ...Object.keys(SET),
  ...Object.keys(CLEAR),
  ...Object.keys(PROPAGATION),
  ...Object.keys(RECURSIVE),
  'tmpcopyup',
].sort();

/**
 * CVE-2021-30465: a mount destination resolved safely (secureJoin) can still be
 * swapped for a symlink before mount(2) resolves it again, by a process sharing the
 * rootfs, and the mount then lands outside the container. As runc does since 1.0.0-rc95,
 * the destination is opened once (O_PATH), the object it resolved to is checked to be
 * inside the rootfs, and mount(2) is given /proc/self/fd/N, which names that object
 * and no path. Returns the target to pass to mount(2) and its release.
 */
export function pinMountTarget(sys: Sys, rootfs: string, dest: string, what: string): { target: string; release(): void } {
  const pinned = sys.pinPath(dest);
  const root = rootfs.replace(/\/+$/, '') || '/';
  if (root !== '/' && pinned.real !== root && !pinned.real.startsWith(`${root}/`)) {
    pinned.release();
    throw invalid(`mount ${what}: possibly malicious path detected: ${dest} now resolves to ${pinned.real}, outside the rootfs -- refusing to mount`);
  }
  return pinned;
}
