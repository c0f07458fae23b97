// Task metrics from the init's cgroups: cgroup v1 (one hierarchy per controller)
// and v2 (one unified hierarchy), as /proc/<pid>/cgroup names them.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const read = (p: string): string | undefined => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
};
const num = (s: string | undefined): number => {
  const t = s?.trim();
  if (!t || t === 'max') return 0;
  const n = Number(t);
  return Number.isFinite(n) ? n : 0;
};
const kv = (s: string | undefined): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const line of (s ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = num(v);
  }
  return out;
};

export interface IoEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export function taskMetrics(containerId: string, pid: number): object | undefined {
  const cg = read(`/proc/${pid}/cgroup`);
  if (!cg) return undefined;
  const v1: Record<string, string> = {};
  let v2 = '';
  for (const line of cg.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') v2 = m[3]!;
    else for (const c of m[2]!.split(',')) v1[c.replace(/^name=/, '')] = m[3]!;
  }
  const base = { container_id: containerId, timestamp: new Date().toISOString() };
  if (v1.memory || v1.cpuacct || v1.pids) {
    const dir = (ctrl: string, mnt = ctrl) => (v1[ctrl] !== undefined ? join('/sys/fs/cgroup', mnt, v1[ctrl]!) : '');
    const cpuDir = dir('cpuacct', existsSync('/sys/fs/cgroup/cpuacct') ? 'cpuacct' : 'cpu,cpuacct');
    const cpuStat = kv(read(join(dir('cpu', existsSync('/sys/fs/cgroup/cpu') ? 'cpu' : 'cpu,cpuacct'), 'cpu.stat')));
    const acct = kv(read(join(cpuDir, 'cpuacct.stat')));
    const tick = 1e9 / 100; // USER_HZ
    const mem = dir('memory');
    const blk = dir('blkio');
    const ioList = (file: string): IoEntry[] =>
      (read(join(blk, file)) ?? '')
        .split('\n')
        .map((l) => /^(\d+):(\d+) (\S+) (\d+)$/.exec(l))
        .filter((m): m is RegExpExecArray => !!m)
        .map((m) => ({ major: num(m[1]), minor: num(m[2]), op: m[3]!, value: num(m[4]) }));
    const memLimit = num(read(join(mem, 'memory.limit_in_bytes')));
    const pidsMax = num(read(join(dir('pids'), 'pids.max')));
    return {
      ...base,
      cgroup_version: 'v1',
      cpu: {
        usage_total_ns: num(read(join(cpuDir, 'cpuacct.usage'))),
        usage_user_ns: (acct.user ?? 0) * tick,
        usage_kernel_ns: (acct.system ?? 0) * tick,
        percpu_ns: (read(join(cpuDir, 'cpuacct.usage_percpu')) ?? '').trim().split(/\s+/).filter(Boolean).map(num),
        periods: cpuStat.nr_periods ?? 0,
        throttled_periods: cpuStat.nr_throttled ?? 0,
        throttled_time_ns: cpuStat.throttled_time ?? 0,
      },
      memory: {
        usage: num(read(join(mem, 'memory.usage_in_bytes'))),
        // The kernel's "unlimited" is a page-rounded LONG_MAX.
        limit: memLimit >= 2 ** 62 ? 0 : memLimit,
        max_usage: num(read(join(mem, 'memory.max_usage_in_bytes'))),
        failcnt: num(read(join(mem, 'memory.failcnt'))),
        stat: kv(read(join(mem, 'memory.stat'))),
      },
      pids: { current: num(read(join(dir('pids'), 'pids.current'))), limit: pidsMax },
      io: { service_bytes: ioList('blkio.throttle.io_service_bytes'), serviced: ioList('blkio.throttle.io_serviced') },
    };
  }
  const root = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
  return cgroupV2Metrics(join(root, v2), base);
}

/** The v2 figures of one unified-hierarchy cgroup directory (exported for tests on v1 hosts). */
export function cgroupV2Metrics(d: string, base: object): object {
  const cpu = kv(read(join(d, 'cpu.stat')));
  const io: IoEntry[] = [];
  for (const line of (read(join(d, 'io.stat')) ?? '').split('\n')) {
    const m = /^(\d+):(\d+) (.*)$/.exec(line);
    if (!m) continue;
    for (const pair of m[3]!.split(' ')) {
      const [op, v] = pair.split('=');
      if (op && v) io.push({ major: num(m[1]), minor: num(m[2]), op, value: num(v) });
    }
  }
  return {
    ...base,
    cgroup_version: 'v2',
    cpu: {
      usage_total_ns: (cpu.usage_usec ?? 0) * 1000,
      usage_user_ns: (cpu.user_usec ?? 0) * 1000,
      usage_kernel_ns: (cpu.system_usec ?? 0) * 1000,
      percpu_ns: [],
      periods: cpu.nr_periods ?? 0,
      throttled_periods: cpu.nr_throttled ?? 0,
      throttled_time_ns: (cpu.throttled_usec ?? 0) * 1000,
    },
    memory: {
      usage: num(read(join(d, 'memory.current'))),
      limit: num(read(join(d, 'memory.max'))),
      max_usage: num(read(join(d, 'memory.peak'))),
      failcnt: kv(read(join(d, 'memory.events'))).max ?? 0,
      stat: kv(read(join(d, 'memory.stat'))),
    },
    pids: { current: num(read(join(d, 'pids.current'))), limit: num(read(join(d, 'pids.max'))) },
    io: { service_bytes: io.filter((e) => e.op.endsWith('bytes')), serviced: io.filter((e) => e.op.endsWith('ios')) },
  };
}
