// The stats document of `events`, in runc's JSON shape (runc's types/events.go:
// cpu, cpuset, memory, pids, blkio, hugetlb, intel_rdt, network_interfaces, with
// its omitempty rules), read from a container's v1 or v2 cgroup files. Counters
// can exceed 2^53 (v1's "unlimited" is 2^63 - 4096), so numbers are kept as
// BigInt when they do not fit and printed digit for digit by stringifyStats.
import { posix } from 'node:path';
import type { CgroupManager } from './manager.js';
import type { CgroupFs } from './types.js';

export type Num = number | bigint;
type Obj = Record<string, unknown>;

const U64_MAX = 18446744073709551615n;

function toNum(text: string): Num | undefined {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : BigInt(t);
}

/** JSON with every BigInt written as its exact digits. */
export function stringifyStats(value: unknown): string {
  const marks: string[] = [];
  const json = JSON.stringify(value, (_k, v) => {
    if (typeof v !== 'bigint') return v;
    marks.push(v.toString());
    return `\u0001big${marks.length - 1}\u0001`;
  });
  return json.replace(/"\\u0001big(\d+)\\u0001"/g, (_m, i: string) => marks[Number(i)]!);
}

/** Drops zero/empty fields, as Go's omitempty does. */
function omitEmpty(o: Obj, keys: string[]): Obj {
  for (const k of keys) {
    const v = o[k];
    if (v === undefined || v === 0 || v === 0n || (Array.isArray(v) && v.length === 0)) delete o[k];
  }
  return o;
}

/** A cpuset list (`0-3,6`) as numbers. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

class Reader {
  constructor(readonly fs: CgroupFs) {}

  text(dir: string | undefined, file: string): string | undefined {
    if (!dir) return undefined;
    try {
      return this.fs.read(posix.join(dir, file));
    } catch {
      return undefined;
    }
  }

  num(dir: string | undefined, file: string, max?: Num): Num {
    const t = this.text(dir, file)?.trim();
    if (t === 'max' && max !== undefined) return max;
    return (t === undefined ? undefined : toNum(t.split(/\s+/)[0] ?? '')) ?? 0;
  }

  list(dir: string | undefined, file: string): Num[] {
    return (this.text(dir, file) ?? '')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((v) => toNum(v) ?? 0);
  }

  /** `key value` lines, keys sorted (Go's encoding/json sorts map keys). */
  keyed(dir: string | undefined, file: string): Record<string, Num> {
    const pairs: [string, Num][] = [];
    for (const line of (this.text(dir, file) ?? '').split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      const n = v === undefined ? undefined : toNum(v);
      if (k && n !== undefined) pairs.push([k, n]);
    }
    return Object.fromEntries(pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  }
}

/** blkio's `8:0 Read 4096` lines (the `Total` line dropped) as runc's BlkioEntry list. */
export function parseBlkioLines(text: string): Obj[] {
  const out: Obj[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(f[0] ?? '');
    if (!dev) continue;
    const e: Obj = { major: Number(dev[1]), minor: Number(dev[2]) };
    if (f.length === 3) {
      e.op = f[1];
      e.value = toNum(f[2]!) ?? 0;
    } else e.value = toNum(f[1] ?? '') ?? 0;
    out.push(omitEmpty(e, ['major', 'minor', 'op', 'value']));
  }
  return out;
}

function v1Stats(r: Reader, p: Record<string, string>): Obj {
  const acct = p.cpuacct;
  const usageAll = (r.text(acct, 'cpuacct.usage_all') ?? '').split('\n').slice(1);
  const column = (i: number) =>
    usageAll
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length === 3)
      .map((f) => toNum(f[i]!) ?? 0);
  // cpuacct.stat is in USER_HZ ticks (100 a second).
  const ticks = r.keyed(acct, 'cpuacct.stat');
  const ns = (v: Num | undefined) => (typeof v === 'bigint' ? v * 10_000_000n : (v ?? 0) * 10_000_000);
  const cpuStat = r.keyed(p.cpu, 'cpu.stat');
  const cpu = {
    usage: omitEmpty(
      {
        total: r.num(acct, 'cpuacct.usage'),
        percpu: r.list(acct, 'cpuacct.usage_percpu'),
        percpu_kernel: column(2),
        percpu_user: column(1),
        kernel: ns(ticks.system),
        user: ns(ticks.user),
      },
      ['total', 'percpu', 'percpu_kernel', 'percpu_user'],
    ),
    throttling: omitEmpty({ periods: cpuStat.nr_periods, throttledPeriods: cpuStat.nr_throttled, throttledTime: cpuStat.throttled_time }, [
      'periods',
      'throttledPeriods',
      'throttledTime',
    ]),
  };

  const cs = p.cpuset;
  const cpuset = cs
    ? omitEmpty(
        {
          cpus: parseCpuList(r.text(cs, 'cpuset.cpus') ?? ''),
          cpu_exclusive: r.num(cs, 'cpuset.cpu_exclusive'),
          mems: parseCpuList(r.text(cs, 'cpuset.mems') ?? ''),
          mem_hardwall: r.num(cs, 'cpuset.mem_hardwall'),
          mem_exclusive: r.num(cs, 'cpuset.mem_exclusive'),
          memory_migrate: r.num(cs, 'cpuset.memory_migrate'),
          memory_spread_page: r.num(cs, 'cpuset.memory_spread_page'),
          memory_spread_slab: r.num(cs, 'cpuset.memory_spread_slab'),
          memory_pressure: r.num(cs, 'cpuset.memory_pressure'),
          sched_load_balance: r.num(cs, 'cpuset.sched_load_balance'),
          sched_relax_domain_level: r.num(cs, 'cpuset.sched_relax_domain_level'),
        },
        ['cpus', 'mems'],
      )
    : {};

  const mem = p.memory;
  const entry = (prefix: string) =>
    omitEmpty(
      {
        limit: r.num(mem, `${prefix}.limit_in_bytes`),
        usage: r.num(mem, `${prefix}.usage_in_bytes`),
        max: r.num(mem, `${prefix}.max_usage_in_bytes`),
        failcnt: r.num(mem, `${prefix}.failcnt`),
      },
      ['usage', 'max'],
    );
  const raw = r.keyed(mem, 'memory.stat');
  const memory: Obj = mem
    ? omitEmpty(
        {
          cache: raw.cache ?? 0,
          usage: entry('memory'),
          swap: entry('memory.memsw'),
          kernel: entry('memory.kmem'),
          kernelTCP: entry('memory.kmem.tcp'),
          raw,
        },
        ['cache'],
      )
    : {};

  const pidsMax = r.text(p.pids, 'pids.max')?.trim();
  const pids = omitEmpty({ current: r.num(p.pids, 'pids.current'), limit: pidsMax === 'max' ? 0 : r.num(p.pids, 'pids.max') }, ['current', 'limit']);

  const blkio: Obj = {};
  const b = p.blkio;
  if (b) {
    // CFQ's full set where present, else BFQ's, else the throttle counters (runc's order).
    const cfq = r.text(b, 'blkio.io_serviced_recursive') !== undefined;
    const bfq = !cfq && r.text(b, 'blkio.bfq.io_serviced_recursive') !== undefined;
    const pre = cfq ? 'blkio.' : bfq ? 'blkio.bfq.' : 'blkio.throttle.';
    const files: [string, string][] = [
      ['ioServiceBytesRecursive', 'io_service_bytes_recursive'],
      ['ioServicedRecursive', 'io_serviced_recursive'],
    ];
    if (cfq) {
      files.push(
        ['ioQueueRecursive', 'io_queued_recursive'],
        ['ioServiceTimeRecursive', 'io_service_time_recursive'],
        ['ioWaitTimeRecursive', 'io_wait_time_recursive'],
        ['ioMergedRecursive', 'io_merged_recursive'],
        ['ioTimeRecursive', 'time_recursive'],
        ['sectorsRecursive', 'sectors_recursive'],
      );
    }
    for (const [key, file] of files) {
      const entries = parseBlkioLines(r.text(b, `${pre}${file}`) ?? '');
      if (entries.length) blkio[key] = entries;
    }
  }

  const hugetlb: Obj = {};
  if (p.hugetlb) {
    for (const size of hugePageSizes(r, p.hugetlb, 'limit_in_bytes')) {
      hugetlb[size] = omitEmpty(
        {
          usage: r.num(p.hugetlb, `hugetlb.${size}.usage_in_bytes`),
          max: r.num(p.hugetlb, `hugetlb.${size}.max_usage_in_bytes`),
          failcnt: r.num(p.hugetlb, `hugetlb.${size}.failcnt`),
        },
        ['usage', 'max'],
      );
    }
  }
  return { cpu, cpuset, memory, pids, blkio, hugetlb, intel_rdt: {}, network_interfaces: null };
}

/** Page sizes (`2MB`) that have hugetlb files in `dir`. */
function hugePageSizes(r: Reader, dir: string, suffix: string): string[] {
  const sizes: string[] = [];
  try {
    const kb = (n: number) => (n >= 1 << 20 ? `${n >> 20}GB` : n >= 1024 ? `${n >> 10}MB` : `${n}KB`);
    for (const d of r.fs.readdir('/sys/kernel/mm/hugepages')) {
      const m = /^hugepages-(\d+)kB$/.exec(d);
      if (m) sizes.push(kb(Number(m[1])));
    }
  } catch {}
  return sizes.filter((s) => r.text(dir, `hugetlb.${s}.${suffix}`) !== undefined);
}

function v2Stats(r: Reader, dir: string): Obj {
  const cpuStat = r.keyed(dir, 'cpu.stat');
  const us = (v: Num | undefined) => (typeof v === 'bigint' ? v * 1000n : (v ?? 0) * 1000);
  const cpu = {
    usage: omitEmpty({ total: us(cpuStat.usage_usec), kernel: us(cpuStat.system_usec), user: us(cpuStat.user_usec) }, ['total']),
    throttling: omitEmpty({ periods: cpuStat.nr_periods, throttledPeriods: cpuStat.nr_throttled, throttledTime: us(cpuStat.throttled_usec) }, [
      'periods',
      'throttledPeriods',
      'throttledTime',
    ]),
  };
  const cpuset = omitEmpty(
    { cpus: parseCpuList(r.text(dir, 'cpuset.cpus.effective') ?? ''), mems: parseCpuList(r.text(dir, 'cpuset.mems.effective') ?? '') },
    ['cpus', 'mems'],
  );
  const raw = r.keyed(dir, 'memory.stat');
  const events = r.keyed(dir, 'memory.events');
  const memory: Obj =
    r.text(dir, 'memory.current') === undefined
      ? {}
      : omitEmpty(
          {
            cache: raw.file ?? 0,
            usage: omitEmpty(
              { limit: r.num(dir, 'memory.max', U64_MAX), usage: r.num(dir, 'memory.current'), max: r.num(dir, 'memory.peak'), failcnt: events.max ?? 0 },
              ['usage', 'max'],
            ),
            swap: omitEmpty({ limit: r.num(dir, 'memory.swap.max', U64_MAX), usage: r.num(dir, 'memory.swap.current'), failcnt: 0 }, ['usage', 'max']),
            kernel: { limit: 0, failcnt: 0 },
            kernelTCP: { limit: 0, failcnt: 0 },
            raw,
          },
          ['cache'],
        );
  const pidsMax = r.text(dir, 'pids.max')?.trim();
  const pids = omitEmpty({ current: r.num(dir, 'pids.current'), limit: pidsMax === 'max' ? 0 : r.num(dir, 'pids.max') }, ['current', 'limit']);
  const blkio: Obj = {};
  const bytes: Obj[] = [];
  const ios: Obj[] = [];
  for (const line of (r.text(dir, 'io.stat') ?? '').split('\n')) {
    const [dev, ...fields] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    for (const f of fields) {
      const [k, v] = f.split('=');
      const ops: Record<string, [Obj[], string]> = { rbytes: [bytes, 'Read'], wbytes: [bytes, 'Write'], rios: [ios, 'Read'], wios: [ios, 'Write'] };
      const t = ops[k ?? ''];
      if (t && v !== undefined) t[0].push(omitEmpty({ major: Number(m[1]), minor: Number(m[2]), op: t[1], value: toNum(v) ?? 0 }, ['major', 'minor', 'value']));
    }
  }
  if (bytes.length) blkio.ioServiceBytesRecursive = bytes;
  if (ios.length) blkio.ioServicedRecursive = ios;
  const hugetlb: Obj = {};
  for (const size of hugePageSizes(r, dir, 'max')) {
    hugetlb[size] = omitEmpty({ usage: r.num(dir, `hugetlb.${size}.current`), failcnt: r.keyed(dir, `hugetlb.${size}.events`).max ?? 0 }, ['usage']);
  }
  return { cpu, cpuset, memory, pids, blkio, hugetlb, intel_rdt: {}, network_interfaces: null };
}

/** runc's `Stats` for the container whose cgroup `m` manages. */
export function runcStats(m: Pick<CgroupManager, 'version' | 'paths'>, fs: CgroupFs): Obj {
  const r = new Reader(fs);
  return m.version === 2 ? v2Stats(r, m.paths['']!) : v1Stats(r, m.paths);
}
