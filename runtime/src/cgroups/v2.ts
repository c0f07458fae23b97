// cgroup v2: one directory in the unified hierarchy. Controllers must be enabled
// in every ancestor's cgroup.subtree_control before the leaf can use them; values
// are converted from the spec's v1-flavoured fields the way runc converts them
// (cgroup-v2.rst for the file formats).
import { posix } from 'node:path';
import { CgroupBase, type Signaller } from './common.js';
import { attachDeviceFilter, type DeviceFilter } from './devices-bpf.js';
import type { CgroupManager } from './manager.js';
import { type BlkioEntry, CgroupError, type CgroupFs, type CgroupStats, type LinuxResources } from './types.js';

const KNOWN_RESOURCES = new Set(['devices', 'memory', 'cpu', 'pids', 'blockIO', 'hugepageLimits', 'network', 'rdma', 'unified', 'oomScoreAdj']);

/** cpu.shares (2-262144) → cpu.weight (1-10000), runc's linear mapping. */
export function sharesToWeight(shares: number): number {
  return shares === 0 ? 0 : 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** blkio.weight (10-1000) → io.weight (1-10000), runc's linear mapping. */
export function blkioWeightToIoWeight(weight: number): number {
  return weight === 0 ? 0 : 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * The spec's `swap` is memory+swap (v1's memsw); v2's memory.swap.max is swap alone.
 * Returns the v2 value: -1 unlimited, 0 unset (runc's ConvertMemorySwapToCgroupV2Value).
 */
export function swapToV2(swap: number, limit: number): number {
  if (limit === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (limit === 0 || limit === -1) throw new CgroupError('InvalidArgument', 'linux.resources.memory.swap: a swap limit needs a memory limit');
  if (swap < limit) throw new CgroupError('InvalidArgument', `linux.resources.memory.swap (${swap}) must be >= linux.resources.memory.limit (${limit}): it is memory+swap`);
  return swap - limit;
}

/**
 * The real loader. koffi is required on first use only, so the commands that never
 * set devices (state, kill, list) do not load it; the bundle resolves this require.
 */
const defaultDeviceFilter: DeviceFilter = (dir, rules) => {
  const { loadCgroupNative } = require('../sys/cgroup-native.js') as typeof import('../sys/cgroup-native.js');
  attachDeviceFilter(loadCgroupNative(), dir, rules);
};

const v2Num = (n: number) => (n === -1 ? 'max' : String(n));

export class V2Manager extends CgroupBase implements CgroupManager {
  readonly version = 2 as const;
  readonly paths: Record<string, string>;

  constructor(
    fs: CgroupFs,
    signaller: Signaller,
    private readonly dir: string,
    private readonly mountpoint: string,
    /** Loads linux.resources.devices as an eBPF program on `dir` (devices-bpf.ts). */
    private readonly deviceFilter: DeviceFilter = defaultDeviceFilter,
  ) {
    super(fs, signaller);
    this.paths = { '': dir };
  }

  apply(pid: number): void {
    if (!Number.isInteger(pid) || pid <= 0) throw new CgroupError('InvalidArgument', `invalid pid ${pid}`);
    let cur = this.mountpoint;
    for (const part of posix.relative(this.mountpoint, this.dir).split('/').filter(Boolean)) {
      this.enableControllers(cur);
      cur = posix.join(cur, part);
      this.fs.mkdir(cur);
    }
    this.writeFile(this.dir, 'cgroup.procs', String(pid), `joining pid ${pid}`);
  }

  /** Delegates every available controller to `dir`'s children; refusals are skipped (runc). */
  private enableControllers(dir: string): void {
    const available = (this.readFile(dir, 'cgroup.controllers') ?? '').split(/\s+/).filter(Boolean);
    if (available.length === 0) return;
    try {
      this.fs.write(posix.join(dir, 'cgroup.subtree_control'), available.map((c) => `+${c}`).join(' '));
    } catch {
      // One refused controller (a busy parent, a threaded subtree) fails the whole
      // write; enable the others one by one.
      for (const c of available) {
        try {
          this.fs.write(posix.join(dir, 'cgroup.subtree_control'), `+${c}`);
        } catch {}
      }
    }
  }

  private controllers(): string[] {
    return (this.readFile(this.dir, 'cgroup.controllers') ?? '').split(/\s+/).filter(Boolean);
  }

  private need(controller: string, what: string, have = this.controllers()): void {
    if (!have.includes(controller)) {
      throw new CgroupError(
        'Unavailable',
        `${what} needs the cgroup v2 "${controller}" controller, which is not enabled for ${this.dir} (cgroup.controllers: ${have.join(' ') || 'none'})`,
      );
    }
  }

  private write(file: string, data: string, what: string): void {
    this.writeFile(this.dir, file, data, what);
  }

  set(r: LinuxResources): void {
    for (const key of Object.keys(r)) {
      if (!KNOWN_RESOURCES.has(key)) throw new CgroupError('InvalidArgument', `linux.resources.${key}: unknown resource`);
    }
    const m = r.memory;
    const c = r.cpu;
    const b = r.blockIO;
    // Refuse what v2 cannot express before writing anything.
    if (r.network && (r.network.classID !== undefined || r.network.priorities?.length)) {
      throw new CgroupError('InvalidArgument', 'linux.resources.network (net_cls/net_prio) is not available with cgroup v2');
    }
    if (m?.kernelTCP) throw new CgroupError('InvalidArgument', 'linux.resources.memory.kernelTCP is not available with cgroup v2');
    if (m?.swappiness !== undefined) throw new CgroupError('InvalidArgument', 'linux.resources.memory.swappiness is not available with cgroup v2');
    if (m?.disableOOMKiller) throw new CgroupError('InvalidArgument', 'linux.resources.memory.disableOOMKiller is not available with cgroup v2');
    if (m?.useHierarchy === false) throw new CgroupError('InvalidArgument', 'linux.resources.memory.useHierarchy=false is not available with cgroup v2 (always hierarchical)');
    if (c?.realtimePeriod || c?.realtimeRuntime) throw new CgroupError('InvalidArgument', 'linux.resources.cpu.realtimePeriod/realtimeRuntime are not available with cgroup v2');
    if (b?.leafWeight || b?.weightDevice?.some((d) => d.leafWeight)) throw new CgroupError('InvalidArgument', 'linux.resources.blockIO leafWeight is not available with cgroup v2');
    const have = this.controllers();
    const memorySet = m && (m.limit || m.swap || m.reservation);
    if (memorySet) this.need('memory', 'linux.resources.memory', have);
    if (c && (c.shares || c.quota || c.period || c.burst !== undefined || c.idle !== undefined)) this.need('cpu', 'linux.resources.cpu', have);
    if (c && (c.cpus || c.mems)) this.need('cpuset', 'linux.resources.cpu.cpus/mems', have);
    if (r.pids && r.pids.limit !== 0) this.need('pids', 'linux.resources.pids', have);
    if (b && (b.weight || b.weightDevice?.length || b.throttleReadBpsDevice?.length || b.throttleWriteBpsDevice?.length || b.throttleReadIOPSDevice?.length || b.throttleWriteIOPSDevice?.length)) {
      this.need('io', 'linux.resources.blockIO', have);
    }
    if (r.hugepageLimits?.length) this.need('hugetlb', 'linux.resources.hugepageLimits', have);
    if (r.rdma && Object.keys(r.rdma).length) this.need('rdma', 'linux.resources.rdma', have);
    const unified = Object.entries(r.unified ?? {});
    for (const [key] of unified) {
      if (!/^[a-z_]+\.[A-Za-z0-9_.]+$/.test(key)) throw new CgroupError('InvalidArgument', `linux.resources.unified: invalid cgroup file name ${JSON.stringify(key)}`);
      const controller = key.slice(0, key.indexOf('.'));
      if (controller !== 'cgroup') this.need(controller, `linux.resources.unified["${key}"]`, have);
    }

    // Device rules: an eBPF program (BPF_CGROUP_DEVICE) replaces v1's devices files.
    if (r.devices?.length) this.deviceFilter(this.dir, r.devices);
    if (m) this.setMemory(m);
    if (c) this.setCpu(c);
    if (r.pids && r.pids.limit !== 0) this.write('pids.max', r.pids.limit > 0 ? String(r.pids.limit) : 'max', 'linux.resources.pids.limit');
    if (b) this.setIo(b);
    for (const h of r.hugepageLimits ?? []) this.write(`hugetlb.${h.pageSize}.max`, String(h.limit), 'linux.resources.hugepageLimits');
    for (const [dev, limit] of Object.entries(r.rdma ?? {})) {
      this.write('rdma.max', `${dev} hca_handle=${limit.hcaHandles ?? 'max'} hca_object=${limit.hcaObjects ?? 'max'}`, 'linux.resources.rdma');
    }
    // Last, so an explicit unified value wins over a converted one.
    for (const [key, value] of unified) this.write(key, value, `linux.resources.unified["${key}"]`);
  }

  private setMemory(m: NonNullable<LinuxResources['memory']>): void {
    const limit = m.limit ?? 0;
    const swap = swapToV2(m.swap ?? 0, limit);
    if (m.checkBeforeUpdate && limit > 0) {
      const usage = this.readNumber(this.dir, 'memory.current');
      if (usage !== null && usage >= limit) {
        throw new CgroupError('InvalidArgument', `linux.resources.memory.limit ${limit} is not above the current usage ${usage} (checkBeforeUpdate)`);
      }
    }
    if (swap !== 0) this.write('memory.swap.max', v2Num(swap), 'linux.resources.memory.swap');
    if (limit !== 0) this.write('memory.max', v2Num(limit), 'linux.resources.memory.limit');
    if (m.reservation) this.write('memory.low', v2Num(m.reservation), 'linux.resources.memory.reservation');
  }

  private setCpu(c: NonNullable<LinuxResources['cpu']>): void {
    if (c.shares) this.write('cpu.weight', String(sharesToWeight(c.shares)), 'linux.resources.cpu.shares');
    if (c.idle !== undefined) this.write('cpu.idle', String(c.idle), 'linux.resources.cpu.idle');
    if (c.quota || c.period) {
      // A period alone keeps the current quota (runc's update does the same).
      const current = (this.readFile(this.dir, 'cpu.max') ?? '').trim().split(/\s+/)[0] || 'max';
      let max = c.quota ? (c.quota > 0 ? String(c.quota) : 'max') : current;
      if (c.period) max += ` ${c.period}`;
      this.write('cpu.max', max, 'linux.resources.cpu.quota/period');
    }
    if (c.burst !== undefined) this.write('cpu.max.burst', String(c.burst), 'linux.resources.cpu.burst');
    if (c.cpus) this.write('cpuset.cpus', c.cpus, 'linux.resources.cpu.cpus');
    if (c.mems) this.write('cpuset.mems', c.mems, 'linux.resources.cpu.mems');
  }

  private setIo(b: NonNullable<LinuxResources['blockIO']>): void {
    // BFQ's io.bfq.weight takes blkio's 1-1000 scale; io.weight needs the 1-10000 one.
    const bfq = this.fs.exists(posix.join(this.dir, 'io.bfq.weight'));
    const file = bfq ? 'io.bfq.weight' : 'io.weight';
    const conv = (w: number) => String(bfq ? w : blkioWeightToIoWeight(w));
    if (b.weight) this.write(file, bfq ? conv(b.weight) : `default ${conv(b.weight)}`, 'linux.resources.blockIO.weight');
    for (const d of b.weightDevice ?? []) {
      if (d.weight) this.write(file, `${d.major}:${d.minor} ${conv(d.weight)}`, 'linux.resources.blockIO.weightDevice');
    }
    const throttles: [keyof typeof b, string][] = [
      ['throttleReadBpsDevice', 'rbps'],
      ['throttleWriteBpsDevice', 'wbps'],
      ['throttleReadIOPSDevice', 'riops'],
      ['throttleWriteIOPSDevice', 'wiops'],
    ];
    for (const [key, name] of throttles) {
      for (const d of (b[key] as { major: number; minor: number; rate: number }[] | undefined) ?? []) {
        this.write('io.max', `${d.major}:${d.minor} ${name}=${d.rate}`, `linux.resources.blockIO.${key}`);
      }
    }
  }

  freeze(): void {
    this.write('cgroup.freeze', '1', 'freeze');
    if (!this.waitFor(() => this.readKeyed(this.dir, 'cgroup.events').get('frozen') === 1, 5000)) {
      this.write('cgroup.freeze', '0', 'thaw');
      throw new CgroupError('Internal', `cannot freeze ${this.dir}: cgroup.events never reported frozen`, this.dir);
    }
  }

  thaw(): void {
    this.write('cgroup.freeze', '0', 'thaw');
    if (!this.waitFor(() => this.readKeyed(this.dir, 'cgroup.events').get('frozen') !== 1, 5000)) {
      throw new CgroupError('Internal', `cannot thaw ${this.dir}: cgroup.events still reports frozen`, this.dir);
    }
  }

  state(): 'frozen' | 'thawed' {
    return this.readFile(this.dir, 'cgroup.freeze')?.trim() === '1' ? 'frozen' : 'thawed';
  }

  pids(): number[] {
    return this.pidsUnder(this.dir);
  }

  killAll(signal: number): void {
    // cgroup.kill (Linux 5.14) SIGKILLs the whole subtree atomically.
    if (signal === 9 && this.fs.exists(posix.join(this.dir, 'cgroup.kill'))) {
      this.write('cgroup.kill', '1', 'kill');
      return;
    }
    this.signalFrozen(signal, this.fs.exists(posix.join(this.dir, 'cgroup.freeze')));
  }

  destroy(): void {
    this.removeTree(this.dir);
  }

  exists(): boolean {
    return this.fs.exists(this.dir);
  }

  stats(): CgroupStats {
    const cpu = this.readKeyed(this.dir, 'cpu.stat');
    const mem = this.readKeyed(this.dir, 'memory.stat');
    const events = this.readKeyed(this.dir, 'memory.events');
    const io = parseIoStat(this.readFile(this.dir, 'io.stat') ?? '');
    const us = (k: string) => (cpu.get(k) ?? 0) * 1000;
    return {
      cpu: {
        usageTotal: us('usage_usec'),
        usageUser: us('user_usec'),
        usageSystem: us('system_usec'),
        periods: cpu.get('nr_periods') ?? 0,
        throttledPeriods: cpu.get('nr_throttled') ?? 0,
        throttledTime: us('throttled_usec'),
      },
      memory: {
        usage: this.readNumber(this.dir, 'memory.current') ?? 0,
        maxUsage: this.readNumber(this.dir, 'memory.peak'),
        limit: this.readNumber(this.dir, 'memory.max'),
        cache: mem.get('file') ?? 0,
        swapUsage: this.readNumber(this.dir, 'memory.swap.current'),
        swapLimit: this.readNumber(this.dir, 'memory.swap.max'),
        oom: events.get('oom') ?? 0,
        oomKill: events.get('oom_kill') ?? 0,
      },
      pids: { current: this.readNumber(this.dir, 'pids.current') ?? 0, limit: this.readNumber(this.dir, 'pids.max') },
      blkio: io,
    };
  }
}

/** io.stat: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6`, per device. */
export function parseIoStat(text: string): { serviceBytes: BlkioEntry[]; serviced: BlkioEntry[] } {
  const serviceBytes: BlkioEntry[] = [];
  const serviced: BlkioEntry[] = [];
  const ops: Record<string, [BlkioEntry[], string]> = {
    rbytes: [serviceBytes, 'Read'],
    wbytes: [serviceBytes, 'Write'],
    dbytes: [serviceBytes, 'Discard'],
    rios: [serviced, 'Read'],
    wios: [serviced, 'Write'],
    dios: [serviced, 'Discard'],
  };
  for (const line of text.split('\n')) {
    const [dev, ...fields] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    for (const f of fields) {
      const [k, v] = f.split('=');
      const target = ops[k ?? ''];
      if (target && v !== undefined) target[0].push({ major: Number(m[1]), minor: Number(m[2]), op: target[1], value: Number(v) });
    }
  }
  return { serviceBytes, serviced };
}
