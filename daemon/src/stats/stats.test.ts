// Docker's stats JSON from cgroup v2 figures. This VM is cgroup v1, so berth-shimd's
// v2 reader runs against a directory of files in the kernel's v2 formats, and its
// output goes through the same conversion berthd applies to a live task's metrics.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cgroupV2Metrics } from '../../../shimd/src/shimd/metrics.js';
import { sample, statsJson } from './stats.js';

const V2_FILES: Record<string, string> = {
  'cpu.stat': 'usage_usec 250000\nuser_usec 150000\nsystem_usec 100000\nnr_periods 40\nnr_throttled 3\nthrottled_usec 1200\n',
  'memory.current': '10485760\n',
  'memory.max': '67108864\n',
  'memory.peak': '12582912\n',
  'memory.events': 'low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n',
  'memory.stat': 'anon 4194304\nfile 2097152\nkernel_stack 32768\nshmem 0\nactive_anon 4096\ninactive_anon 4190208\nactive_file 1048576\ninactive_file 1048576\npgfault 1234\n',
  'pids.current': '3\n',
  'pids.max': '100\n',
  'io.stat': '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n',
};

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

function v2Dir(files: Record<string, string>): string {
  dir = mkdtempSync(join(tmpdir(), 'daemon-stats-v2-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('stats: cgroup v2', () => {
  it('gives Docker v2 field set: usage_usec in ns, memory.stat names, pids, io as read/write', () => {
    const metric = cgroupV2Metrics(v2Dir(V2_FILES), { container_id: 'c1', timestamp: '' });
    const json = statsJson('c1', '/web', sample(metric, 0), undefined) as any;
    expect(json.cpu_stats.cpu_usage).toEqual({ total_usage: 250_000_000, usage_in_kernelmode: 100_000_000, usage_in_usermode: 150_000_000 });
    // v2 has no per-CPU figures: dockerd leaves percpu_usage out.
    expect(json.cpu_stats.cpu_usage.percpu_usage).toBeUndefined();
    expect(json.cpu_stats.throttling_data).toEqual({ periods: 40, throttled_periods: 3, throttled_time: 1_200_000 });
    expect(json.cpu_stats.online_cpus).toBeGreaterThan(0);
    // v2 memory: usage, limit and memory.stat under its own names; no max_usage or failcnt.
    expect(json.memory_stats.usage).toBe(10485760);
    expect(json.memory_stats.limit).toBe(67108864);
    expect(json.memory_stats.max_usage).toBeUndefined();
    expect(json.memory_stats.failcnt).toBeUndefined();
    expect(json.memory_stats.stats).toMatchObject({ anon: 4194304, file: 2097152, inactive_file: 1048576, active_file: 1048576, pgfault: 1234 });
    expect(json.memory_stats.stats.total_inactive_file).toBeUndefined();
    expect(json.pids_stats).toEqual({ current: 3, limit: 100 });
    expect(json.blkio_stats.io_service_bytes_recursive).toEqual([
      { major: 8, minor: 0, op: 'read', value: 4096 },
      { major: 8, minor: 0, op: 'write', value: 8192 },
    ]);
    expect(json.blkio_stats.io_serviced_recursive).toEqual([
      { major: 8, minor: 0, op: 'read', value: 1 },
      { major: 8, minor: 0, op: 'write', value: 2 },
    ]);
    expect(json.name).toBe('/web');
    expect(json.precpu_stats.cpu_usage.total_usage).toBe(0);
  });

  it('an unlimited cgroup ("max") reports the host memory as the limit and no pids limit', () => {
    const metric = cgroupV2Metrics(v2Dir({ ...V2_FILES, 'memory.max': 'max\n', 'pids.max': 'max\n' }), { container_id: 'c2', timestamp: '' });
    const json = statsJson('c2', '/c2', sample(metric, 0), undefined) as any;
    expect(json.memory_stats.limit).toBeGreaterThan(67108864);
    expect(json.pids_stats).toEqual({ current: 3 });
  });

  it('keeps v1 blkio ops as the kernel names them', () => {
    const json = statsJson('c3', '/c3', sample({ cgroup_version: 'v1', io: { service_bytes: [{ major: 8, minor: 0, op: 'Read', value: 5 }], serviced: [] } }, 0), undefined) as any;
    expect(json.blkio_stats.io_service_bytes_recursive).toEqual([{ major: 8, minor: 0, op: 'Read', value: 5 }]);
  });
});
