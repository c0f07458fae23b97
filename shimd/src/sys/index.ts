// The only place in shimd that declares native functions (koffi). Loaded lazily:
// the shim uses a handful, shimd only mount/umount.
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import koffi from 'koffi';

export class SysError extends Error {
  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly code: string,
    detail?: string,
  ) {
    super(`${syscall}${detail ? ` ${detail}` : ''}: ${code}`);
  }
}

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno)) if (!errnoNames.has(num)) errnoNames.set(num, name);

const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;
const O_CLOEXEC = 0o2000000;
const TIOCSWINSZ = 0x5414;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const O_NONBLOCK = 0o4000;
const EAGAIN = 11;
const MSG_DONTWAIT = 0x40;
const MSG_CMSG_CLOEXEC = 0x40000000;

type Fns = Record<string, any>;
let fns: Fns | undefined;

function lib(): Fns {
  if (fns) return fns;
  const libc = koffi.load('libc.so.6');
  fns = {
    prctl: libc.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)'),
    waitpid: libc.func('int waitpid(int pid, void *status, int options)'),
    pipe2: libc.func('int pipe2(void *fds, int flags)'),
    close: libc.func('int close(int fd)'),
    ioctlPtr: libc.func('int ioctl(int fd, unsigned long req, void *arg)'),
    socket: libc.func('int socket(int domain, int type, int protocol)'),
    bind: libc.func('int bind(int fd, void *addr, uint32_t len)'),
    listen: libc.func('int listen(int fd, int backlog)'),
    accept4: libc.func('int accept4(int fd, void *addr, void *len, int flags)'),
    recvmsg: libc.func('long recvmsg(int fd, void *msg, int flags)'),
    mount: libc.func('int mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)'),
    umount2: libc.func('int umount2(const char *target, int flags)'),
  };
  return fns;
}

function check(ret: number | bigint, syscall: string, detail?: string): number {
  const n = Number(ret);
  if (n < 0) {
    const errno = koffi.errno();
    throw new SysError(syscall, errno, errnoNames.get(errno) ?? `E${errno}`, detail);
  }
  return n;
}

export function setChildSubreaper(): void {
  check(lib().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 'prctl', 'PR_SET_CHILD_SUBREAPER');
}

/** Reaps `pid` if it has exited: its wait status, or undefined while it runs. */
export function reap(pid: number): { exitStatus: number } | undefined {
  const status = Buffer.alloc(4);
  const r = Number(lib().waitpid(pid, status, WNOHANG));
  if (r === 0) return undefined;
  if (r < 0) {
    const errno = koffi.errno();
    // ECHILD: not our child (any more); the caller decides what that means.
    if (errnoNames.get(errno) === 'ECHILD') return { exitStatus: -1 };
    throw new SysError('waitpid', errno, errnoNames.get(errno) ?? `E${errno}`, String(pid));
  }
  const s = status.readInt32LE(0);
  const termsig = s & 0x7f;
  return { exitStatus: termsig === 0 ? (s >> 8) & 0xff : 128 + termsig };
}

/** Pids of this process's children (every thread's, orphans reparented to us included). */
export function childPids(): number[] {
  const pids = new Set<number>();
  let tids: string[] = [];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return [];
  }
  for (const tid of tids) {
    let text = '';
    try {
      text = readFileSync(`/proc/self/task/${tid}/children`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    for (const w of text.split(' ')) if (w.trim()) pids.add(Number(w));
  }
  return [...pids];
}

/** A pipe as [read end, write end], close-on-exec (Node clears that on the fds it hands a child). */
export function pipe(): [number, number] {
  const fds = Buffer.alloc(8);
  check(lib().pipe2(fds, O_CLOEXEC), 'pipe2');
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

export function closeFd(fd: number): void {
  lib().close(fd);
}

export function setWinsize(fd: number, cols: number, rows: number): void {
  const ws = Buffer.alloc(8);
  ws.writeUInt16LE(rows, 0);
  ws.writeUInt16LE(cols, 2);
  check(lib().ioctlPtr(fd, TIOCSWINSZ, ws), 'ioctl', 'TIOCSWINSZ');
}

function unixAddr(path: string): Buffer {
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  const len = addr.write(path, 2);
  if (len >= 108) throw new SysError('bind', 36, 'ENAMETOOLONG', path);
  return addr;
}

/**
 * Listens on a unix socket for the runtime's --console-socket; `take()` returns the
 * pty master the runtime sent (SCM_RIGHTS) once the runtime has exited.
 *
 * Everything here is synchronous and non-blocking, on the main thread, so every
 * buffer the kernel reads or writes lives only for the duration of one call. The
 * runtime connects and sends before it exits (the listen backlog completes the
 * connection without an accept), so by the time `take()` runs the fd is queued.
 * (An earlier version blocked in accept/recvmsg through koffi's `.async` on libuv's
 * threadpool and kept the msghdr, iovec and body buffers alive with a `void pinned`
 * statement in the callback; the bundler's syntax minifier drops such a statement,
 * so the GC freed those buffers while recvmsg still had them: the kernel wrote the
 * runtime's message into freed malloc memory, and the shim aborted with
 * "free(): corrupted unsorted chunks" every few hundred terminal execs under runc.)
 */
export function receiveConsole(path: string): { take(): Promise<number>; close(): void } {
  const f = lib();
  const addr = unixAddr(path);
  const sock = check(f.socket(AF_UNIX, SOCK_STREAM | O_CLOEXEC | O_NONBLOCK, 0), 'socket');
  try {
    check(f.bind(sock, addr, 2 + Buffer.byteLength(path) + 1), 'bind', path);
    check(f.listen(sock, 1), 'listen', path);
  } catch (err) {
    f.close(sock);
    throw err;
  }
  let open = true;
  let conn = -1;
  const close = () => {
    if (conn >= 0) f.close(conn);
    if (open) f.close(sock);
    conn = -1;
    open = false;
  };
  return {
    close,
    async take(): Promise<number> {
      try {
        // Normally one pass; the polling only covers a runtime whose sender outlives it.
        for (let tries = 0; ; tries++) {
          if (!open) throw new Error('console socket closed before the runtime sent a pty');
          if (conn < 0) conn = acceptNow(sock);
          const fd = conn < 0 ? -1 : receiveFdNow(conn);
          if (fd >= 0) return fd;
          if (tries >= 100) throw new Error('the runtime did not send a pty on the console socket');
          await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        close();
      }
    },
  };
}

/** A pending connection on the non-blocking listening `sock`, or -1 if there is none yet. */
function acceptNow(sock: number): number {
  const conn = Number(lib().accept4(sock, null, null, O_CLOEXEC | O_NONBLOCK));
  if (conn >= 0) return conn;
  const errno = koffi.errno();
  if (errno === EAGAIN) return -1;
  throw new SysError('accept4', errno, errnoNames.get(errno) ?? `E${errno}`, 'console socket');
}

/** Receives one fd (SCM_RIGHTS) from `conn`; -1 if nothing has arrived yet. */
function receiveFdNow(conn: number): number {
  const f = lib();
  const body = Buffer.alloc(4096);
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(koffi.address(body), 0);
  iov.writeBigUInt64LE(BigInt(body.length), 8);
  const cmsg = Buffer.alloc(64);
  const msg = Buffer.alloc(56);
  msg.writeBigUInt64LE(koffi.address(iov), 16);
  msg.writeBigUInt64LE(1n, 24);
  msg.writeBigUInt64LE(koffi.address(cmsg), 32);
  msg.writeBigUInt64LE(BigInt(cmsg.length), 40);
  const n = Number(f.recvmsg(conn, msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT));
  if (n < 0) {
    const errno = koffi.errno();
    if (errno === EAGAIN) return -1;
    throw new SysError('recvmsg', errno, errnoNames.get(errno) ?? `E${errno}`, 'console socket');
  }
  const controllen = Number(msg.readBigUInt64LE(40));
  const level = cmsg.readInt32LE(8);
  const type = cmsg.readInt32LE(12);
  if (controllen < 20 || level !== SOL_SOCKET || type !== SCM_RIGHTS) throw new Error('console socket: the runtime sent no fd');
  // Further fds (a sane runtime sends one) must not leak.
  const end = Math.min(Number(cmsg.readBigUInt64LE(0)), controllen);
  for (let off = 20; off + 4 <= end; off += 4) f.close(cmsg.readInt32LE(off));
  return cmsg.readInt32LE(16);
}

// mount(2) flags by option name; anything else goes to the data string.
const MOUNT_FLAGS: Record<string, [number, boolean]> = {
  ro: [1, true], rw: [1, false], nosuid: [2, true], suid: [2, false], nodev: [4, true], dev: [4, false],
  noexec: [8, true], exec: [8, false], sync: [16, true], async: [16, false], remount: [32, true],
  noatime: [1024, true], nodiratime: [2048, true], bind: [4096, true], rbind: [4096 | 16384, true],
  relatime: [1 << 21, true], strictatime: [1 << 24, true],
};
const MS_BIND = 4096;
const MS_REMOUNT = 32;
const MS_RDONLY = 1;

export function mount(type: string, source: string, target: string, options: string[]): void {
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    const f = MOUNT_FLAGS[o];
    if (!f) data.push(o);
    else if (f[1]) flags |= f[0];
    else flags &= ~f[0];
  }
  const bind = type === 'bind' || (flags & MS_BIND) !== 0;
  if (bind) flags |= MS_BIND;
  check(lib().mount(source, target, bind ? null : type, flags & ~(bind ? MS_RDONLY : 0), data.join(',') || null), 'mount', `${source} on ${target}`);
  // A read-only bind needs a remount: the kernel ignores MS_RDONLY on the first call.
  if (bind && flags & MS_RDONLY) {
    check(lib().mount(null, target, null, flags | MS_REMOUNT, null), 'mount', `remount ${target} read-only`);
  }
}

export function unmount(target: string): void {
  const MNT_DETACH = 2;
  const r = Number(lib().umount2(target, MNT_DETACH));
  if (r < 0) {
    const errno = koffi.errno();
    const code = errnoNames.get(errno);
    if (code === 'EINVAL' || code === 'ENOENT') return; // not mounted
    throw new SysError('umount2', errno, code ?? `E${errno}`, target);
  }
}
