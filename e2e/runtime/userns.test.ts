// User namespaces (issue 5): uidMappings/gidMappings, joining one by path, exec into
// a user-namespaced container, devices bind-mounted, sysfs without a network
// namespace, and bad mappings refused leaving nothing behind. Runs against runc too.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONSOLE_RECEIVER, canRun, hasPython, isBerth, suite } from './rt.js';

// Host ids no user of this machine has; the container's 0 is the host's HOST_ID.
const HOST_ID = 231072;
const SIZE = 65536;
const MAPS = { uidMappings: [{ containerID: 0, hostID: HOST_ID, size: SIZE }], gidMappings: [{ containerID: 0, hostID: HOST_ID, size: SIZE }] };

/** Every cgroup directory (all hierarchies, v1 and unified) whose path names `id`. */
function cgroupDirsOf(id: string): string[] {
  const out: string[] = [];
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const base = join('/sys/fs/cgroup', h);
    try {
      if (!statSync(base).isDirectory()) continue;
      for (const p of readdirSync(base, { recursive: true }) as string[]) if (p.includes(id)) out.push(join(base, p));
    } catch {}
  }
  return out;
}

function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'))!;
  return Number(line.split(/\s+/)[1]);
}



describe.skipIf(!canRun)('user namespaces', () => {
  const s = suite('userns');

  /** A bundle whose init runs in a new user namespace; its rootfs belongs to the mapped root, as it must. */
  const usernsBundle = (args: string[], edit?: (c: any) => void): string => {
    const b = s.bundle({
      args,
      edit: (c) => {
        c.linux.namespaces.push({ type: 'user' });
        Object.assign(c.linux, structuredClone(MAPS));
        edit?.(c);
      },
    });
    // The mapped root must reach the bundle and own its rootfs (runc needs the same).
    chmodSync(b, 0o755);
    execFileSync('chown', ['-R', '-h', `${HOST_ID}:${HOST_ID}`, join(b, 'rootfs')]);
    return b;
  };

  const runDetached = (b: string): { id: string; pid: number } => {
    const id = s.id();
    const r = s.rt(['run', '-d', '-b', b, id], { files: true });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return { id, pid: JSON.parse(s.rt(['state', id]).stdout).pid };
  };

  it('maps ids: root inside, the mapped uid on the host, proc mounted', () => {
    const shared = s.tempDir();
    chmodSync(shared, 0o755);
    chownSync(shared, HOST_ID, HOST_ID);
    const b = usernsBundle(['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; echo $$; touch /shared/made-inside'], (c) =>
      c.mounts.push({ destination: '/shared', type: 'bind', source: shared, options: ['rbind', 'rw'] }),
    );
    const id = s.id();
    const r = s.rt(['run', '-b', b, id], { files: true });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    expect(lines).toEqual([`0 ${HOST_ID} ${SIZE}`, `0 ${HOST_ID} ${SIZE}`, '0', '0', '1']);
    const st = statSync(join(shared, 'made-inside'));
    expect([st.uid, st.gid]).toEqual([HOST_ID, HOST_ID]);
  });

  it('the host sees the init as the mapped uid, in a user namespace of its own', () => {
    const { pid } = runDetached(usernsBundle(['sleep', '60']));
    expect(uidOf(pid)).toBe(HOST_ID);
    expect(readlinkSync(`/proc/${pid}/ns/user`)).not.toBe(readlinkSync('/proc/self/ns/user'));
    expect(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/)).toEqual(['0', String(HOST_ID), String(SIZE)]);
    // Detached, nothing stays between the init and whoever reaps it (a shim, as a subreaper).
    const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    if (isBerth) expect(readFileSync(`/proc/${ppid}/comm`, 'utf8').trim()).not.toBe('berth-nsexec');
  });

  it('run in the foreground exits with the status of the init', () => {
    const r = s.rt(['run', '-b', usernsBundle(['sh', '-c', 'exit 7']), s.id()], { files: true });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(7);
  });

  it('devices work (bind-mounted from the host) and sysfs is there', () => {
    const b = usernsBundle([
      'sh',
      '-c',
      'echo x > /dev/null && test -c /dev/null && test -c /dev/urandom && head -c 5 /dev/zero | wc -c && ls /sys/kernel >/dev/null && echo sys',
    ]);
    const r = s.rt(['run', '-b', b, s.id()], { files: true });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split(/\s+/)).toEqual(['5', 'sys']);
    expect(r.status).toBe(0);
  });

  // runc 1.1.5 fails this mount (EPERM); its fallback to binding the host's /sys came later.
  it.skipIf(!isBerth)('without a network namespace, sysfs is the host one, read-only', () => {
    // The host's default-route interface (other tests add and remove interfaces meanwhile).
    const route = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1).map((l) => l.split('\t'));
    const iface = route.find((f) => f[1] === '00000000')?.[0] ?? 'lo';
    const b = usernsBundle(['sh', '-c', `test -e /sys/class/net/${iface} && echo ${iface}; touch /sys/x 2>/dev/null || echo ro`], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'network');
    });
    const r = s.rt(['run', '-b', b, s.id()], { files: true });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([iface, 'ro']);
  });

  it('joins a user namespace by path, with namespaces of its own', () => {
    const first = runDetached(usernsBundle(['sleep', '60']));
    const userNs = `/proc/${first.pid}/ns/user`;
    // The same maps are given again: runc 1.1.5 insists on them (berth ignores them when joining).
    const b = usernsBundle(['sh', '-c', 'cat /proc/self/uid_map; id -u; echo $$'], (c) => {
      c.linux.namespaces = c.linux.namespaces.map((n: any) => (n.type === 'user' ? { type: 'user', path: userNs } : n));
    });
    const second = runDetached(usernsBundle(['sleep', '60'], (c) => {
      c.linux.namespaces = c.linux.namespaces.map((n: any) => (n.type === 'user' ? { type: 'user', path: userNs } : n));
    }));
    expect(readlinkSync(`/proc/${second.pid}/ns/user`)).toBe(readlinkSync(userNs));
    for (const ns of ['pid', 'mnt', 'net', 'uts', 'ipc']) {
      expect(readlinkSync(`/proc/${second.pid}/ns/${ns}`), ns).not.toBe(readlinkSync(`/proc/${first.pid}/ns/${ns}`));
    }
    expect(uidOf(second.pid)).toBe(HOST_ID);
    const r = s.rt(['run', '-b', b, s.id()], { files: true });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '))).toEqual([`0 ${HOST_ID} ${SIZE}`, '0', '1']);
  });

  it('exec enters the user namespace with the others', () => {
    const { id, pid } = runDetached(usernsBundle(['sleep', '60']));
    const r = s.rt(['exec', id, 'sh', '-c', 'id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user; readlink /proc/self/ns/mnt; cat /proc/1/cmdline']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('0');
    expect(lines[1].trim().split(/\s+/)).toEqual(['0', String(HOST_ID), String(SIZE)]);
    expect(lines[2]).toBe(readlinkSync(`/proc/${pid}/ns/user`));
    expect(lines[3]).toBe(readlinkSync(`/proc/${pid}/ns/mnt`));
    expect(lines[4].replace(/\0/g, ' ').trim()).toBe('sleep 60');
    const u = s.rt(['exec', '-u', '1000:1000', id, 'id']);
    expect(u.status).toBe(0);
    expect(u.stdout).toMatch(/uid=1000\b.* gid=1000\b/);
  });

  /** Listens on a socket in a fresh private directory; `output` resolves with what the pty carried. */
  const consoleReceiver = async (): Promise<{ sock: string; output: Promise<string>; stop(): void }> => {
    const sock = join(s.tempDir(), 'console.sock');
    const rcv = spawn('python3', ['-c', CONSOLE_RECEIVER, sock], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const ready = new Promise<void>((res) => {
      rcv.stdout.on('data', (d) => {
        out += d;
        if (out.startsWith('listening\n')) res();
      });
    });
    const output = new Promise<string>((res) => rcv.on('exit', () => res(out.replace(/^listening\n/, ''))));
    await ready;
    return { sock, output, stop: () => rcv.kill('SIGKILL') };
  };

  // The console socket lives in a directory only the host's root can enter: the
  // runtime connects to it for the init and for exec, which are not root on the host.
  it.skipIf(!hasPython)('a terminal over --console-socket from a private directory, for the init and exec', async () => {
    const init = await consoleReceiver();
    try {
      const b = usernsBundle(['sh', '-c', 'id -u; tty'], (c) => (c.process.terminal = true));
      const r = s.rt(['run', '-d', '--console-socket', init.sock, '-b', b, s.id()], { files: true });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect((await init.output).trim().split(/\r?\n/)).toEqual(['0', '/dev/pts/0']);
    } finally {
      init.stop();
    }
    const { id } = runDetached(usernsBundle(['sleep', '60']));
    const ex = await consoleReceiver();
    try {
      const r = s.rt(['exec', '-t', '-d', '--console-socket', ex.sock, id, 'sh', '-c', 'id -u; tty'], { files: true });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect((await ex.output).trim().split(/\r?\n/)).toEqual(['0', '/dev/pts/0']);
    } finally {
      ex.stop();
    }
  });

  describe('bad mappings: a clear error and nothing left behind', () => {
    const expectRefused = (edit: (c: any) => void, berthMessage: RegExp): void => {
      const b = usernsBundle(['true'], edit);
      const id = s.id();
      const r = s.rt(['create', '-b', b, id], { files: true });
      expect(r.status).toBe(1);
      // runc's error for overlapping maps spans several lines.
      if (isBerth) expect(r.stderr.trim().split('\n')).toHaveLength(1);
      if (isBerth) expect(r.stderr).toMatch(berthMessage);
      expect(existsSync(join(s.root, id))).toBe(false);
      expect(cgroupDirsOf(id)).toEqual([]);
      const leftover = execFileSync('ps', ['-eo', 'args']).toString().split('\n').filter((l) => l.includes(id));
      expect(leftover).toEqual([]);
    };

    it('overlapping uid ranges', () => {
      expectRefused((c) => {
        c.linux.uidMappings.push({ containerID: 1000, hostID: HOST_ID + 10, size: 10 });
      }, /uidMappings\[1\] overlaps linux\.uidMappings\[0\]/);
    });

    it('a missing gid map', () => {
      expectRefused((c) => delete c.linux.gidMappings, /gidMappings is missing/);
    });

    // Divergence: runc 1.1.5 ignores mappings without a user namespace; berth refuses them.
    it.skipIf(!isBerth)('mappings without a user namespace', () => {
      expectRefused((c) => {
        c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'user');
      }, /no user namespace/);
    });

    it('a user namespace path that does not exist', () => {
      expectRefused((c) => {
        c.linux.namespaces = c.linux.namespaces.map((n: any) => (n.type === 'user' ? { type: 'user', path: '/proc/self/ns/no-such' } : n));
      }, /no-such/);
    });
  });
});
