// Namespaces: new pid, uts, ipc, network, mount, cgroup; and joined by path.
import { readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canRun, isBerth, suite } from './rt.js';

describe.skipIf(!canRun)('namespaces', () => {
  const s = suite('ns');

  it('gives the process new pid, uts, ipc, net, mount and cgroup namespaces', () => {
    const b = s.bundle({
      args: ['sh', '-c', 'echo pid=$$; hostname; ls /sys/class/net; for n in pid uts ipc net mnt cgroup; do readlink /proc/self/ns/$n; done'],
      edit: (c) => {
        c.hostname = 'rt-host';
        c.domainname = 'rt-domain';
      },
    });
    const r = s.rt(['run', '-b', b, s.id()]);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('pid=1');
    expect(lines[1]).toBe('rt-host');
    expect(lines[2]).toBe('lo');
    const host = ['pid', 'uts', 'ipc', 'net', 'mnt', 'cgroup'].map((n) => readlinkSync(`/proc/self/ns/${n}`));
    for (const [i, link] of lines.slice(3).entries()) expect(link).not.toBe(host[i]);
  });

  // runc 1.1 (Debian 12) predates runtime-spec 1.1's domainname and ignores it.
  it.skipIf(!isBerth)('sets the domainname', () => {
    const b = s.bundle({ args: ['cat', '/proc/sys/kernel/domainname'], edit: (c) => (c.domainname = 'rt-domain') });
    expect(s.rt(['run', '-b', b, s.id()]).stdout).toBe('rt-domain\n');
  });

  it('stays in the host namespaces that are not listed', () => {
    const b = s.bundle({
      args: ['readlink', '/proc/self/ns/net'],
      edit: (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'network')),
    });
    expect(s.rt(['run', '-b', b, s.id()]).stdout.trim()).toBe(readlinkSync('/proc/self/ns/net'));
  });

  // Not run against runc: runc 1.1 without a mount namespace bind-mounts the rootfs
  // (and any config mounts) in the host's namespace and leaves them there.
  it.skipIf(!isBerth)('with no namespaces at all, still runs inside the rootfs', () => {
    const b = s.bundle({
      args: ['sh', '-c', 'cat /etc/hostname; readlink /proc/self/ns/mnt 2>/dev/null || echo no-proc'],
      edit: (c) => {
        c.linux.namespaces = [];
        delete c.hostname;
        delete c.linux.maskedPaths;
        delete c.linux.readonlyPaths;
        // Without a mount namespace berth-runtime mounts nothing; it only chroots.
        c.mounts = [];
      },
    });
    const r = s.rt(['run', '-b', b, s.id()]);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')[0]).toBe('busybox');
  });

  it('refuses maskedPaths without a mount namespace', () => {
    const id = s.id();
    const b = s.bundle({ args: ['true'], edit: (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'mount')) });
    const r = s.rt(['run', '-b', b, id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/MNT namespace/);
    expect(s.status(id)).toBeUndefined();
  });

  it('joins namespaces by path', () => {
    const first = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '60'] }), first], { files: true }).status).toBe(0);
    const pid = JSON.parse(s.rt(['state', first]).stdout).pid;
    const want = ['net', 'ipc', 'uts'].map((n) => readlinkSync(`/proc/${pid}/ns/${n}`));
    const b = s.bundle({
      args: ['sh', '-c', 'for n in net ipc uts; do readlink /proc/self/ns/$n; done; hostname'],
      edit: (c) => {
        delete c.hostname;
        c.linux.namespaces = c.linux.namespaces.map((n: any) =>
          n.type === 'network' ? { type: 'network', path: `/proc/${pid}/ns/net` } : n.type === 'ipc' ? { type: 'ipc', path: `/proc/${pid}/ns/ipc` } : n.type === 'uts' ? { type: 'uts', path: `/proc/${pid}/ns/uts` } : n,
        );
      },
    });
    const r = s.rt(['run', '-b', b, s.id()]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([...want, 'berth']);
  });

  it('joins a pid namespace by path: the container sees the other init', () => {
    const first = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '60'] }), first], { files: true }).status).toBe(0);
    const pid = JSON.parse(s.rt(['state', first]).stdout).pid;
    const b = s.bundle({
      args: ['cat', '/proc/1/cmdline'],
      edit: (c) => (c.linux.namespaces = c.linux.namespaces.map((n: any) => (n.type === 'pid' ? { type: 'pid', path: `/proc/${pid}/ns/pid` } : n))),
    });
    expect(s.rt(['run', '-b', b, s.id()]).stdout).toBe('sleep\u000060\u0000');
  });
});
