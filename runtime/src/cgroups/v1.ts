// cgroup v1: one directory per controller hierarchy. On a hybrid host the
// container also joins the unified (cgroup2) hierarchy and the name=systemd one
// when they are mounted, as runc does, so tools reading either see it; those two
// are best effort. File names and write orders follow the kernel's cgroup-v1 docs
// and runc's fs manager.
import { posix } from 'node:path';
import { CgroupBase, deviceRule, isDenyAll, type Signaller } from './common.js';
import type { CgroupManager } from './manager.js';
import { type BlkioEntry, CgroupError, type CgroupFs, type CgroupStats, type LinuxResources } from './types.js';

/** Hierarchies a container must join; failures there are errors. The rest is best effort. */
const OPTIONAL_KEYS = new Set(['', 'name=systemd']);
/** v1 reports "unlimited" as a huge page-aligned number (PAGE_COUNTER_MAX pages). */
const V1_UNLIMITED = 2 ** 62;
const KNOWN_RESOURCES = new Set(['devices', 'memory', 'cpu', 'pids', 'blockIO', 'hugepageLimits', 'network', 'rdma', 'unified', 'oomScoreAdj']);

export class V1Manager extends CgroupBase implements CgroupManager {
  readonly version = 1 as const;

  constructor(
    fs: CgroupFs,
    signaller: Signaller,
    readonly paths: Record<string, string>,
    /** controller key → that hierarchy's mountpoint (cpuset needs to walk from it). */
    private readonly mounts: Record<string, string>,
  ) {
    super(fs, signaller);
  }

  private dirs(optional: boolean): string[] {
    const out = new Set<string>();
    for (const [key, dir] of Object.entries(this.paths)) if (OPTIONAL_KEYS.has(key) === optional) out.add(dir);
    return [...out];
  }

  private need(controller: string, what: string): string {
    const dir = this.paths[controller];
    if (!dir) {
      throw new CgroupError('Unavailable', `${what} needs the cgroup v1 "${controller}" controller, which is not mounted on this host`);
    }
    return dir;
  }

  apply(pid: number): void {
    if (!Number.isInteger(pid) || pid <= 0) throw new CgroupError('InvalidArgument', `invalid pid ${pid}`);
    for (const [key, dir] of Object.entries(this.paths)) {
      const optional = OPTIONAL_KEYS.has(key);
      try {
        if (key === 'cpuset') this.mkdirCpuset(dir, this.mounts[key]!);
        else this.fs.mkdir(dir);
        this.writeFile(dir, 'cgroup.procs', String(pid), `joining pid ${pid}`);
      } catch (e) {
        if (!optional) throw e;
      }
    }
  }

  /**
   * A new cpuset cgroup starts with empty cpus and mems and refuses tasks until
   * both are set, so each level created copies its parent's (as runc does).
   */
  private mkdirCpuset(dir: string, mountpoint: string): void {
    const rel = posix.relative(mountpoint, dir);
    let cur = mountpoint;
    for (const part of rel.split('/').filter(Boolean)) {
      const parent = cur;
      cur = posix.join(cur, part);
      this.fs.mkdir(cur);
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        if ((this.readFile(cur, file) ?? '').trim() === '') {
          const value = (this.readFile(parent, file) ?? '').trim();
          if (value) this.writeFile(cur, file, value, 'inheriting the parent cpuset');
        }
      }
    }
  }

  set(r: LinuxResources): void {
    for (const key of Object.keys(r)) {
      if (!KNOWN_RESOURCES.has(key)) throw new CgroupError('InvalidArgument', `linux.resources.${key}: unknown resource`);
    }
    if (r.unified && Object.keys(r.unified).length > 0) {
      const keys = Object.keys(r.unified).map((k) => JSON.stringify(k)).join(', ');
      throw new CgroupError('InvalidArgument', `linux.resources.unified (${keys}) needs cgroup v2, but this host uses cgroup v1 controllers`);
    }
    // Check every controller first, so a missing one fails before anything is written.
    const m = r.memory;
    const c = r.cpu;
    if (m && Object.values(m).some((v) => v !== undefined)) this.need('memory', 'linux.resources.memory');
    if (c && [c.shares, c.quota, c.period, c.burst, c.realtimePeriod, c.realtimeRuntime, c.idle].some((v) => v !== undefined)) this.need('cpu', 'linux.resources.cpu');
    if (c && (c.cpus || c.mems)) this.need('cpuset', 'linux.resources.cpu.cpus/mems');
    if (r.pids) this.need('pids', 'linux.resources.pids');
    if (r.blockIO) this.need('blkio', 'linux.resources.blockIO');
    if (r.hugepageLimits?.length) this.need('hugetlb', 'linux.resources.hugepageLimits');
    if (r.network?.classID !== undefined) this.need('net_cls', 'linux.resources.network.classID');
    if (r.network?.priorities?.length) this.need('net_prio', 'linux.resources.network.priorities');
    if (r.devices?.length) this.need('devices', 'linux.resources.devices');
    if (r.rdma && Object.keys(r.rdma).length) this.need('rdma', 'linux.resources.rdma');

    if (r.devices?.length) this.setDevices(r.devices);
    if (m) this.setMemory(m);
    if (c) this.setCpu(c);
    if (r.pids && r.pids.limit !== 0) {
      this.writeFile(this.paths.pids!, 'pids.max', r.pids.limit > 0 ? String(r.pids.limit) : 'max', 'linux.resources.pids.limit');
    }
    if (r.blockIO) this.setBlkio(r.blockIO);
    for (const h of r.hugepageLimits ?? []) {
      this.writeFile(this.paths.hugetlb!, `hugetlb.${h.pageSize}.limit_in_bytes`, String(h.limit), 'linux.resources.hugepageLimits');
    }
    if (r.network?.classID !== undefined) this.writeFile(this.paths.net_cls!, 'net_cls.classid', String(r.network.classID), 'linux.resources.network.classID');
    for (const p of r.network?.priorities ?? []) {
      this.writeFile(this.paths.net_prio!, 'net_prio.ifpriomap', `${p.name} ${p.priority}`, 'linux.resources.network.priorities');
    }
    for (const [dev, limit] of Object.entries(r.rdma ?? {})) {
      const h = limit.hcaHandles ?? 'max';
      const o = limit.hcaObjects ?? 'max';
      this.writeFile(this.paths.rdma!, 'rdma.max', `${dev} hca_handle=${h} hca_object=${o}`, 'linux.resources.rdma');
    }
  }

  private setDevices(rules: NonNullable<LinuxResources['devices']>): void {
    const dir = this.paths.devices!;
    let rest = rules;
    if (isDenyAll(rules[0]!)) {
      // Start from nothing allowed; then the remaining rules apply in order.
      this.writeFile(dir, 'devices.deny', 'a', 'linux.resources.devices[0]');
      rest = rules.slice(1);
    }
    rest.forEach((rule, i) => {
      const what = `linux.resources.devices[${rules.length - rest.length + i}]`;
      this.writeFile(dir, rule.allow ? 'devices.allow' : 'devices.deny', deviceRule(rule), what);
    });
  }

  private setMemory(m: NonNullable<LinuxResources['memory']>): void {
    const dir = this.paths.memory!;
    const limit = m.limit ?? 0;
    // v1's memsw is memory+swap, which is what the spec's `swap` means. Unlimited
    // memory with swap unset means unlimited swap too (runc).
    let swap = m.swap ?? 0;
    // Only where swap accounting exists (runc checks the same file).
    if (limit === -1 && swap === 0 && this.fs.exists(posix.join(dir, 'memory.memsw.limit_in_bytes'))) swap = -1;
    if (m.checkBeforeUpdate && limit > 0) {
      const usage = this.readNumber(dir, 'memory.usage_in_bytes');
      if (usage !== null && usage >= limit) {
        throw new CgroupError('InvalidArgument', `linux.resources.memory.limit ${limit} is not above the current usage ${usage} (checkBeforeUpdate)`);
      }
    }
    try {
      this.setMemoryAndSwap(dir, limit, swap);
    } catch (e) {
      // The kernel answers EBUSY when usage cannot be reclaimed below the new limit; say so as runc does.
      if (e instanceof CgroupError && e.errno === 'EBUSY' && e.path?.endsWith('memory.limit_in_bytes')) {
        const usage = this.readNumber(dir, 'memory.usage_in_bytes');
        const peak = this.readNumber(dir, 'memory.max_usage_in_bytes');
        throw new CgroupError('InvalidArgument', `unable to set memory limit to ${limit} (current usage: ${usage}, peak usage: ${peak})`, e.path, 'EBUSY');
      }
      throw e;
    }
    if (m.reservation) this.writeFile(dir, 'memory.soft_limit_in_bytes', String(m.reservation), 'linux.resources.memory.reservation');
    if (m.kernel) this.writeFile(dir, 'memory.kmem.limit_in_bytes', String(m.kernel), 'linux.resources.memory.kernel');
    if (m.kernelTCP) this.writeFile(dir, 'memory.kmem.tcp.limit_in_bytes', String(m.kernelTCP), 'linux.resources.memory.kernelTCP');
    if (m.swappiness !== undefined) {
      if (m.swappiness < 0 || m.swappiness > 100) {
        throw new CgroupError('InvalidArgument', `linux.resources.memory.swappiness: invalid value ${m.swappiness} (expected 0-100)`);
      }
      this.writeFile(dir, 'memory.swappiness', String(m.swappiness), 'linux.resources.memory.swappiness');
    }
    if (m.disableOOMKiller) this.writeFile(dir, 'memory.oom_control', '1', 'linux.resources.memory.disableOOMKiller');
    if (m.useHierarchy !== undefined) this.writeFile(dir, 'memory.use_hierarchy', m.useHierarchy ? '1' : '0', 'linux.resources.memory.useHierarchy');
  }

  private setMemoryAndSwap(dir: string, limit: number, swap: number): void {
    let done = false;
    if (limit !== 0 && swap !== 0) {
      // The kernel rejects memsw < limit at every step, so order the two writes by
      // whether the limits grow or shrink.
      const current = this.readNumber(dir, 'memory.limit_in_bytes');
      if (swap === -1 || (current !== null && current < swap)) {
        this.writeFile(dir, 'memory.memsw.limit_in_bytes', String(swap), 'linux.resources.memory.swap');
        this.writeFile(dir, 'memory.limit_in_bytes', String(limit), 'linux.resources.memory.limit');
        done = true;
      }
    }
    if (!done) {
      if (limit !== 0) this.writeFile(dir, 'memory.limit_in_bytes', String(limit), 'linux.resources.memory.limit');
      if (swap !== 0) this.writeFile(dir, 'memory.memsw.limit_in_bytes', String(swap), 'linux.resources.memory.swap');
    }
  }

  private setCpu(c: NonNullable<LinuxResources['cpu']>): void {
    const dir = this.paths.cpu;
    if (dir) {
      if (c.shares) {
        this.writeFile(dir, 'cpu.shares', String(c.shares), 'linux.resources.cpu.shares');
        // The kernel clamps shares silently; say so instead (runc does the same).
        const got = this.readNumber(dir, 'cpu.shares');
        if (got !== null && got !== c.shares) {
          throw new CgroupError('InvalidArgument', `linux.resources.cpu.shares: the kernel set ${got} instead of ${c.shares} (allowed range 2-262144)`);
        }
      }
      if (c.period) this.writeFile(dir, 'cpu.cfs_period_us', String(c.period), 'linux.resources.cpu.period');
      if (c.quota) this.writeFile(dir, 'cpu.cfs_quota_us', String(c.quota), 'linux.resources.cpu.quota');
      if (c.burst !== undefined) this.writeFile(dir, 'cpu.cfs_burst_us', String(c.burst), 'linux.resources.cpu.burst');
      if (c.realtimePeriod) this.writeFile(dir, 'cpu.rt_period_us', String(c.realtimePeriod), 'linux.resources.cpu.realtimePeriod');
      if (c.realtimeRuntime) {
        if (c.realtimeRuntime > 0) this.grantRtRuntime(dir, c.realtimeRuntime);
        this.writeFile(dir, 'cpu.rt_runtime_us', String(c.realtimeRuntime), 'linux.resources.cpu.realtimeRuntime');
      }
      if (c.idle !== undefined) this.writeFile(dir, 'cpu.idle', String(c.idle), 'linux.resources.cpu.idle');
    }
    const cpuset = this.paths.cpuset;
    if (cpuset && c.cpus) this.writeFile(cpuset, 'cpuset.cpus', c.cpus, 'linux.resources.cpu.cpus');
    if (cpuset && c.mems) this.writeFile(cpuset, 'cpuset.mems', c.mems, 'linux.resources.cpu.mems');
  }

  /**
   * A cgroup's RT runtime must fit in its parent's, and a new cgroup (our /berth
   * level included) starts with 0, so the levels between the hierarchy's root and
   * the container get at least the runtime asked for, top-down (what dockerd does
   * for --cpu-rt-runtime). Levels that already have enough are left alone.
   */
  private grantRtRuntime(dir: string, runtime: number): void {
    const mount = this.mounts.cpu;
    if (!mount) return;
    const parts = posix.relative(mount, dir).split('/').filter(Boolean).slice(0, -1);
    let cur = mount;
    for (const part of parts) {
      cur = posix.join(cur, part);
      const have = this.readNumber(cur, 'cpu.rt_runtime_us');
      if (have !== null && have >= 0 && have < runtime) this.writeFile(cur, 'cpu.rt_runtime_us', String(runtime), `linux.resources.cpu.realtimeRuntime (parent ${cur})`);
    }
  }

  private setBlkio(b: NonNullable<LinuxResources['blockIO']>): void {
    const dir = this.paths.blkio!;
    // CFQ's blkio.weight is gone from current kernels; BFQ offers blkio.bfq.weight.
    const weightFile = this.fs.exists(posix.join(dir, 'blkio.weight')) || !this.fs.exists(posix.join(dir, 'blkio.bfq.weight')) ? 'blkio.weight' : 'blkio.bfq.weight';
    if (b.weight) this.writeFile(dir, weightFile, String(b.weight), 'linux.resources.blockIO.weight');
    if (b.leafWeight) this.writeFile(dir, 'blkio.leaf_weight', String(b.leafWeight), 'linux.resources.blockIO.leafWeight');
    for (const d of b.weightDevice ?? []) {
      if (d.weight) this.writeFile(dir, `${weightFile}_device`, `${d.major}:${d.minor} ${d.weight}`, 'linux.resources.blockIO.weightDevice');
      if (d.leafWeight) this.writeFile(dir, 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`, 'linux.resources.blockIO.weightDevice');
    }
    const throttles: [keyof typeof b, string][] = [
      ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
      ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
      ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
      ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
    ];
    for (const [key, file] of throttles) {
      for (const d of (b[key] as { major: number; minor: number; rate: number }[] | undefined) ?? []) {
        this.writeFile(dir, file, `${d.major}:${d.minor} ${d.rate}`, `linux.resources.blockIO.${key}`);
      }
    }
  }

  freeze(): void {
    const dir = this.need('freezer', 'freeze');
    const frozen = this.waitFor(
      () => this.readFile(dir, 'freezer.state')?.trim() === 'FROZEN',
      5000,
      (attempt) => {
        // A freeze can stall in FREEZING while a task sits in an uninterruptible
        // sleep; thawing and freezing again gets it moving (runc does this too).
        if (attempt > 0 && attempt % 25 === 0) this.writeFile(dir, 'freezer.state', 'THAWED');
        this.writeFile(dir, 'freezer.state', 'FROZEN', 'freeze');
      },
    );
    if (!frozen) {
      this.writeFile(dir, 'freezer.state', 'THAWED');
      throw new CgroupError('Internal', `cannot freeze ${dir}: freezer.state stayed FREEZING`, dir);
    }
  }

  thaw(): void {
    const dir = this.need('freezer', 'thaw');
    this.writeFile(dir, 'freezer.state', 'THAWED', 'thaw');
    if (!this.waitFor(() => this.readFile(dir, 'freezer.state')?.trim() === 'THAWED', 5000)) {
      throw new CgroupError('Internal', `cannot thaw ${dir}: freezer.state is ${this.readFile(dir, 'freezer.state')?.trim()}`, dir);
    }
  }

  state(): 'frozen' | 'thawed' {
    const dir = this.paths.freezer;
    return dir && this.readFile(dir, 'freezer.state')?.trim() === 'FROZEN' ? 'frozen' : 'thawed';
  }

  private primary(): string {
    const p = this.paths;
    return p.pids ?? p.freezer ?? p.memory ?? p.devices ?? p.cpu ?? this.dirs(false)[0] ?? this.dirs(true)[0]!;
  }

  pids(): number[] {
    return this.pidsUnder(this.primary());
  }

  killAll(signal: number): void {
    this.signalFrozen(signal, this.paths.freezer !== undefined && this.fs.exists(this.paths.freezer));
  }

  destroy(): void {
    // Required hierarchies first: once they are gone no process can be left in the optional ones.
    for (const dir of [...this.dirs(false), ...this.dirs(true)]) this.removeTree(dir);
  }

  exists(): boolean {
    return this.fs.exists(this.primary());
  }

  stats(): CgroupStats {
    const p = this.paths;
    const num = (dir: string | undefined, file: string) => (dir ? this.readNumber(dir, file) : null);
    const limit = (n: number | null) => (n === null || n >= V1_UNLIMITED ? null : n);

    const acct = p.cpuacct;
    let user = num(acct, 'cpuacct.usage_user');
    let system = num(acct, 'cpuacct.usage_sys');
    if (acct && (user === null || system === null)) {
      // Older kernels only have cpuacct.stat, in USER_HZ (100 per second) ticks.
      const ticks = this.readKeyed(acct, 'cpuacct.stat');
      user = (ticks.get('user') ?? 0) * 1e7;
      system = (ticks.get('system') ?? 0) * 1e7;
    }
    const cpuStat = p.cpu ? this.readKeyed(p.cpu, 'cpu.stat') : new Map<string, number>();

    const mem = p.memory;
    const usage = num(mem, 'memory.usage_in_bytes') ?? 0;
    const memStat = mem ? this.readKeyed(mem, 'memory.stat') : new Map<string, number>();
    const memsw = num(mem, 'memory.memsw.usage_in_bytes');
    const oomControl = mem ? this.readKeyed(mem, 'memory.oom_control') : new Map<string, number>();

    const blkio = (file: string) => {
      if (!p.blkio) return [];
      const text = this.readFile(p.blkio, `${file}_recursive`) ?? this.readFile(p.blkio, file) ?? '';
      return parseBlkio(text);
    };

    return {
      cpu: {
        usageTotal: num(acct, 'cpuacct.usage') ?? 0,
        usageUser: user ?? 0,
        usageSystem: system ?? 0,
        periods: cpuStat.get('nr_periods') ?? 0,
        throttledPeriods: cpuStat.get('nr_throttled') ?? 0,
        throttledTime: cpuStat.get('throttled_time') ?? 0,
      },
      memory: {
        usage,
        maxUsage: num(mem, 'memory.max_usage_in_bytes'),
        limit: limit(num(mem, 'memory.limit_in_bytes')),
        cache: memStat.get('total_cache') ?? memStat.get('cache') ?? 0,
        swapUsage: memsw === null ? null : Math.max(0, memsw - usage),
        swapLimit: limit(num(mem, 'memory.memsw.limit_in_bytes')),
        oom: num(mem, 'memory.failcnt') ?? 0,
        oomKill: oomControl.get('oom_kill') ?? 0,
      },
      pids: { current: num(p.pids, 'pids.current') ?? 0, limit: num(p.pids, 'pids.max') },
      blkio: { serviceBytes: blkio('blkio.throttle.io_service_bytes'), serviced: blkio('blkio.throttle.io_serviced') },
    };
  }
}

/** `8:0 Read 4096` lines; the trailing `Total N` summary has no device and is skipped. */
export function parseBlkio(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
  }
  return out;
}
