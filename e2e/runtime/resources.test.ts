// linux.resources beyond the basics, on the real kernel: the cgroup v2 eBPF device
// program (attached to a cgroup2 directory of this host's unified hierarchy) and
// every v1 resource this VM offers, each compared with runc on the same bundle.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attachDeviceFilter } from '../../runtime/src/cgroups/devices-bpf.js';
import { createCgroupManager } from '../../runtime/src/cgroups/manager.js';
import { loadCgroupNative } from '../../runtime/src/sys/cgroup-native.js';
import { canRun, isBerth, suite } from './rt.js';

const UNIFIED = '/sys/fs/cgroup/unified';
const hasUnified = existsSync(join(UNIFIED, 'cgroup.procs'));

/** Runs `script` in /bin/sh after moving the shell into the cgroup2 dir. */
function inCgroup(dir: string, script: string): string {
  const r = spawnSync('/bin/sh', ['-c', `echo $$ > ${dir}/cgroup.procs || exit 99\n${script}`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

const probe = (tmp: string) => `
try() { if eval "$2" 2>/tmp/.err-$$; then echo "$1 ok"; else echo "$1 $(sed 's/.*: //' /tmp/.err-$$)"; fi; rm -f /tmp/.err-$$; }
try null-read 'true < /dev/null'
try null-write 'true > /dev/null'
try zero-read 'true < /dev/zero'
try zero-write 'true > /dev/zero'
try urandom-read 'true < /dev/urandom'
try mknod-null 'mknod ${tmp}/null c 1 3'
try mknod-full 'mknod ${tmp}/full c 1 7'
`;

describe.skipIf(!canRun || !hasUnified || !isBerth)('cgroup v2 device program (eBPF)', () => {
  it('denied devices fail with EPERM, allowed ones open, on a real cgroup2 directory', () => {
    const dir = join(UNIFIED, `rt-res-devs-${randomBytes(4).toString('hex')}`);
    const tmp = mkdtempSync(join(tmpdir(), 'rt-res-devs-'));
    mkdirSync(dir);
    try {
      attachDeviceFilter(loadCgroupNative(), dir, [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 5, access: 'r' },
        { allow: true, type: 'c', major: 1, minor: 9, access: 'rw' },
        // A later deny wins over the earlier allow for what it names.
        { allow: false, type: 'c', major: 1, minor: 9, access: 'r' },
      ]);
      const out = inCgroup(dir, probe(tmp)).trim().split('\n');
      expect(out).toEqual([
        'null-read ok',
        'null-write ok',
        'zero-read ok',
        'zero-write Operation not permitted',
        'urandom-read Operation not permitted',
        'mknod-null ok',
        'mknod-full Operation not permitted',
      ]);
      // Replacing the rules (what an update does) detaches the old program.
      attachDeviceFilter(loadCgroupNative(), dir, [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 9, access: 'r' }]);
      rmSync(join(tmp, 'null'), { force: true });
      const after = inCgroup(dir, probe(tmp)).trim().split('\n');
      expect(after).toContain('null-read Operation not permitted');
      expect(after).toContain('urandom-read ok');
      // Outside the cgroup nothing changed.
      expect(spawnSync('/bin/sh', ['-c', 'true < /dev/urandom && : > /dev/zero']).status).toBe(0);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
      // The shells have exited; the program goes with the directory.
      rmdirSync(dir);
    }
  });

  it('the v2 manager loads the program from linux.resources.devices', () => {
    // The unified hierarchy as a v2 root: this host's cgroup2 mount has no controllers,
    // but device programs work on any cgroup2 directory.
    const id = `rt-res-mgr-${randomBytes(4).toString('hex')}`;
    const m = createCgroupManager({
      id,
      root: UNIFIED,
      cgroupsPath: `/${id}`,
      deviceFilter: (dir, rules) => attachDeviceFilter(loadCgroupNative(), dir, rules),
    });
    expect(m.version).toBe(2);
    const dir = m.paths['']!;
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      m.apply(sleeper.pid!);
      m.set({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
      sleeper.kill('SIGKILL');
      const out = inCgroup(dir, 'try() { if eval "$2" 2>/dev/null; then echo "$1 ok"; else echo "$1 denied"; fi; }\ntry null "true < /dev/null"\ntry zero "true < /dev/zero"');
      expect(out).toBe('null ok\nzero denied\n');
    } finally {
      sleeper.kill('SIGKILL');
      m.destroy();
    }
    expect(existsSync(dir)).toBe(false);
  });
});

const V1 = '/sys/fs/cgroup';
const v1 = existsSync(`${V1}/memory/memory.limit_in_bytes`);
const hasRunc = spawnSync('runc', ['--version']).status === 0;

interface Outcome {
  ok: boolean;
  stderr: string;
  /** controller/file → content, read while the container runs. */
  files: Record<string, string>;
}

/**
 * Each case runs the same bundle under berth-runtime and under runc, each at its own
 * absolute cgroupsPath, and compares: both start or both fail; when they start, the
 * listed cgroup files hold the same values. `expected` pins berth's own values too.
 */
describe.skipIf(!canRun || !v1 || !isBerth || !hasRunc)('linux.resources on this v1 host, berth-runtime beside runc', () => {
  const s = suite('res');
  const runcRoot = s.tempDir();

  const runc = (args: string[]): { status: number | null; stderr: string } => {
    const dir = s.tempDir();
    const err = openSync(join(dir, 'err'), 'w+');
    try {
      const r = spawnSync('runc', ['--root', runcRoot, ...args], { stdio: ['ignore', 'ignore', err], timeout: 30_000 });
      return { status: r.status, stderr: readFileSync(join(dir, 'err'), 'utf8') };
    } finally {
      closeSync(err);
    }
  };

  const outcome = (ok: boolean, stderr: string, path: string, files: string[]): Outcome => {
    const got: Record<string, string> = {};
    // Line order of devices.list follows the kernel's insertion order, not the rules': compare sorted.
    if (ok) for (const f of files) got[f] = readFileSync(`${V1}/${f.split('/')[0]}${path}/${f.split('/')[1]}`, 'utf8').trim().split('\n').sort().join('\n');
    return { ok, stderr, files: got };
  };

  const compare = (edit: (c: any) => void, files: string[]): { berth: Outcome; runc: Outcome } => {
    const id = s.id();
    const rid = `rt-res-runc-${randomBytes(4).toString('hex')}`;
    const b = s.bundle({ args: ['sleep', '60'], edit: (c) => edit(c) });
    const config = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8'));
    const berthPath = `/${id}`;
    const runcPath = `/${rid}`;
    let berth: Outcome;
    let theirs: Outcome;
    try {
      // One bundle, two cgroupsPaths: rewrite config.json between the two runs.
      config.linux.cgroupsPath = berthPath;
      writeConfig(b, config);
      const r = s.rt(['run', '-d', '-b', b, id], { files: true });
      berth = outcome(r.status === 0, r.stderr, berthPath, files);
      config.linux.cgroupsPath = runcPath;
      writeConfig(b, config);
      const t = runc(['run', '-d', '-b', b, rid]);
      theirs = outcome(t.status === 0, t.stderr, runcPath, files);
    } finally {
      s.rt(['delete', '--force', id]);
      runc(['delete', '--force', rid]);
    }
    if (!berth.ok) {
      // A refused config leaves nothing behind: no state, no cgroup.
      expect(s.status(id)).toBeUndefined();
      for (const c of ['memory', 'pids', 'cpu', 'blkio', 'devices', 'freezer']) expect(existsSync(`${V1}/${c}${berthPath}`), c).toBe(false);
    }
    expect(berth.ok, `berth: ${berth.stderr} / runc: ${theirs.stderr}`).toBe(theirs.ok);
    expect(berth.files).toEqual(theirs.files);
    return { berth, runc: theirs };
  };

  const res = (r: object) => (c: any) => {
    c.linux.resources = { ...c.linux.resources, ...r };
  };

  it('blockIO: BFQ weight and throttles (this kernel has no CFQ blkio.weight)', () => {
    const { berth } = compare(
      res({
        blockIO: {
          weight: 300,
          throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1048576 }],
          throttleWriteBpsDevice: [{ major: 254, minor: 0, rate: 2097152 }],
          throttleReadIOPSDevice: [{ major: 254, minor: 0, rate: 300 }],
          throttleWriteIOPSDevice: [{ major: 254, minor: 0, rate: 100 }],
        },
      }),
      ['blkio/blkio.bfq.weight', 'blkio/blkio.throttle.read_bps_device', 'blkio/blkio.throttle.write_bps_device', 'blkio/blkio.throttle.read_iops_device', 'blkio/blkio.throttle.write_iops_device'],
    );
    expect(berth.files['blkio/blkio.bfq.weight']).toMatch(/300$/);
    expect(berth.files['blkio/blkio.throttle.write_iops_device']).toBe('254:0 100');
  });

  it('blockIO leafWeight and weightDevice fail like runc where the kernel lacks them', () => {
    // No blkio.leaf_weight on this kernel: both fail naming the file.
    expect(compare(res({ blockIO: { leafWeight: 300 } }), []).berth.stderr).toMatch(/blkio\.leaf_weight/);
    // BFQ's weight_device only for a device BFQ schedules; 8:0 does not exist here.
    expect(compare(res({ blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 200 }] } }), []).berth.stderr).toMatch(/weight_device.*no such device/);
  });

  it('memory: swappiness, disableOOMKiller, useHierarchy, kernel; bad swappiness fails', () => {
    const { berth } = compare(res({ memory: { limit: 64 << 20, swappiness: 10, disableOOMKiller: true, useHierarchy: true, kernel: 32 << 20 } }), [
      'memory/memory.limit_in_bytes',
      'memory/memory.swappiness',
      'memory/memory.oom_control',
      'memory/memory.use_hierarchy',
      // runc ignores kernel (with a warning); berth writes it and this kernel ignores the write.
      'memory/memory.kmem.limit_in_bytes',
    ]);
    expect(berth.files['memory/memory.swappiness']).toBe('10');
    expect(berth.files['memory/memory.oom_control']).toMatch(/oom_kill_disable 1/);
    expect(compare(res({ memory: { swappiness: 101 } }), []).berth.stderr).toMatch(/swappiness.*101/);
  });

  it('memory.kernelTCP: berth sets it, runc 1.1.5 ignores it (divergence)', () => {
    const id = s.id();
    const b = s.bundle({ args: ['sleep', '60'], edit: (c) => {
      c.linux.cgroupsPath = `/${id}`;
      c.linux.resources.memory = { kernelTCP: 16 << 20 };
    } });
    expect(s.rt(['run', '-d', '-b', b, id], { files: true }).status).toBe(0);
    expect(readFileSync(`${V1}/memory/${id}/memory.kmem.tcp.limit_in_bytes`, 'utf8').trim()).toBe(String(16 << 20));
  });

  it('cpu: realtime period/runtime, quota, cpuset', () => {
    const { berth } = compare(
      res({ cpu: { realtimePeriod: 500000, realtimeRuntime: 1000, quota: 50000, period: 100000, cpus: '0', mems: '0' } }),
      ['cpu/cpu.rt_period_us', 'cpu/cpu.rt_runtime_us', 'cpu/cpu.cfs_quota_us', 'cpuset/cpuset.cpus'],
    );
    expect(berth.files['cpu/cpu.rt_runtime_us']).toBe('1000');
  });

  it('cpu idle and burst: berth sets them, runc 1.1.5 ignores both (divergence: added in runc 1.2)', () => {
    const id = s.id();
    const b = s.bundle({ args: ['sleep', '60'], edit: (c) => {
      c.linux.cgroupsPath = `/${id}`;
      c.linux.resources.cpu = { burst: 1000, quota: 50000, period: 100000 };
    } });
    expect(s.rt(['run', '-d', '-b', b, id], { files: true }).status).toBe(0);
    // idle is set once the container runs: its Node init stage would starve under SCHED_IDLE on a busy machine.
    expect(s.rt(['update', '-r', '-', id], { input: JSON.stringify({ cpu: { idle: 1 } }) }).status).toBe(0);
    expect(readFileSync(`${V1}/cpu/${id}/cpu.idle`, 'utf8').trim()).toBe('1');
    expect(readFileSync(`${V1}/cpu/${id}/cpu.cfs_burst_us`, 'utf8').trim()).toBe('1000');
    // An idle cgroup starves on a busy machine, and so would its exit: back to normal first.
    expect(s.rt(['update', '-r', '-', id], { input: JSON.stringify({ cpu: { idle: 0 } }) }).status).toBe(0);
    expect(readFileSync(`${V1}/cpu/${id}/cpu.idle`, 'utf8').trim()).toBe('0');
  });

  it('cpu realtime runtime below berth’s default parent: the levels above get the budget', () => {
    const id = s.id();
    const b = s.bundle({ args: ['sleep', '60'], edit: (c) => (c.linux.resources.cpu = { realtimeRuntime: 1000 }) });
    const r = s.rt(['run', '-d', '-b', b, id], { files: true });
    expect(r.stderr).toBe('');
    expect(readFileSync(`${V1}/cpu/berth/${id}/cpu.rt_runtime_us`, 'utf8').trim()).toBe('1000');
    expect(Number(readFileSync(`${V1}/cpu/berth/cpu.rt_runtime_us`, 'utf8'))).toBeGreaterThanOrEqual(1000);
  });

  it('devices: allow/deny lists in order give the same devices.list as runc', () => {
    const { berth } = compare(
      (c) => {
        c.linux.resources.devices = [
          { allow: false, access: 'rwm' },
          { allow: true, type: 'c', major: 1, minor: 1, access: 'rw' },
          { allow: true, type: 'b', major: 254, minor: null, access: 'r' },
          { allow: false, type: 'c', major: 1, minor: 1, access: 'w' },
        ];
      },
      ['devices/devices.list'],
    );
    expect(berth.files['devices/devices.list']).toMatch(/^c 1:1 r$/m);
    expect(berth.files['devices/devices.list']).toMatch(/^b 254:\* r$/m);
  });

  it('controllers this VM lacks (hugetlb, net_cls, net_prio, rdma), unified on v1 and intelRdt fail like runc', () => {
    const cases: [(c: any) => void, RegExp][] = [
      [res({ hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }] }), /hugepageLimits.*hugetlb/],
      [res({ network: { classID: 1048577 } }), /network\.classID.*net_cls/],
      [res({ network: { priorities: [{ name: 'lo', priority: 2 }] } }), /network\.priorities.*net_prio/],
      [res({ rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } } }), /rdma/],
      [res({ unified: { 'memory.high': '1000000' } }), /unified.*cgroup v2/],
      [(c) => (c.linux.intelRdt = { l3CacheSchema: 'L3:0=f' }), /Intel RDT\/CAT is not enabled/],
    ];
    for (const [edit, message] of cases) {
      if (message.source.startsWith('Intel') && existsSync('/sys/fs/resctrl/info/L3')) continue;
      expect(compare(edit, []).berth.stderr).toMatch(message);
    }
  });
});

function writeConfig(bundle: string, config: unknown): void {
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
}
