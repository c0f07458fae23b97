import { describe, expect, it } from 'vitest';
import { fakeV1Host, fakeV2Host } from './fake.js';
import { CgroupError, createCgroupManager, detectCgroupVersion } from './manager.js';
import { normaliseCgroupsPath } from './paths.js';
import { blkioWeightToIoWeight, sharesToWeight, swapToV2 } from './v2.js';

const R = '/sys/fs/cgroup';

function throwsCgroup(fn: () => unknown, message: RegExp): CgroupError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CgroupError);
    expect((e as Error).message).toMatch(message);
    return e as CgroupError;
  }
  throw new Error('expected a CgroupError');
}

describe('cgroupsPath', () => {
  it('defaults to /berth/<id>, keeps absolute paths, and refuses systemd paths', () => {
    expect(normaliseCgroupsPath(undefined, 'c1')).toEqual({ path: '/berth/c1', relative: false });
    expect(normaliseCgroupsPath('', 'c1')).toEqual({ path: '/berth/c1', relative: false });
    expect(normaliseCgroupsPath('/a/b/', 'c1')).toEqual({ path: '/a/b', relative: false });
    expect(normaliseCgroupsPath('a/../../b', 'c1')).toEqual({ path: 'b', relative: true });
    expect(normaliseCgroupsPath('/../../etc', 'c1')).toEqual({ path: '/etc', relative: false });
    throwsCgroup(() => normaliseCgroupsPath('system.slice:berth:c1', 'c1'), /systemd slice:prefix:name.*no systemd cgroup driver/);
    throwsCgroup(() => normaliseCgroupsPath('/', 'c1'), /root cgroup/);
  });

  it('places v1 paths per hierarchy, relative ones below the runtime own cgroup', () => {
    const fs = fakeV1Host({ own: '/user.slice/me' });
    const abs = createCgroupManager({ id: 'c1', sys: fs });
    expect(abs.version).toBe(1);
    expect(abs.paths).toEqual({
      cpu: `${R}/cpu/berth/c1`,
      cpuacct: `${R}/cpuacct/berth/c1`,
      cpuset: `${R}/cpuset/berth/c1`,
      memory: `${R}/memory/berth/c1`,
      devices: `${R}/devices/berth/c1`,
      freezer: `${R}/freezer/berth/c1`,
      blkio: `${R}/blkio/berth/c1`,
      pids: `${R}/pids/berth/c1`,
      'name=systemd': `${R}/systemd/berth/c1`,
      '': `${R}/unified/berth/c1`,
    });
    const rel = createCgroupManager({ id: 'c1', cgroupsPath: 'ctr/c1', sys: fs });
    expect(rel.paths.memory).toBe(`${R}/memory/user.slice/me/ctr/c1`);
    expect(rel.paths['']).toBe(`${R}/unified/user.slice/me/ctr/c1`);
  });

  it('detects v2 from cgroup.controllers at the root', () => {
    expect(detectCgroupVersion(R, fakeV2Host())).toBe(2);
    expect(detectCgroupVersion(R, fakeV1Host())).toBe(1);
    const m = createCgroupManager({ id: 'c2', cgroupsPath: 'sub/c2', sys: fakeV2Host({ own: '/init.scope' }) });
    expect(m.version).toBe(2);
    expect(m.paths).toEqual({ '': `${R}/init.scope/sub/c2` });
  });
});

describe('v1', () => {
  it('apply creates every hierarchy, seeds cpuset and joins the pid', () => {
    const fs = fakeV1Host();
    const m = createCgroupManager({ id: 'c1', sys: fs });
    m.apply(1234);
    expect(fs.writesUnder(`${R}/cpuset`)).toEqual(['berth/cpuset.cpus=0-1', 'berth/cpuset.mems=0', 'berth/c1/cpuset.cpus=0-1', 'berth/c1/cpuset.mems=0', 'berth/c1/cgroup.procs=1234']);
    for (const dir of new Set(Object.values(m.paths))) expect(fs.read(`${dir}/cgroup.procs`)).toBe('1234\n');
    expect(m.pids()).toEqual([1234]);
    expect(m.exists()).toBe(true);
    throwsCgroup(() => m.apply(0), /invalid pid 0/);
  });

  it('writes a full resources block to the right files in order', () => {
    const fs = fakeV1Host({ extra: ['hugetlb', 'net_cls', 'net_prio', 'rdma'] });
    const m = createCgroupManager({ id: 'c1', sys: fs });
    m.apply(10);
    fs.writes.length = 0;
    m.set({
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
        { allow: true, type: 'c', major: 136, access: 'rw' },
        { allow: false, type: 'c', major: 5, minor: 1, access: 'w' },
      ],
      memory: { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20, kernelTCP: 1 << 20, swappiness: 10, disableOOMKiller: true, useHierarchy: true },
      cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000, realtimePeriod: 1000000, realtimeRuntime: 950000, cpus: '0', mems: '0', idle: 0 },
      pids: { limit: 32 },
      blockIO: {
        weight: 500,
        leafWeight: 300,
        weightDevice: [{ major: 8, minor: 0, weight: 100, leafWeight: 50 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2000 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 30 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 40 }],
      },
      hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }],
      network: { classID: 0x100001, priorities: [{ name: 'eth0', priority: 5 }, { name: 'lo', priority: 1 }] },
      rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 1000 }, mlx4_0: { hcaHandles: 1 } },
    });
    expect(fs.writes.map((w) => `${w.path.slice(R.length + 1)}=${w.data}`)).toEqual([
      'devices/berth/c1/devices.deny=a',
      'devices/berth/c1/devices.allow=c 1:3 rwm',
      'devices/berth/c1/devices.allow=c 136:* rw',
      'devices/berth/c1/devices.deny=c 5:1 w',
      // The current limit is unlimited, so memory goes first and memsw stays >= it.
      `memory/berth/c1/memory.limit_in_bytes=${64 << 20}`,
      `memory/berth/c1/memory.memsw.limit_in_bytes=${128 << 20}`,
      `memory/berth/c1/memory.soft_limit_in_bytes=${32 << 20}`,
      `memory/berth/c1/memory.kmem.tcp.limit_in_bytes=${1 << 20}`,
      'memory/berth/c1/memory.swappiness=10',
      'memory/berth/c1/memory.oom_control=1',
      'memory/berth/c1/memory.use_hierarchy=1',
      'cpu/berth/c1/cpu.shares=512',
      'cpu/berth/c1/cpu.cfs_period_us=100000',
      'cpu/berth/c1/cpu.cfs_quota_us=50000',
      'cpu/berth/c1/cpu.cfs_burst_us=1000',
      'cpu/berth/c1/cpu.rt_period_us=1000000',
      'cpu/berth/c1/cpu.rt_runtime_us=950000',
      'cpu/berth/c1/cpu.idle=0',
      'cpuset/berth/c1/cpuset.cpus=0',
      'cpuset/berth/c1/cpuset.mems=0',
      'pids/berth/c1/pids.max=32',
      'blkio/berth/c1/blkio.weight=500',
      'blkio/berth/c1/blkio.leaf_weight=300',
      'blkio/berth/c1/blkio.weight_device=8:0 100',
      'blkio/berth/c1/blkio.leaf_weight_device=8:0 50',
      'blkio/berth/c1/blkio.throttle.read_bps_device=8:0 1000',
      'blkio/berth/c1/blkio.throttle.write_bps_device=8:0 2000',
      'blkio/berth/c1/blkio.throttle.read_iops_device=8:0 30',
      'blkio/berth/c1/blkio.throttle.write_iops_device=8:0 40',
      `hugetlb/berth/c1/hugetlb.2MB.limit_in_bytes=${4 << 20}`,
      'net_cls/berth/c1/net_cls.classid=1048577',
      'net_prio/berth/c1/net_prio.ifpriomap=eth0 5',
      'net_prio/berth/c1/net_prio.ifpriomap=lo 1',
      'rdma/berth/c1/rdma.max=mlx5_1 hca_handle=3 hca_object=1000',
      'rdma/berth/c1/rdma.max=mlx4_0 hca_handle=1 hca_object=max',
    ]);
  });

  it('orders memsw before memory when growing past the current limit, treats -1 as unlimited, pids -1 as max', () => {
    const fs = fakeV1Host();
    const m = createCgroupManager({ id: 'c1', sys: fs });
    m.apply(10);
    const mem = `${R}/memory/berth/c1`;
    fs.seed(`${mem}/memory.limit_in_bytes`, String(64 << 20));
    fs.writes.length = 0;
    m.set({ memory: { limit: 256 << 20, swap: 512 << 20 } });
    expect(fs.writesUnder(mem)).toEqual([`memory.memsw.limit_in_bytes=${512 << 20}`, `memory.limit_in_bytes=${256 << 20}`]);
    fs.writes.length = 0;
    m.set({ memory: { limit: 32 << 20, swap: 64 << 20 } });
    expect(fs.writesUnder(mem)).toEqual([`memory.limit_in_bytes=${32 << 20}`, `memory.memsw.limit_in_bytes=${64 << 20}`]);
    fs.writes.length = 0;
    m.set({ memory: { limit: -1 }, pids: { limit: -1 } });
    expect(fs.writesUnder(R).map((w) => w.replace(/^.*\//, ''))).toEqual(['memory.memsw.limit_in_bytes=-1', 'memory.limit_in_bytes=-1', 'pids.max=max']);
  });

  it('starts devices from the given rules when the first does not deny all', () => {
    const fs = fakeV1Host();
    const m = createCgroupManager({ id: 'c1', sys: fs });
    m.apply(10);
    fs.writes.length = 0;
    m.set({ devices: [{ allow: true, type: 'b', major: 8, minor: 0, access: 'r' }] });
    expect(fs.writesUnder(`${R}/devices/berth/c1`)).toEqual(['devices.allow=b 8:0 r']);
  });

  it('names the missing controller or file, and writes nothing when a controller is missing', () => {
    const fs = fakeV1Host();
    const m = createCgroupManager({ id: 'c1', sys: fs });
    m.apply(10);
    fs.writes.length = 0;
    throwsCgroup(() => m.set({ memory: { limit: 1 << 20 }, hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }), /linux.resources.hugepageLimits needs the cgroup v1 "hugetlb" controller/);
    throwsCgroup(() => m.set({ network: { classID: 1 } }), /"net_cls" controller/);
    throwsCgroup(() => m.set({ unified: { 'memory.high': '1' } }), /unified \("memory.high"\) needs cgroup v2/);
    throwsCgroup(() => m.set({ bogus: {} } as never), /linux.resources.bogus: unknown resource/);
    expect(fs.writes).toEqual([]);
    // This kernel has no blkio.weight (CFQ is gone): the error names the file.
    fs.missing.add('blkio.weight');
    const e = throwsCgroup(() => m.set({ blockIO: { weight: 500 } }), /cannot write "500" to \/sys\/fs\/cgroup\/blkio\/berth\/c1\/blkio.weight for linux.resources.blockIO.weight: no such file/);
    expect(e.kind).toBe('Unavailable');
    // cpu.shares out of range: the kernel clamps, berth says so.
    const cpu = `${R}/cpu/berth/c1/cpu.shares`;
    const origWrite = fs.write.bind(fs);
    fs.write = (p, d) => origWrite(p, p === cpu ? '262144' : d);
    throwsCgroup(() => m.set({ cpu: { shares: 500000 } }), /kernel set 262144 instead of 500000/);
  });

  it('freezes, thaws, kills through the freezer and destroys every directory', () => {
    const fs = fakeV1Host();
    const signals: string[] = [];
    const m = createCgroupManager({ id: 'c1', sys: fs, signal: (pid, sig) => signals.push(`${pid}:${sig}:${fs.read(`${R}/freezer/berth/c1/freezer.state`)}`) });
    m.apply(10);
    m.apply(11);
    fs.seed(`${R}/pids/berth/c1/nested/cgroup.procs`, '12\n');
    expect(m.pids()).toEqual([10, 11, 12]);
    m.freeze();
    expect(m.state()).toBe('frozen');
    m.thaw();
    expect(m.state()).toBe('thawed');
    m.killAll(15);
    expect(signals).toEqual(['10:15:FROZEN', '11:15:FROZEN', '12:15:FROZEN']);
    expect(m.state()).toBe('thawed');
    // A paused container stays paused after a non-fatal signal.
    m.freeze();
    m.killAll(1);
    expect(m.state()).toBe('frozen');
    m.thaw();
    for (const dir of new Set(Object.values(m.paths))) fs.seed(`${dir}/cgroup.procs`, '');
    fs.seed(`${R}/pids/berth/c1/nested/cgroup.procs`, '');
    m.destroy();
    expect(m.exists()).toBe(false);
    for (const dir of new Set(Object.values(m.paths))) expect(fs.exists(dir)).toBe(false);
    expect(fs.exists(`${R}/memory/berth`)).toBe(true);
    m.destroy();
  });

  it('reads stats from the v1 files', () => {
    const fs = fakeV1Host();
    const m = createCgroupManager({ id: 'c1', sys: fs });
    m.apply(10);
    const at = (c: string, f: string, v: string) => fs.seed(`${R}/${c}/berth/c1/${f}`, v);
    at('cpuacct', 'cpuacct.usage', '3000');
    at('cpuacct', 'cpuacct.usage_user', '2000');
    at('cpuacct', 'cpuacct.usage_sys', '1000');
    at('cpu', 'cpu.stat', 'nr_periods 5\nnr_throttled 2\nthrottled_time 700\n');
    at('memory', 'memory.usage_in_bytes', '4096');
    at('memory', 'memory.max_usage_in_bytes', '8192');
    at('memory', 'memory.limit_in_bytes', '1048576');
    at('memory', 'memory.memsw.usage_in_bytes', '5000');
    at('memory', 'memory.memsw.limit_in_bytes', '9223372036854771712');
    at('memory', 'memory.stat', 'cache 100\ntotal_cache 200\n');
    at('memory', 'memory.failcnt', '3');
    at('memory', 'memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
    at('pids', 'pids.current', '2');
    at('pids', 'pids.max', 'max');
    at('blkio', 'blkio.throttle.io_service_bytes_recursive', '8:0 Read 4096\n8:0 Write 0\nTotal 4096\n');
    at('blkio', 'blkio.throttle.io_serviced_recursive', '8:0 Read 1\n');
    expect(m.stats()).toEqual({
      cpu: { usageTotal: 3000, usageUser: 2000, usageSystem: 1000, periods: 5, throttledPeriods: 2, throttledTime: 700 },
      memory: { usage: 4096, maxUsage: 8192, limit: 1048576, cache: 200, swapUsage: 904, swapLimit: null, oom: 3, oomKill: 1 },
      pids: { current: 2, limit: null },
      blkio: { serviceBytes: [{ major: 8, minor: 0, op: 'Read', value: 4096 }, { major: 8, minor: 0, op: 'Write', value: 0 }], serviced: [{ major: 8, minor: 0, op: 'Read', value: 1 }] },
    });
  });
});

describe('v1 realtime and memory errors', () => {
  it('gives the levels above the container enough RT runtime, top-down, leaving richer ones alone', () => {
    const fs = fakeV1Host();
    const m = createCgroupManager({ id: 'c1', cgroupsPath: '/a/b/c1', sys: fs });
    m.apply(1);
    fs.seed(`${R}/cpu/a/cpu.rt_runtime_us`, '950000');
    fs.seed(`${R}/cpu/a/b/cpu.rt_runtime_us`, '0');
    fs.writes.length = 0;
    m.set({ cpu: { realtimePeriod: 1000000, realtimeRuntime: 5000 } });
    expect(fs.writesUnder(`${R}/cpu`)).toEqual(['a/b/c1/cpu.rt_period_us=1000000', 'a/b/cpu.rt_runtime_us=5000', 'a/b/c1/cpu.rt_runtime_us=5000']);
  });

  it('says what the kernel means by EBUSY on a memory limit below the usage', () => {
    const fs = fakeV1Host();
    const m = createCgroupManager({ id: 'c1', sys: fs });
    m.apply(1);
    fs.seed(`${R}/memory/berth/c1/memory.usage_in_bytes`, '300000');
    fs.seed(`${R}/memory/berth/c1/memory.max_usage_in_bytes`, '400000');
    fs.failWrite = (path) => (path.endsWith('/memory.limit_in_bytes') ? 'EBUSY' : undefined);
    throwsCgroup(() => m.set({ memory: { limit: 1024 } }), /unable to set memory limit to 1024 \(current usage: 300000, peak usage: 400000\)/);
  });
});

describe('v2', () => {
  it('converts like runc', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(blkioWeightToIoWeight(10)).toBe(1);
    expect(blkioWeightToIoWeight(1000)).toBe(10000);
    expect(swapToV2(0, -1)).toBe(-1);
    expect(swapToV2(-1, 100)).toBe(-1);
    expect(swapToV2(300, 100)).toBe(200);
    throwsCgroup(() => swapToV2(50, 100), /must be >= linux.resources.memory.limit/);
    throwsCgroup(() => swapToV2(50, 0), /needs a memory limit/);
  });

  it('enables controllers down the path, joins the pid and writes resources', () => {
    const fs = fakeV2Host();
    const filters: [string, unknown][] = [];
    const m = createCgroupManager({ id: 'c2', cgroupsPath: '/berth/c2', sys: fs, deviceFilter: (dir, rules) => filters.push([dir, rules]) });
    m.apply(77);
    expect(fs.writes.map((w) => `${w.path}=${w.data}`)).toEqual([
      `${R}/cgroup.subtree_control=+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc`,
      `${R}/berth/cgroup.subtree_control=+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc`,
      `${R}/berth/c2/cgroup.procs=77`,
    ]);
    fs.writes.length = 0;
    m.set({
      devices: [{ allow: false, access: 'rwm' }],
      memory: { limit: 64 << 20, swap: 96 << 20, reservation: 16 << 20, kernel: 0 },
      cpu: { shares: 1024, quota: 50000, period: 100000, burst: 0, cpus: '0-1', mems: '0', idle: 1 },
      pids: { limit: 20 },
      blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 100 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }], throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 9 }] },
      hugepageLimits: [{ pageSize: '1GB', limit: 1 << 30 }],
      rdma: { mlx5_1: { hcaObjects: 10 } },
      unified: { 'memory.high': '50000000', 'cgroup.max.depth': '3' },
    });
    expect(fs.writesUnder(`${R}/berth/c2`)).toEqual([
      `memory.swap.max=${32 << 20}`,
      `memory.max=${64 << 20}`,
      `memory.low=${16 << 20}`,
      'cpu.weight=39',
      'cpu.idle=1',
      'cpu.max=50000 100000',
      'cpu.max.burst=0',
      'cpuset.cpus=0-1',
      'cpuset.mems=0',
      'pids.max=20',
      'io.weight=default 4950',
      'io.weight=8:0 910',
      'io.max=8:0 rbps=1000',
      'io.max=8:16 wiops=9',
      `hugetlb.1GB.max=${1 << 30}`,
      'rdma.max=mlx5_1 hca_handle=max hca_object=10',
      'memory.high=50000000',
      'cgroup.max.depth=3',
    ]);
    // Device rules go to the eBPF loader, once, with the container's directory.
    expect(filters).toEqual([[`${R}/berth/c2`, [{ allow: false, access: 'rwm' }]]]);
    fs.writes.length = 0;
    m.set({ memory: { limit: -1 }, cpu: { quota: -1 } });
    expect(fs.writesUnder(`${R}/berth/c2`)).toEqual(['memory.swap.max=max', 'memory.max=max', 'cpu.max=max']);
  });

  it('uses io.bfq.weight on the blkio scale when BFQ is there', () => {
    const fs = fakeV2Host();
    const m = createCgroupManager({ id: 'c2', sys: fs });
    m.apply(1);
    fs.seed(`${R}/berth/c2/io.bfq.weight`, 'default 100');
    fs.writes.length = 0;
    m.set({ blockIO: { weight: 500 } });
    expect(fs.writesUnder(`${R}/berth/c2`)).toEqual(['io.bfq.weight=500']);
  });

  it('refuses what v2 cannot do, before writing anything', () => {
    const fs = fakeV2Host({ controllers: ['cpu', 'memory', 'pids'] });
    const m = createCgroupManager({ id: 'c2', sys: fs });
    m.apply(1);
    fs.writes.length = 0;
    throwsCgroup(() => m.set({ memory: { limit: 1 << 20, swappiness: 10 } }), /swappiness is not available with cgroup v2/);
    throwsCgroup(() => m.set({ memory: { kernelTCP: 1 } }), /kernelTCP/);
    throwsCgroup(() => m.set({ cpu: { realtimeRuntime: 5 } }), /realtime/);
    throwsCgroup(() => m.set({ network: { classID: 1 } }), /net_cls\/net_prio/);
    throwsCgroup(() => m.set({ blockIO: { weight: 100 } }), /"io" controller, which is not enabled for \/sys\/fs\/cgroup\/berth\/c2 \(cgroup.controllers: cpu memory pids\)/);
    throwsCgroup(() => m.set({ unified: { 'hugetlb.2MB.max': '1' } }), /unified\["hugetlb.2MB.max"\] needs the cgroup v2 "hugetlb" controller/);
    throwsCgroup(() => m.set({ unified: { '../escape': '1' } }), /invalid cgroup file name/);
    expect(fs.writes).toEqual([]);
  });

  it('a period alone keeps the current quota in cpu.max', () => {
    const fs = fakeV2Host();
    const m = createCgroupManager({ id: 'c2', sys: fs });
    m.apply(1);
    fs.seed(`${R}/berth/c2/cpu.max`, '25000 100000\n');
    fs.writes.length = 0;
    m.set({ cpu: { period: 50000 } });
    expect(fs.writesUnder(`${R}/berth/c2`)).toEqual(['cpu.max=25000 50000']);
  });

  it('checkBeforeUpdate refuses a limit below the usage', () => {
    const fs = fakeV2Host();
    const m = createCgroupManager({ id: 'c2', sys: fs });
    m.apply(1);
    fs.seed(`${R}/berth/c2/memory.current`, '5000');
    throwsCgroup(() => m.set({ memory: { limit: 4096, checkBeforeUpdate: true } }), /not above the current usage 5000/);
  });

  it('freezes via cgroup.freeze, kills via cgroup.kill, signals the rest frozen, destroys', () => {
    const fs = fakeV2Host();
    const signals: number[] = [];
    const m = createCgroupManager({ id: 'c2', sys: fs, signal: (pid) => signals.push(pid) });
    m.apply(5);
    m.freeze();
    expect(fs.read(`${R}/berth/c2/cgroup.freeze`)).toBe('1');
    expect(m.state()).toBe('frozen');
    m.thaw();
    expect(m.state()).toBe('thawed');
    m.killAll(15);
    expect(signals).toEqual([5]);
    m.killAll(9);
    expect(fs.writesUnder(`${R}/berth/c2`).at(-1)).toBe('cgroup.kill=1');
    expect(m.pids()).toEqual([]);
    m.destroy();
    expect(m.exists()).toBe(false);
    expect(fs.ops.at(-1)).toBe(`rmdir ${R}/berth/c2`);
  });

  it('reads stats from the v2 files', () => {
    const fs = fakeV2Host();
    const m = createCgroupManager({ id: 'c2', sys: fs });
    m.apply(1);
    const at = (f: string, v: string) => fs.seed(`${R}/berth/c2/${f}`, v);
    at('cpu.stat', 'usage_usec 30\nuser_usec 20\nsystem_usec 10\nnr_periods 4\nnr_throttled 1\nthrottled_usec 5\n');
    at('memory.current', '4096');
    at('memory.peak', '9000');
    at('memory.max', 'max');
    at('memory.stat', 'anon 100\nfile 300\n');
    at('memory.swap.current', '0');
    at('memory.swap.max', '1000');
    at('memory.events', 'low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n');
    at('pids.current', '1');
    at('pids.max', '20');
    at('io.stat', '8:0 rbytes=4096 wbytes=512 rios=2 wios=1 dbytes=0 dios=0\n');
    expect(m.stats()).toEqual({
      cpu: { usageTotal: 30000, usageUser: 20000, usageSystem: 10000, periods: 4, throttledPeriods: 1, throttledTime: 5000 },
      memory: { usage: 4096, maxUsage: 9000, limit: null, cache: 300, swapUsage: 0, swapLimit: 1000, oom: 2, oomKill: 1 },
      pids: { current: 1, limit: 20 },
      blkio: {
        serviceBytes: [
          { major: 8, minor: 0, op: 'Read', value: 4096 },
          { major: 8, minor: 0, op: 'Write', value: 512 },
          { major: 8, minor: 0, op: 'Discard', value: 0 },
        ],
        serviced: [
          { major: 8, minor: 0, op: 'Read', value: 2 },
          { major: 8, minor: 0, op: 'Write', value: 1 },
          { major: 8, minor: 0, op: 'Discard', value: 0 },
        ],
      },
    });
  });
});
