// The koffi implementation of Sys: the only file that declares native functions.
// Variadic libc functions (fcntl, ioctl, prctl, syscall) are declared with fixed
// integer/pointer prototypes, which the x86-64 and arm64 Linux ABIs pass alike.
import { chmodSync, chownSync, readlinkSync } from 'node:fs';
import { constants } from 'node:os';
import koffi from 'koffi';
import { SysError, type Sys } from './index.js';

// Raw syscall numbers: credentials go through raw syscalls so only the calling
// (exec'ing) thread changes, never glibc's all-threads setxid broadcast.
const NR: Record<string, Record<string, number>> = {
  x64: { pivot_root: 155, capset: 126, setgroups: 116, setresuid: 117, setresgid: 119, close_range: 436 },
  arm64: { pivot_root: 41, capset: 91, setgroups: 159, setresuid: 147, setresgid: 149, close_range: 436 },
};

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno)) if (!errnoNames.has(num)) errnoNames.set(num, name);

const TIOCSWINSZ = 0x5414;
const TIOCSCTTY = 0x540e;
const TIOCGPTN = 0x80045430;
const TIOCSPTLCK = 0x40045431;
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;

export function createKoffiSys(): Sys {
  const nr = NR[process.arch];
  if (!nr) throw new Error(`berth-runtime: unsupported architecture ${process.arch}`);
  const libc = koffi.load('libc.so.6');
  const f = {
    unshare: libc.func('int unshare(int flags)'),
    setns: libc.func('int setns(int fd, int nstype)'),
    mount: libc.func('int mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)'),
    umount2: libc.func('int umount2(const char *target, int flags)'),
    chroot: libc.func('int chroot(const char *path)'),
    chdir: libc.func('int chdir(const char *path)'),
    fchdir: libc.func('int fchdir(int fd)'),
    getcwd: libc.func('void *getcwd(void *buf, size_t size)'),
    mknod: libc.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
    mkfifo: libc.func('int mkfifo(const char *path, uint32_t mode)'),
    sethostname: libc.func('int sethostname(const char *name, size_t len)'),
    setdomainname: libc.func('int setdomainname(const char *name, size_t len)'),
    prctl: libc.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)'),
    prlimit: libc.func('int prlimit(int pid, int resource, void *newlim, void *oldlim)'),
    umask: libc.func('uint32_t umask(uint32_t mask)'),
    open: libc.func('int open(const char *path, int flags, uint32_t mode)'),
    close: libc.func('int close(int fd)'),
    dup2: libc.func('int dup2(int oldfd, int newfd)'),
    fcntl: libc.func('int fcntl(int fd, int cmd, long arg)'),
    ioctlPtr: libc.func('int ioctl(int fd, unsigned long req, void *arg)'),
    ioctlInt: libc.func('int ioctl(int fd, unsigned long req, long arg)'),
    setsid: libc.func('int setsid()'),
    socket: libc.func('int socket(int domain, int type, int protocol)'),
    connect: libc.func('int connect(int fd, void *addr, uint32_t len)'),
    sendmsg: libc.func('long sendmsg(int fd, void *msg, int flags)'),
    recvmsg: libc.func('long recvmsg(int fd, void *msg, int flags)'),
    bind: libc.func('int bind(int fd, void *addr, uint32_t len)'),
    listen: libc.func('int listen(int fd, int backlog)'),
    accept4: libc.func('int accept4(int fd, void *addr, void *len, int flags)'),
    signal: libc.func('void *signal(int sig, void *handler)'),
    sigprocmask: libc.func('int sigprocmask(int how, void *set, void *old)'),
    execve: libc.func('int execve(const char *path, const char **argv, const char **envp)'),
    strerror: libc.func('const char *strerror(int errnum)'),
    sys2s: libc.func('long syscall(long nr, const char *a, const char *b)'),
    sys2p: libc.func('long syscall(long nr, void *a, void *b)'),
    sys3: libc.func('long syscall(long nr, long a, long b, long c)'),
    sys2i: libc.func('long syscall(long nr, long a, void *b)'),
  };

  function fail(syscall: string, what?: string): never {
    const errno = koffi.errno();
    const text = String(f.strerror(errno) ?? `errno ${errno}`);
    throw new SysError(syscall, errno, errnoNames.get(errno) ?? `E${errno}`, text.charAt(0).toLowerCase() + text.slice(1), what);
  }
  const check = (ret: number | bigint, syscall: string, what?: string): number => {
    if (Number(ret) < 0) fail(syscall, what);
    return Number(ret);
  };

  const unixAddr = (path: string, syscall: string): [Buffer, number] => {
    const addr = Buffer.alloc(110);
    addr.writeUInt16LE(1, 0);
    const len = addr.write(path, 2);
    if (len >= 108) throw new SysError(syscall, 36, 'ENAMETOOLONG', 'file name too long', path);
    return [addr, 2 + len + 1];
  };

  const sys: Sys = {
    unshare: (flags) => void check(f.unshare(flags), 'unshare'),
    setns: (fd, nstype) => void check(f.setns(fd, nstype), 'setns'),
    mount: (src, dst, type, flags, data) => void check(f.mount(src, dst, type, flags, data), 'mount', dst),
    umount2: (target, flags) => void check(f.umount2(target, flags), 'umount', target),
    pivotRoot: (n, o) => void check(f.sys2s(nr.pivot_root, n, o), 'pivot_root', n),
    chroot: (p) => void check(f.chroot(p), 'chroot', p),
    chdir: (p) => void check(f.chdir(p), 'chdir', p),
    fchdir: (fd) => void check(f.fchdir(fd), 'fchdir'),
    getcwd: () => {
      const buf = Buffer.alloc(4097);
      if (!f.getcwd(buf, buf.length)) fail('getcwd');
      return buf.toString('utf8', 0, buf.indexOf(0));
    },
    mknod: (p, mode, major, minor) => {
      const dev = BigInt(((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12)) | (BigInt(major & ~0xfff) << 32n);
      check(f.mknod(p, mode, dev), 'mknod', p);
    },
    mkfifo: (p, mode) => void check(f.mkfifo(p, mode), 'mkfifo', p),
    chmod: (p, mode) => chmodSync(p, mode),
    chown: (p, uid, gid) => chownSync(p, uid, gid),
    sethostname: (name) => void check(f.sethostname(name, Buffer.byteLength(name)), 'sethostname'),
    setdomainname: (name) => void check(f.setdomainname(name, Buffer.byteLength(name)), 'setdomainname'),
    prctl: (option, a2, a3 = 0) => check(f.prctl(option, a2, a3, 0, 0), 'prctl'),
    setrlimit: (resource, soft, hard) => {
      const lim = Buffer.alloc(16);
      lim.writeBigUInt64LE(BigInt.asUintN(64, soft), 0);
      lim.writeBigUInt64LE(BigInt.asUintN(64, hard), 8);
      check(f.prlimit(0, resource, lim, null), 'setrlimit');
    },
    setgroups: (gids) => {
      const buf = Buffer.alloc(Math.max(4, gids.length * 4));
      for (const [i, g] of gids.entries()) buf.writeUInt32LE(g, i * 4);
      check(f.sys2i(nr.setgroups, gids.length, buf), 'setgroups');
    },
    setresgid: (gid) => void check(f.sys3(nr.setresgid, gid, gid, gid), 'setresgid'),
    setresuid: (uid) => void check(f.sys3(nr.setresuid, uid, uid, uid), 'setresuid'),
    umask: (mask) => f.umask(mask),
    capset: (eff, perm, inh) => {
      const hdr = Buffer.alloc(8);
      hdr.writeUInt32LE(0x20080522, 0); // _LINUX_CAPABILITY_VERSION_3
      const data = Buffer.alloc(24);
      const lo = (v: bigint) => Number(v & 0xffffffffn);
      const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
      data.writeUInt32LE(lo(eff), 0);
      data.writeUInt32LE(lo(perm), 4);
      data.writeUInt32LE(lo(inh), 8);
      data.writeUInt32LE(hi(eff), 12);
      data.writeUInt32LE(hi(perm), 16);
      data.writeUInt32LE(hi(inh), 20);
      check(f.sys2p(nr.capset, hdr, data), 'capset');
    },
    open: (p, flags, mode = 0) => check(f.open(p, flags, mode), 'open', p),
    close: (fd) => void check(f.close(fd), 'close'),
    dup2: (a, b) => void check(f.dup2(a, b), 'dup2'),
    makeInheritable: (fd) => {
      const fdFlags = check(f.fcntl(fd, F_GETFD, 0), 'fcntl');
      check(f.fcntl(fd, F_SETFD, fdFlags & ~1), 'fcntl');
      const flFlags = check(f.fcntl(fd, F_GETFL, 0), 'fcntl');
      if (flFlags & 0o4000) check(f.fcntl(fd, F_SETFL, flFlags & ~0o4000), 'fcntl');
    },
    closeRangeCloexec: (first) => void check(f.sys3(nr.close_range, first, 0xffffffff, 4 /* CLOSE_RANGE_CLOEXEC */), 'close_range'),
    openPty: () => {
      const master = check(f.open('/dev/ptmx', 0o2 | 0o400 | 0o2000000, 0), 'open', '/dev/ptmx');
      const zero = Buffer.alloc(4);
      check(f.ioctlPtr(master, TIOCSPTLCK, zero), 'ioctl', 'TIOCSPTLCK');
      const n = Buffer.alloc(4);
      check(f.ioctlPtr(master, TIOCGPTN, n), 'ioctl', 'TIOCGPTN');
      return { master, slavePath: `/dev/pts/${n.readUInt32LE(0)}` };
    },
    setWinsize: (fd, rows, cols) => {
      const ws = Buffer.alloc(8);
      ws.writeUInt16LE(rows, 0);
      ws.writeUInt16LE(cols, 2);
      check(f.ioctlPtr(fd, TIOCSWINSZ, ws), 'ioctl', 'TIOCSWINSZ');
    },
    setsid: () => void check(f.setsid(), 'setsid'),
    setControllingTerminal: (fd) => void check(f.ioctlInt(fd, TIOCSCTTY, 0), 'ioctl', 'TIOCSCTTY'),
    connectUnix: (path) => {
      const [addr, len] = unixAddr(path, 'connect');
      const fd = check(f.socket(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | 0o2000000, 0), 'socket');
      if (Number(f.connect(fd, addr, len)) < 0) {
        try {
          fail('connect', path);
        } finally {
          f.close(fd);
        }
      }
      return fd;
    },
    listenUnix: (path) => {
      const [addr, len] = unixAddr(path, 'bind');
      const fd = check(f.socket(1, 1 | 0o2000000, 0), 'socket');
      if (Number(f.bind(fd, addr, len)) < 0 || Number(f.listen(fd, 1)) < 0) {
        try {
          fail('bind', path);
        } finally {
          f.close(fd);
        }
      }
      return fd;
    },
    acceptFd: (listenFd) => {
      const conn = check(f.accept4(listenFd, null, null, 0o2000000), 'accept');
      try {
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
        check(f.recvmsg(conn, msg, 0x40000000 /* MSG_CMSG_CLOEXEC */), 'recvmsg');
        if (cmsg.readInt32LE(8) !== 1 || cmsg.readInt32LE(12) !== 1) throw new SysError('recvmsg', 22, 'EINVAL', 'no file descriptor received');
        return cmsg.readInt32LE(16);
      } finally {
        f.close(conn);
      }
    },
    sendFd: (sock, name, fd) => {
      const body = Buffer.from(name);
      const iov = Buffer.alloc(16);
      iov.writeBigUInt64LE(koffi.address(body), 0);
      iov.writeBigUInt64LE(BigInt(body.length), 8);
      const cmsg = Buffer.alloc(24); // CMSG_SPACE(sizeof(int))
      cmsg.writeBigUInt64LE(20n, 0); // CMSG_LEN(sizeof(int))
      cmsg.writeInt32LE(1, 8); // SOL_SOCKET
      cmsg.writeInt32LE(1, 12); // SCM_RIGHTS
      cmsg.writeInt32LE(fd, 16);
      const msg = Buffer.alloc(56);
      msg.writeBigUInt64LE(koffi.address(iov), 16);
      msg.writeBigUInt64LE(1n, 24);
      msg.writeBigUInt64LE(koffi.address(cmsg), 32);
      msg.writeBigUInt64LE(24n, 40);
      check(f.sendmsg(sock, msg, 0), 'sendmsg');
    },
    resetSignals: () => {
      for (let sig = 1; sig < 65; sig++) {
        if (sig === 9 || sig === 19 || sig === 32 || sig === 33) continue;
        f.signal(sig, null);
      }
      check(f.sigprocmask(2 /* SIG_SETMASK */, Buffer.alloc(128), null), 'sigprocmask');
    },
    pinPath: (path) => {
      const fd = check(f.open(path, 0o10000000 /* O_PATH */ | 0o2000000 /* O_CLOEXEC */, 0), 'open', path);
      try {
        return { target: `/proc/self/fd/${fd}`, real: readlinkSync(`/proc/self/fd/${fd}`), release: () => void f.close(fd) };
      } catch (err) {
        f.close(fd);
        throw err;
      }
    },
    execve: (path, argv, envp) => {
      f.execve(path, [...argv, null], [...envp, null]);
      fail('exec', path);
    },
  };
  return sys;
}
