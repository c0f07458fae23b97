// The cgroup managers against the real /sys/fs/cgroup, as root. This VM is hybrid
// (v1 controllers, an empty cgroup2 at /sys/fs/cgroup/unified): these tests drive
// the v1 manager and check that the unified and name=systemd hierarchies are
// joined too. v2 is covered by runtime/src/cgroups/manager.test.ts, since no
// cgroup2 hierarchy with controllers can be mounted here.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CgroupError, type CgroupManager, createCgroupManager, detectCgroupVersion } from '../../runtime/src/cgroups/manager.js';

const ROOT = '/sys/fs/cgroup';
const usable = process.getuid?.() === 0 && existsSync(`${ROOT}/memory/cgroup.procs`) && existsSync(`${ROOT}/freezer/cgroup.procs`);

const children: ChildProcess[] = [];
const managers: CgroupManager[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const m of managers.splice(0)) {
    try {
      if (m.exists()) {
        if (m.state() === 'frozen') m.thaw();
        m.killAll(9);
        m.destroy();
      }
    } catch {}
  }
});

function uniqueId(): string {
  return `cg-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function manager(cgroupsPath: string, id = uniqueId()): CgroupManager {
  const m = createCgroupManager({ id, cgroupsPath });
  managers.push(m);
  return m;
}

const tmpDirs: string[] = [];
afterEach(() => {
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Starts `script` once go() is called, so the test can move the shell into a cgroup first. */
function startGated(script: string): { child: ChildProcess & { pid: number }; go: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'cg-e2e-'));
  tmpDirs.push(dir);
  const child = start(`while [ ! -e ${dir}/go ]; do sleep 0.02; done; ${script}`);
  return { child, go: () => writeFileSync(`${dir}/go`, '') };
}

function start(script: string): ChildProcess & { pid: number } {
  const c = spawn('/bin/sh', ['-c', script], { stdio: 'ignore' });
  children.push(c);
  if (!c.pid) throw new Error('spawn failed');
  return c as ChildProcess & { pid: number };
}

const read = (dir: string, file: string) => readFileSync(`${dir}/${file}`, 'utf8').trim();

function exited(c: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve({ code: c.exitCode, signal: c.signalCode });
  return new Promise((resolve) => c.once('exit', (code, signal) => resolve({ code, signal })));
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe.skipIf(!usable)('cgroup v1 manager on the real kernel', () => {
  it('detects this host as v1 (hybrid)', () => {
    expect(detectCgroupVersion()).toBe(1);
  });

  it('applies, limits, freezes, lists, reports, kills and removes without leftovers', async () => {
    const id = uniqueId();
    const m = manager(`/berth-e2e-${id}`, id);
    expect(m.version).toBe(1);
    expect(m.exists()).toBe(false);
    // Two processes: the shell and its background sleep.
    const { child: c, go } = startGated('sleep 1000 & exec sleep 1001');
    m.apply(c.pid);
    expect(m.exists()).toBe(true);

    const own = readFileSync(`/proc/${c.pid}/cgroup`, 'utf8');
    for (const name of ['memory', 'pids', 'freezer', 'cpu', 'devices', 'name=systemd']) {
      expect(own).toMatch(new RegExp(`^\\d+:${name}:/berth-e2e-${id}$`, 'm'));
    }
    expect(own).toMatch(new RegExp(`^0::/berth-e2e-${id}$`, 'm'));

    m.set({
      memory: { limit: 64 << 20, swap: 96 << 20, reservation: 32 << 20 },
      pids: { limit: 16 },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
        { allow: true, type: 'c', major: 136, access: 'rw' },
      ],
    });
    const p = m.paths;
    expect(read(p.memory!, 'memory.limit_in_bytes')).toBe(String(64 << 20));
    expect(read(p.memory!, 'memory.memsw.limit_in_bytes')).toBe(String(96 << 20));
    expect(read(p.memory!, 'memory.soft_limit_in_bytes')).toBe(String(32 << 20));
    expect(read(p.pids!, 'pids.max')).toBe('16');
    expect(read(p.cpu!, 'cpu.shares')).toBe('512');
    expect(read(p.cpu!, 'cpu.cfs_quota_us')).toBe('50000');
    expect(read(p.cpuset!, 'cpuset.cpus')).toBe('0');
    expect(read(p.devices!, 'devices.list').split('\n').sort()).toEqual(['c 1:3 rwm', 'c 136:* rw'].sort());

    go();
    await until(() => m.pids().length === 2 && readFileSync(`/proc/${c.pid}/cmdline`, 'utf8').includes('1001'), 'the two sleeps to start');
    const pids = m.pids();
    expect(pids).toContain(c.pid);

    m.freeze();
    expect(m.state()).toBe('frozen');
    expect(read(p.freezer!, 'freezer.state')).toBe('FROZEN');
    m.thaw();
    expect(m.state()).toBe('thawed');
    expect(read(p.freezer!, 'freezer.state')).toBe('THAWED');

    const stats = m.stats();
    expect(stats.pids).toEqual({ current: 2, limit: 16 });
    expect(stats.memory.limit).toBe(64 << 20);
    expect(stats.memory.swapLimit).toBe(96 << 20);
    expect(stats.memory.usage).toBeGreaterThan(0);
    expect(stats.cpu.usageTotal).toBeGreaterThan(0);

    m.killAll(9);
    expect(await exited(c)).toEqual({ code: null, signal: 'SIGKILL' });
    await until(() => m.pids().length === 0, 'every process to exit');

    m.destroy();
    expect(m.exists()).toBe(false);
    for (const dir of Object.values(p)) expect(existsSync(dir), dir).toBe(false);
  });

  it('enforces pids.max on the real kernel', async () => {
    const m = manager(`/berth-e2e-${uniqueId()}`);
    // The shell forks only once the test has moved it in and set the limit.
    const { child: c, go } = startGated('for i in 1 2 3 4 5 6 7 8; do sleep 1000 & done; wait');
    m.apply(c.pid);
    m.set({ pids: { limit: 4 } });
    go();
    await pidsTest(m, c);
  });

  async function pidsTest(m: CgroupManager, c: ChildProcess): Promise<void> {
    // dash gives up at the first refused fork; the kernel counts the refusals.
    await until(() => Number(read(m.paths.pids!, 'pids.events').split(' ')[1]) > 0, 'a fork to be refused');
    const n = m.pids().length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(4);
    expect(m.stats().pids.limit).toBe(4);
    m.killAll(9);
    await exited(c);
    m.destroy();
    expect(m.exists()).toBe(false);
  }

  it('places a relative cgroupsPath below the runtime own cgroup', () => {
    const m = manager(`berth-e2e-rel-${uniqueId()}`);
    const own = /^\d+:memory:(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))![1]!;
    expect(m.paths.memory).toBe(`${ROOT}/memory${own === '/' ? '' : own}/${m.paths.memory!.split('/').at(-1)}`);
    const c = start('exec sleep 1000');
    m.apply(c.pid);
    expect(readFileSync(`/proc/${c.pid}/cgroup`, 'utf8')).toContain(m.paths.memory!.slice(`${ROOT}/memory`.length));
    m.killAll(9);
    m.destroy();
    expect(existsSync(m.paths.memory!)).toBe(false);
  });

  it('names a resource this host cannot honour and leaves nothing after destroy', () => {
    const m = manager(`/berth-e2e-${uniqueId()}`);
    const c = start('exec sleep 1000');
    m.apply(c.pid);
    expect(() => m.set({ hugepageLimits: [{ pageSize: '2MB', limit: 1 << 21 }] })).toThrow(/hugepageLimits needs the cgroup v1 "hugetlb" controller/);
    // CFQ's blkio.weight is gone; BFQ's blkio.bfq.weight takes the weight instead.
    m.set({ blockIO: { weight: 500 } });
    expect(read(m.paths.blkio!, 'blkio.bfq.weight')).toMatch(/500/);
    // ...but BFQ has no leaf weight: the error names the file.
    expect(() => m.set({ blockIO: { leafWeight: 500 } })).toThrow(CgroupError);
    expect(() => m.set({ blockIO: { leafWeight: 500 } })).toThrow(/blkio\/berth-e2e-.*\/blkio\.leaf_weight for linux\.resources\.blockIO\.leafWeight: no such file/);
    expect(() => m.set({ unified: { 'memory.high': '1' } })).toThrow(/needs cgroup v2/);
    m.killAll(9);
    m.destroy();
    for (const dir of Object.values(m.paths)) expect(existsSync(dir)).toBe(false);
  });

  it('refuses a systemd cgroupsPath before touching the filesystem', () => {
    expect(() => createCgroupManager({ id: 'x', cgroupsPath: 'system.slice:berth:x' })).toThrow(/systemd/);
  });
});
