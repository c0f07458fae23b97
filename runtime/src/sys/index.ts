// The one syscall surface of berth-runtime (youki's `Syscall` trait): the koffi
// implementation is in koffi.ts, a recording fake for unit tests in fake.ts.
// Everything here acts on the calling thread; callers run it on Node's main thread.

export const CLONE = {
  FS: 0x200,
  NEWNS: 0x20000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOSYMFOLLOW: 256,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  MOVE: 8192,
  REC: 16384,
  SILENT: 32768,
  POSIXACL: 1 << 16,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  I_VERSION: 1 << 23,
  STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;

export const MNT_DETACH = 2;

export const PR = {
  SET_PDEATHSIG: 1,
  SET_DUMPABLE: 4,
  SET_KEEPCAPS: 8,
  CAPBSET_READ: 23,
  CAPBSET_DROP: 24,
  SET_NO_NEW_PRIVS: 38,
  CAP_AMBIENT: 47,
  CAP_AMBIENT_RAISE: 2,
  CAP_AMBIENT_CLEAR_ALL: 4,
} as const;

export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  CREAT: 0o100,
  NOCTTY: 0o400,
  NONBLOCK: 0o4000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

/** An errno-carrying failure of one syscall: `mount /proc: operation not permitted`. */
export class SysError extends Error {
  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly code: string,
    detail: string,
    readonly what?: string,
  ) {
    super(what ? `${syscall} ${what}: ${detail}` : `${syscall}: ${detail}`);
    this.name = 'SysError';
  }
}

export interface Sys {
  unshare(flags: number): void;
  setns(fd: number, nstype: number): void;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  pivotRoot(newRoot: string, putOld: string): void;
  chroot(path: string): void;
  chdir(path: string): void;
  fchdir(fd: number): void;
  /** The cwd; ENOENT when it lies outside this process's root (glibc's getcwd rule). */
  getcwd(): string;
  mknod(path: string, mode: number, major: number, minor: number): void;
  mkfifo(path: string, mode: number): void;
  chmod(path: string, mode: number): void;
  chown(path: string, uid: number, gid: number): void;
  sethostname(name: string): void;
  setdomainname(name: string): void;
  prctl(option: number, arg2: number, arg3?: number): number;
  setrlimit(resource: number, soft: bigint, hard: bigint): void;
  setgroups(gids: number[]): void;
  setresgid(gid: number): void;
  setresuid(uid: number): void;
  umask(mask: number): number;
  /** Sets effective, permitted and inheritable (64-bit masks) of the calling thread. */
  capset(effective: bigint, permitted: bigint, inheritable: bigint): void;
  open(path: string, flags: number, mode?: number): number;
  close(fd: number): void;
  dup2(oldfd: number, newfd: number): void;
  /** Clears FD_CLOEXEC and O_NONBLOCK on fd. */
  makeInheritable(fd: number): void;
  closeRangeCloexec(first: number): void;
  /** Opens a new pty master in the current /dev/ptmx; returns the master and the slave's path. */
  openPty(): { master: number; slavePath: string };
  setWinsize(fd: number, rows: number, cols: number): void;
  setsid(): void;
  setControllingTerminal(fd: number): void;
  connectUnix(path: string): number;
  /** A listening unix stream socket bound at path. */
  listenUnix(path: string): number;
  /** Accepts one connection on a listening socket and returns the fd it sends (SCM_RIGHTS). */
  acceptFd(listenFd: number): number;
  /** Sends fd over a unix socket with SCM_RIGHTS and `name` as the message body (runc's utils.SendFd). */
  sendFd(sock: number, name: string, fd: number): void;
  resetSignals(): void;
  execve(path: string, argv: string[], envp: string[]): never;
  /**
   * Pins `path` as the kernel resolves it now (an O_PATH fd): `target` names exactly
   * that object (/proc/self/fd/N) whatever is renamed or swapped later, `real` is
   * where it resolved to; release() closes it (CVE-2021-30465, see linux/mounts.ts).
   */
  pinPath(path: string): { target: string; real: string; release(): void };
}
