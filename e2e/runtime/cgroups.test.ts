// linux.resources and cgroupsPath through the runtime: the container's cgroup
// gets the limits, the device rules are enforced, and the cgroup is removed on delete.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canRun, cgroupOf, suite } from './rt.js';

const v1 = existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes');

describe.skipIf(!canRun || !v1)('cgroups (v1 host)', () => {
  const s = suite('cg');

  it('applies memory, pids and cpu limits at cgroupsPath and removes the cgroup on delete', async () => {
    const id = s.id();
    const path = `/${id}`;
    const b = s.bundle({
      args: ['sleep', '60'],
      edit: (c) => {
        c.linux.cgroupsPath = path;
        c.linux.resources = {
          ...c.linux.resources,
          memory: { limit: 64 * 1024 * 1024 },
          pids: { limit: 42 },
          cpu: { shares: 512, quota: 50000, period: 100000 },
        };
      },
    });
    expect(s.rt(['run', '-d', '-b', b, id], { files: true }).status).toBe(0);
    const pid = JSON.parse(s.rt(['state', id]).stdout).pid;
    expect(cgroupOf(pid, 'memory')).toBe(path);
    expect(readFileSync(`/sys/fs/cgroup/memory${path}/memory.limit_in_bytes`, 'utf8').trim()).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(`/sys/fs/cgroup/pids${path}/pids.max`, 'utf8').trim()).toBe('42');
    expect(readFileSync(`/sys/fs/cgroup/cpu${path}/cpu.shares`, 'utf8').trim()).toBe('512');
    expect(readFileSync(`/sys/fs/cgroup/cpu${path}/cpu.cfs_quota_us`, 'utf8').trim()).toBe('50000');
    // Inside, with a cgroup namespace, the container sees its own limits at its root.
    const inside = s.rt(['exec', id, 'cat', '/sys/fs/cgroup/pids/pids.max']);
    expect(inside.stdout).toBe('42\n');
    expect(s.rt(['delete', '--force', id]).status).toBe(0);
    for (const c of ['memory', 'pids', 'cpu', 'freezer']) expect(existsSync(`/sys/fs/cgroup/${c}${path}`), c).toBe(false);
  });

  it('update changes the limits of a running container', () => {
    const id = s.id();
    const path = `/${id}`;
    const b = s.bundle({ args: ['sleep', '60'], edit: (c) => (c.linux.cgroupsPath = path) });
    expect(s.rt(['run', '-d', '-b', b, id], { files: true }).status).toBe(0);
    expect(s.rt(['update', '--pids-limit', '17', id]).status).toBe(0);
    expect(readFileSync(`/sys/fs/cgroup/pids${path}/pids.max`, 'utf8').trim()).toBe('17');
    expect(s.rt(['update', '-r', '-', id], { input: JSON.stringify({ memory: { limit: 100 * 1024 * 1024 } }) }).status).toBe(0);
    expect(readFileSync(`/sys/fs/cgroup/memory${path}/memory.limit_in_bytes`, 'utf8').trim()).toBe(String(100 * 1024 * 1024));
  });

  it('enforces device rules: denied devices cannot be opened, the defaults can', () => {
    const b = s.bundle({
      args: ['sh', '-c', 'echo x > /dev/null && echo null-ok; head -c1 /dev/rt-mem >/dev/null 2>&1 && echo mem-open || echo mem-denied'],
      edit: (c) => {
        c.linux.devices = [{ path: '/dev/rt-mem', type: 'c', major: 1, minor: 1, fileMode: 0o600 }];
      },
    });
    const r = s.rt(['run', '-b', b, s.id()]);
    expect(r.stdout).toBe('null-ok\nmem-denied\n');
  });

  it('a pids limit is enforced inside the container', () => {
    const b = s.bundle({
      args: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait; echo done'],
      edit: (c) => (c.linux.resources.pids = { limit: 4 }),
    });
    const r = s.rt(['run', '-b', b, s.id()]);
    // busybox sh gives up at the first failed fork; the kernel refused it.
    expect(r.stderr).toMatch(/fork|resource|Resource/i);
  });
});
