// Native calls of the cgroup code, kept apart from the Sys interface (which the
// container stages use): eventfd(2) for v1 OOM notifications and bpf(2) for the v2
// device controller program. Loaded only by the commands that need them.
import { constants as fsConstants, openSync } from 'node:fs';
import { constants } from 'node:os';
import koffi from 'koffi';
import { SysError } from './index.js';

const NR_BPF: Record<string, number> = { x64: 321, arm64: 280 };

export const EFD_CLOEXEC = 0o2000000;

export interface CgroupNative {
  eventfd(initval: number, flags: number): number;
  /** bpf(cmd, attr, sizeof attr); returns the syscall's non-negative result. */
  bpf(cmd: number, attr: Buffer): number;
  close(fd: number): void;
  /** The address of a buffer's memory, for pointers inside bpf_attr. */
  address(buf: Buffer): bigint;
  /** An O_RDONLY|O_DIRECTORY fd of `path` (a cgroup directory for BPF_PROG_ATTACH). */
  openDir(path: string): number;
}

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno)) if (!errnoNames.has(num)) errnoNames.set(num, name);

let loaded: CgroupNative | undefined;

export function loadCgroupNative(): CgroupNative {
  if (loaded) return loaded;
  const nr = NR_BPF[process.arch];
  const libc = koffi.load('libc.so.6');
  const f = {
    eventfd: libc.func('int eventfd(unsigned int initval, int flags)'),
    syscall: libc.func('long syscall(long nr, long cmd, void *attr, unsigned long size)'),
    close: libc.func('int close(int fd)'),
    strerror: libc.func('const char *strerror(int errnum)'),
  };
  const fail = (syscall: string, what?: string): never => {
    const errno = koffi.errno();
    const text = String(f.strerror(errno) ?? `errno ${errno}`);
    throw new SysError(syscall, errno, errnoNames.get(errno) ?? `E${errno}`, text.charAt(0).toLowerCase() + text.slice(1), what);
  };
  loaded = {
    eventfd: (initval, flags) => {
      const fd = Number(f.eventfd(initval, flags));
      return fd < 0 ? fail('eventfd') : fd;
    },
    bpf: (cmd, attr) => {
      if (nr === undefined) throw new SysError('bpf', 38, 'ENOSYS', `unsupported architecture ${process.arch}`);
      const r = Number(f.syscall(nr, cmd, attr, attr.length));
      return r < 0 ? fail('bpf', `command ${cmd}`) : r;
    },
    close: (fd) => {
      if (Number(f.close(fd)) < 0) fail('close');
    },
    address: (buf) => BigInt(koffi.address(buf) as unknown as bigint),
    openDir: (path) => openSync(path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY),
  };
  return loaded;
}
