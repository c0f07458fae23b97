import { describe, expect, it } from 'vitest';
import { FakeCgroupFs } from './fake.js';
import { parseBlkioLines, parseCpuList, runcStats, stringifyStats } from './runc-stats.js';

describe('runc-shaped stats', () => {
  it('prints numbers beyond 2^53 digit for digit', () => {
    expect(stringifyStats({ a: 9223372036854771712n, b: [1, 2n], c: 'x' })).toBe('{"a":9223372036854771712,"b":[1,2],"c":"x"}');
  });

  it('parses cpu lists and blkio lines (the Total line dropped, zero values omitted)', () => {
    expect(parseCpuList('0-2,5\n')).toEqual([0, 1, 2, 5]);
    expect(parseBlkioLines('8:0 Read 4096\n8:0 Write 0\nTotal 4096\n')).toEqual([
      { major: 8, op: 'Read', value: 4096 },
      { major: 8, op: 'Write' },
    ]);
  });

  it('reads a v1 cgroup into runc’s fields', () => {
    const fs = new FakeCgroupFs(1, []);
    const at = (c: string, f: string, v: string) => fs.seed(`/cg/${c}/x/${f}`, v);
    at('cpuacct', 'cpuacct.usage', '5000');
    at('cpuacct', 'cpuacct.usage_percpu', '3000 2000 ');
    at('cpuacct', 'cpuacct.usage_all', 'cpu user system\n0 2000 1000\n1 1500 500\n');
    at('cpuacct', 'cpuacct.stat', 'user 2\nsystem 1\n');
    at('cpu', 'cpu.stat', 'nr_periods 4\nnr_throttled 0\nthrottled_time 0\n');
    at('memory', 'memory.limit_in_bytes', '9223372036854771712');
    at('memory', 'memory.usage_in_bytes', '4096');
    at('memory', 'memory.max_usage_in_bytes', '8192');
    at('memory', 'memory.failcnt', '0');
    at('memory', 'memory.stat', 'rss 4096\ncache 0\n');
    at('pids', 'pids.current', '2');
    at('pids', 'pids.max', 'max');
    at('blkio', 'blkio.throttle.io_service_bytes_recursive', '254:0 Read 512\nTotal 512\n');
    const paths = { cpu: '/cg/cpu/x', cpuacct: '/cg/cpuacct/x', memory: '/cg/memory/x', pids: '/cg/pids/x', blkio: '/cg/blkio/x' };
    const s = runcStats({ version: 1, paths }, fs) as any;
    expect(s.cpu).toEqual({
      usage: { total: 5000, percpu: [3000, 2000], percpu_kernel: [1000, 500], percpu_user: [2000, 1500], kernel: 10_000_000, user: 20_000_000 },
      throttling: { periods: 4 },
    });
    expect(s.memory.usage).toEqual({ limit: 9223372036854771712n, usage: 4096, max: 8192, failcnt: 0 });
    expect(s.memory.cache).toBeUndefined();
    expect(s.memory.raw).toEqual({ cache: 0, rss: 4096 });
    expect(s.pids).toEqual({ current: 2 });
    expect(s.blkio).toEqual({ ioServiceBytesRecursive: [{ major: 254, op: 'Read', value: 512 }] });
    expect(Object.keys(s)).toEqual(['cpu', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb', 'intel_rdt', 'network_interfaces']);
  });

  it('reads a v2 cgroup into the same fields', () => {
    const fs = new FakeCgroupFs(2, []);
    const at = (f: string, v: string) => fs.seed(`/cg/c/${f}`, v);
    at('cpu.stat', 'usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 0\n');
    at('memory.current', '4096\n');
    at('memory.max', 'max\n');
    at('memory.stat', 'file 100\nanon 200\n');
    at('memory.events', 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    at('pids.current', '1');
    at('pids.max', '10');
    at('io.stat', '8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n');
    const s = runcStats({ version: 2, paths: { '': '/cg/c' } }, fs) as any;
    expect(s.cpu.usage).toEqual({ total: 10_000, kernel: 4000, user: 6000 });
    expect(s.memory.cache).toBe(100);
    expect(s.memory.usage).toEqual({ limit: 18446744073709551615n, usage: 4096, failcnt: 3 });
    expect(s.pids).toEqual({ current: 1, limit: 10 });
    expect(s.blkio.ioServiceBytesRecursive).toEqual([
      { major: 8, op: 'Read', value: 4096 },
      { major: 8, op: 'Write' },
    ]);
  });
});
