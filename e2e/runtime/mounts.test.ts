// The rootfs and mounts: pivot_root and --no-pivot, root.readonly, bind mounts with
// options, tmpfs data, symlinked destinations kept inside the rootfs, masked and
// read-only paths, cgroup mounts.
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRun, suite } from './rt.js';

describe.skipIf(!canRun)('mounts and rootfs', () => {
  const s = suite('mnt');

  const run = (args: string[], edit?: (c: any) => void, extra: string[] = []) => {
    const r = s.rt(['run', ...extra, '-b', s.bundle({ args, edit }), s.id()]);
    return r;
  };

  it('pivots into the rootfs: / is the bundle rootfs and the host is out of reach', () => {
    const r = run(['sh', '-c', 'ls /; cat /proc/self/mountinfo | grep -c " / / "']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('bin\n');
    expect(r.stdout).not.toContain('work\n');
  });

  it('--no-pivot works too', () => {
    const r = run(['sh', '-c', 'ls /bin/busybox && cat /etc/hostname'], undefined, ['--no-pivot']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('/bin/busybox\nbusybox\n');
  });

  it('root.readonly makes / read-only but leaves tmpfs mounts writable', () => {
    const r = run(['sh', '-c', 'touch /x 2>/dev/null && echo rw || echo ro; touch /dev/shm/x && echo shm-rw']);
    expect(r.stdout).toBe('ro\nshm-rw\n');
    const w = run(['sh', '-c', 'touch /x && echo rw'], (c) => (c.root.readonly = false));
    expect(w.stdout).toBe('rw\n');
  });

  it('bind mounts a host directory, read-only with ro', () => {
    const host = s.tempDir();
    writeFileSync(join(host, 'file'), 'from host\n');
    const r = run(['sh', '-c', 'cat /data/file; touch /data/new 2>/dev/null && echo rw || echo ro'], (c) =>
      c.mounts.push({ destination: '/data', type: 'bind', source: host, options: ['rbind', 'ro', 'nosuid', 'nodev'] }),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('from host\nro\n');
    const w = run(['sh', '-c', 'echo hi > /data/new && cat /data/new'], (c) =>
      c.mounts.push({ destination: '/data', type: 'none', source: host, options: ['bind', 'rw'] }),
    );
    expect(w.stdout).toBe('hi\n');
    expect(existsSync(join(host, 'new'))).toBe(true);
  });

  it('bind mounts a single file', () => {
    const host = s.tempDir();
    writeFileSync(join(host, 'motd'), 'hello file\n');
    const r = run(['cat', '/etc/motd'], (c) => c.mounts.push({ destination: '/etc/motd', type: 'bind', source: join(host, 'motd'), options: ['bind', 'ro'] }));
    expect(r.stdout).toBe('hello file\n');
  });

  it('mounts tmpfs with flags and data, creating the destination', () => {
    const r = run(['sh', '-c', 'grep " /scratch " /proc/self/mountinfo'], (c) =>
      c.mounts.push({ destination: '/scratch/', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'size=1m', 'mode=700'] }),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/noexec/);
    expect(r.stdout).toMatch(/nosuid/);
    expect(r.stdout).toMatch(/size=1024k/);
    expect(r.stdout).toMatch(/mode=700/);
  });

  it('resolves a symlinked destination inside the rootfs, never on the host', () => {
    const hostDir = s.tempDir();
    const b = s.bundle({
      args: ['sh', '-c', 'grep -c " /inside " /proc/self/mountinfo'],
      edit: (c) => c.mounts.push({ destination: '/evil', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }),
    });
    // An absolute symlink pointing at a host directory, and a relative one climbing out.
    symlinkSync('/inside', join(b, 'rootfs', 'evil'));
    mkdirSync(join(b, 'rootfs', 'inside'));
    const r = s.rt(['run', '-b', b, s.id()]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1\n');
    const b2 = s.bundle({
      args: ['true'],
      edit: (c) => c.mounts.push({ destination: '/up/x', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }),
    });
    symlinkSync(`../../../../../../../..${hostDir}`, join(b2, 'rootfs', 'up'));
    expect(s.rt(['run', '-b', b2, s.id()]).status).toBe(0);
    // The host directory the link named got nothing.
    expect(readdirSync(hostDir)).toEqual([]);
  });

  it('masks maskedPaths and makes readonlyPaths read-only', () => {
    const r = run(['sh', '-c', 'cat /proc/kcore | wc -c; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo rw || echo ro']);
    expect(r.stdout).toBe('0\n0\n' + 'ro\n');
  });

  it('mounts the container\'s cgroups read-only at /sys/fs/cgroup', () => {
    const r = run(['sh', '-c', 'ls /sys/fs/cgroup; touch /sys/fs/cgroup/x 2>/dev/null && echo rw || echo ro']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/memory\n/);
    expect(r.stdout).toMatch(/pids\n/);
    expect(r.stdout.trim().endsWith('ro')).toBe(true);
  });

  it('applies propagation options and rootfsPropagation', () => {
    const host = s.tempDir();
    const r = run(['sh', '-c', 'grep -E " / | /data " /proc/self/mountinfo'], (c) => {
      c.linux.rootfsPropagation = 'private';
      c.mounts.push({ destination: '/data', type: 'bind', source: host, options: ['rbind', 'rshared'] });
    });
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines.find((l) => l.split(' ')[4] === '/data')).toMatch(/shared:/);
    expect(lines.find((l) => l.split(' ')[4] === '/')).not.toMatch(/shared:/);
  });
});
