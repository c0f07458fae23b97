// Docker's stats JSON from shimd's task metrics (cgroup v1 or v2 figures), the
// host's /proc/stat and the container's /proc/<pid>/net/dev.
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const CLK_TCK = 100;

/** Host CPU time in ns, as dockerd's system_cpu_usage. */
export function systemCpuNs(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const ticks = line
      .split(/\s+/)
      .slice(1, 8)
      .reduce((n, v) => n + Number(v || 0), 0);
    return (ticks * 1e9) / CLK_TCK;
  } catch {
    return 0;
  }
}

function networks(pid: number): Record<string, object> | undefined {
  if (!pid) return undefined;
  try {
    const out: Record<string, object> = {};
    for (const line of readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').slice(2)) {
      const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
      if (!m || m[1] === 'lo') continue;
      const f = m[2]!.trim().split(/\s+/).map(Number);
      out[m[1]!] = {
        rx_bytes: f[0],
        rx_packets: f[1],
        rx_errors: f[2],
        rx_dropped: f[3],
        tx_bytes: f[8],
        tx_packets: f[9],
        tx_errors: f[10],
        tx_dropped: f[11],
      };
    }
    return Object.keys(out).length ? out : undefined;
  } catch {
    return undefined;
  }
}

export interface Sample {
  read: string;
  cpu: object;
  memory: object;
  pids: object;
  blkio: object;
  networks?: Record<string, object>;
}

const emptyCpu = { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };

/**
 * v2's io.stat keys as dockerd names them in the blkio lists: rbytes/rios "read",
 * wbytes/wios "write" (dockerd leaves discards out); v1's ops ("Read", "Total"…) stay.
 */
function ioOp(op: string, v1: boolean): string {
  if (v1) return op;
  return op.startsWith('r') ? 'read' : op.startsWith('w') ? 'write' : '';
}

function ioList(entries: any[] | undefined, v1: boolean): object[] {
  return (entries ?? [])
    .map((e: any) => ({ major: e.major, minor: e.minor, op: ioOp(e.op, v1), value: Number(e.value) }))
    .filter((e) => e.op);
}

export function sample(metric: any, pid: number): Sample {
  const cpu = metric?.cpu;
  const mem = metric?.memory;
  const v1 = metric?.cgroup_version !== 'v2';
  const ncpu = cpus().length;
  return {
    read: new Date().toISOString(),
    cpu: cpu
      ? {
          cpu_usage: {
            total_usage: Number(cpu.usage_total_ns),
            ...(v1 && cpu.percpu_ns?.length ? { percpu_usage: cpu.percpu_ns.map(Number) } : {}),
            usage_in_kernelmode: Number(cpu.usage_kernel_ns),
            usage_in_usermode: Number(cpu.usage_user_ns),
          },
          system_cpu_usage: systemCpuNs(),
          online_cpus: ncpu,
          throttling_data: {
            periods: Number(cpu.periods),
            throttled_periods: Number(cpu.throttled_periods),
            throttled_time: Number(cpu.throttled_time_ns),
          },
        }
      : { ...emptyCpu, system_cpu_usage: systemCpuNs(), online_cpus: ncpu },
    memory: mem
      ? {
          usage: Number(mem.usage),
          ...(v1 ? { max_usage: Number(mem.max_usage), failcnt: Number(mem.failcnt) } : {}),
          stats: Object.fromEntries(Object.entries(mem.stat ?? {}).map(([k, v]) => [k, Number(v)])),
          limit: Number(mem.limit) || totalmem(),
        }
      : {},
    pids: metric?.pids ? { current: Number(metric.pids.current), ...(Number(metric.pids.limit) ? { limit: Number(metric.pids.limit) } : {}) } : {},
    blkio: {
      io_service_bytes_recursive: ioList(metric?.io?.service_bytes, v1),
      io_serviced_recursive: ioList(metric?.io?.serviced, v1),
      io_queue_service_bytes_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    networks: networks(pid),
  };
}

export function statsJson(id: string, name: string, cur: Sample, prev: Sample | undefined): object {
  return {
    name,
    id,
    read: cur.read,
    preread: prev?.read ?? '0001-01-01T00:00:00Z',
    pids_stats: cur.pids,
    blkio_stats: cur.blkio,
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cur.cpu,
    precpu_stats: prev?.cpu ?? { ...emptyCpu, system_cpu_usage: 0, online_cpus: 0 },
    memory_stats: cur.memory,
    ...(cur.networks ? { networks: cur.networks } : {}),
  };
}
