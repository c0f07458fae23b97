// A recording Sys for unit tests: every call is appended to `calls` as
// [name, ...args]; nothing touches the kernel. `failOn` makes a call throw.
import { SysError, type Sys } from './index.js';

export type Call = [string, ...unknown[]];

export class FakeSys implements Sys {
  readonly calls: Call[] = [];
  failOn?: (call: Call) => number | undefined;
  private nextFd = 10;

  private rec(name: string, ...args: unknown[]): void {
    const call: Call = [name, ...args];
    this.calls.push(call);
    const errno = this.failOn?.(call);
    if (errno !== undefined) throw new SysError(name, errno, `E${errno}`, `fake errno ${errno}`);
  }

  /** The recorded calls with the given names, in order. */
  only(...names: string[]): Call[] {
    return this.calls.filter((c) => names.includes(c[0]));
  }

  unshare(flags: number) { this.rec('unshare', flags); }
  setns(fd: number, nstype: number) { this.rec('setns', fd, nstype); }
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null) {
    this.rec('mount', source, target, fstype, flags, data);
  }
  umount2(target: string, flags: number) { this.rec('umount2', target, flags); }
  pivotRoot(n: string, o: string) { this.rec('pivotRoot', n, o); }
  chroot(p: string) { this.rec('chroot', p); }
  chdir(p: string) { this.rec('chdir', p); }
  fchdir(fd: number) { this.rec('fchdir', fd); }
  cwd = '/';
  getcwd() { this.rec('getcwd'); return this.cwd; }
  mknod(p: string, mode: number, major: number, minor: number) { this.rec('mknod', p, mode, major, minor); }
  mkfifo(p: string, mode: number) { this.rec('mkfifo', p, mode); }
  chmod(p: string, mode: number) { this.rec('chmod', p, mode); }
  chown(p: string, uid: number, gid: number) { this.rec('chown', p, uid, gid); }
  sethostname(n: string) { this.rec('sethostname', n); }
  setdomainname(n: string) { this.rec('setdomainname', n); }
  prctl(option: number, a2: number, a3 = 0) { this.rec('prctl', option, a2, a3); return 0; }
  setrlimit(r: number, soft: bigint, hard: bigint) { this.rec('setrlimit', r, soft, hard); }
  setgroups(g: number[]) { this.rec('setgroups', g); }
  setresgid(g: number) { this.rec('setresgid', g); }
  setresuid(u: number) { this.rec('setresuid', u); }
  umask(m: number) { this.rec('umask', m); return 0o22; }
  capset(e: bigint, p: bigint, i: bigint) { this.rec('capset', e, p, i); }
  open(p: string, flags: number, mode = 0) { this.rec('open', p, flags, mode); return this.nextFd++; }
  close(fd: number) { this.rec('close', fd); }
  dup2(a: number, b: number) { this.rec('dup2', a, b); }
  makeInheritable(fd: number) { this.rec('makeInheritable', fd); }
  closeRangeCloexec(first: number) { this.rec('closeRangeCloexec', first); }
  openPty() { this.rec('openPty'); return { master: this.nextFd++, slavePath: '/dev/pts/0' }; }
  setWinsize(fd: number, rows: number, cols: number) { this.rec('setWinsize', fd, rows, cols); }
  setsid() { this.rec('setsid'); }
  setControllingTerminal(fd: number) { this.rec('setControllingTerminal', fd); }
  connectUnix(p: string) { this.rec('connectUnix', p); return this.nextFd++; }
  listenUnix(p: string) { this.rec('listenUnix', p); return this.nextFd++; }
  acceptFd(fd: number) { this.rec('acceptFd', fd); return this.nextFd++; }
  sendFd(sock: number, name: string, fd: number) { this.rec('sendFd', sock, name, fd); }
  resetSignals() { this.rec('resetSignals'); }
  /** Not recorded: the mount calls keep naming the path, as the tests expect. */
  pinPath(path: string) { return { target: path, real: this.pinnedReal?.(path) ?? path, release() {} }; }
  /** Where a pinned path "resolves", to simulate a swapped symlink. */
  pinnedReal?: (path: string) => string;
  execve(path: string, argv: string[], envp: string[]): never {
    this.rec('execve', path, argv, envp);
    throw new Error('FakeSys.execve: the process would be replaced here');
  }
}
