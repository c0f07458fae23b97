// The few syscalls Node lacks (mknod, xattrs, mount), declared through koffi and
// loaded on first use. The unpacker takes them through the `Sys` interface so unit
// tests can record calls instead of needing root.
import koffi from 'koffi';

export interface Sys {
  /** mode includes the file type bits (S_IFCHR, S_IFBLK, S_IFIFO). */
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Buffer): void;
  lgetxattr(path: string, name: string): Buffer | undefined;
  llistxattr(path: string): string[];
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  umount(target: string, flags?: number): void;
}

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const MS_RDONLY = 1;
export const MS_BIND = 4096;
export const MS_REMOUNT = 32;
export const MNT_DETACH = 2;

const ERRNO: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 13: 'EACCES', 17: 'EEXIST', 22: 'EINVAL', 61: 'ENODATA', 95: 'EOPNOTSUPP', 16: 'EBUSY', 34: 'ERANGE' };

export class SysError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
    readonly path: string,
  ) {
    const code = ERRNO[errno] ?? `errno ${errno}`;
    super(`${call} ${path}: ${code}`);
    (this as unknown as { code: string }).code = code;
  }
}

interface Fns {
  mknod: (p: string, m: number, d: bigint) => number;
  lsetxattr: (p: string, n: string, v: Buffer, s: number, f: number) => number;
  lgetxattr: (p: string, n: string, v: Buffer | null, s: number) => number;
  llistxattr: (p: string, v: Buffer | null, s: number) => number;
  mount: (s: string, t: string, f: string, fl: number, d: string | null) => number;
  umount2: (t: string, f: number) => number;
}

let fns: Fns | undefined;
function load(): Fns {
  if (fns) return fns;
  const libc = koffi.load('libc.so.6');
  fns = {
    mknod: libc.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
    lsetxattr: libc.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)'),
    lgetxattr: libc.func('long lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)'),
    llistxattr: libc.func('long llistxattr(const char *path, _Out_ void *list, size_t size)'),
    mount: libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
    umount2: libc.func('int umount2(const char *target, int flags)'),
  } as unknown as Fns;
  return fns;
}

function check(r: number, call: string, path: string): number {
  if (r < 0) throw new SysError(call, koffi.errno(), path);
  return r;
}

export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n) | ((ma & ~0xfffn) << 32n);
}

export const linuxSys: Sys = {
  mknod(path, mode, major, minor) {
    check(load().mknod(path, mode, makedev(major, minor)), 'mknod', path);
  },
  lsetxattr(path, name, value) {
    check(load().lsetxattr(path, name, value, value.length, 0), `lsetxattr ${name}`, path);
  },
  lgetxattr(path, name) {
    const f = load();
    for (;;) {
      const n = f.lgetxattr(path, name, null, 0);
      if (n < 0) {
        const e = koffi.errno();
        if (e === 61) return undefined;
        throw new SysError(`lgetxattr ${name}`, e, path);
      }
      const buf = Buffer.alloc(n);
      const m = f.lgetxattr(path, name, buf, n);
      if (m < 0 && koffi.errno() === 34) continue; // grew in between
      check(m, `lgetxattr ${name}`, path);
      return buf.subarray(0, m);
    }
  },
  llistxattr(path) {
    const f = load();
    const n = f.llistxattr(path, null, 0);
    if (n < 0) {
      if (koffi.errno() === 95) return [];
      check(n, 'llistxattr', path);
    }
    if (n === 0) return [];
    const buf = Buffer.alloc(n);
    const m = check(f.llistxattr(path, buf, n), 'llistxattr', path);
    return buf.subarray(0, m).toString('utf8').split('\0').filter(Boolean);
  },
  mount(source, target, fstype, flags, data) {
    check(load().mount(source, target, fstype, flags, data || null), `mount ${fstype}`, target);
  },
  umount(target, flags = 0) {
    check(load().umount2(target, flags), 'umount', target);
  },
};
