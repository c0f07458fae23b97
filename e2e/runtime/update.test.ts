// `update ID` with runc's flags and --resources: values read back from the v1
// cgroup files, runc's validation messages, nothing changed by a refused update.
// Runs against berth-runtime and, with BERTH_TEST_RUNTIME=runc, against runc.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRun, suite } from './rt.js';

const v1 = existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes');
const read = (controller: string, path: string, file: string) => readFileSync(`/sys/fs/cgroup/${controller}${path}/${file}`, 'utf8').trim();
const MiB = 1024 * 1024;
const V1_UNLIMITED = '9223372036854771712';

describe.skipIf(!canRun || !v1)('update', () => {
  const s = suite('upd');

  const running = () => {
    const id = s.id();
    const path = `/${id}`;
    const b = s.bundle({ args: ['sleep', '60'], edit: (c) => (c.linux.cgroupsPath = path) });
    expect(s.rt(['run', '-d', '-b', b, id], { files: true }).status).toBe(0);
    return { id, path };
  };

  it('applies every runc flag; memory sizes take units', () => {
    const { id, path } = running();
    const r = s.rt([
      'update',
      '--memory', '32m',
      '--memory-reservation', '16M',
      '--memory-swap', '64m',
      '--cpu-share', '256',
      '--cpu-period', '50000',
      '--cpu-quota', '25000',
      '--cpu-rt-period', '500000',
      '--cpu-rt-runtime', '1000',
      '--cpuset-cpus', '0',
      '--cpuset-mems', '0',
      '--pids-limit', '20',
      '--blkio-weight', '300',
      id,
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(read('memory', path, 'memory.limit_in_bytes')).toBe(String(32 * MiB));
    expect(read('memory', path, 'memory.soft_limit_in_bytes')).toBe(String(16 * MiB));
    expect(read('memory', path, 'memory.memsw.limit_in_bytes')).toBe(String(64 * MiB));
    expect(read('cpu', path, 'cpu.shares')).toBe('256');
    expect(read('cpu', path, 'cpu.cfs_period_us')).toBe('50000');
    expect(read('cpu', path, 'cpu.cfs_quota_us')).toBe('25000');
    expect(read('cpu', path, 'cpu.rt_period_us')).toBe('500000');
    expect(read('cpu', path, 'cpu.rt_runtime_us')).toBe('1000');
    expect(read('cpuset', path, 'cpuset.cpus')).toBe('0');
    expect(read('cpuset', path, 'cpuset.mems')).toBe('0');
    expect(read('pids', path, 'pids.max')).toBe('20');
    // This kernel has no CFQ blkio.weight; both runtimes write BFQ's weight instead.
    if (existsSync(`/sys/fs/cgroup/blkio${path}/blkio.bfq.weight`)) expect(read('blkio', path, 'blkio.bfq.weight')).toMatch(/\b300$/m);

    // "-1" is unlimited, for swap too when it is not given.
    expect(s.rt(['update', '--memory', '-1', id]).status).toBe(0);
    expect(read('memory', path, 'memory.limit_in_bytes')).toBe(V1_UNLIMITED);
    expect(read('memory', path, 'memory.memsw.limit_in_bytes')).toBe(V1_UNLIMITED);
    // Growing both: the runtime orders memsw before memory so the kernel accepts it.
    expect(s.rt(['update', '--memory', '48m', '--memory-swap', '96m', id]).status).toBe(0);
    expect(read('memory', path, 'memory.limit_in_bytes')).toBe(String(48 * MiB));
    expect(s.rt(['update', '--memory', '128m', '--memory-swap', '256m', id]).status).toBe(0);
    expect(read('memory', path, 'memory.memsw.limit_in_bytes')).toBe(String(256 * MiB));
  });

  it('--resources FILE and - (stdin) replace the flags, which are then ignored', () => {
    const { id, path } = running();
    const dir = s.tempDir();
    const file = join(dir, 'resources.json');
    writeFileSync(file, JSON.stringify({ memory: { limit: 40 * MiB }, cpu: { shares: 300 }, pids: { limit: 33 } }));
    expect(s.rt(['update', '-r', file, '--pids-limit', '44', id]).status).toBe(0);
    expect(read('memory', path, 'memory.limit_in_bytes')).toBe(String(40 * MiB));
    expect(read('cpu', path, 'cpu.shares')).toBe('300');
    expect(read('pids', path, 'pids.max')).toBe('33');
    // containerd sends the whole linux.resources, devices included: like runc, update leaves
    // the device rules as create set them (a bare deny-all would cut off /dev/null).
    const fromContainerd = { pids: { limit: 55 }, devices: [{ allow: false, access: 'rwm' }] };
    expect(s.rt(['update', '--resources', '-', id], { input: JSON.stringify(fromContainerd) }).status).toBe(0);
    expect(read('pids', path, 'pids.max')).toBe('55');
    expect(s.rt(['exec', id, 'sh', '-c', 'echo x > /dev/null && echo null-ok']).stdout).toBe('null-ok\n');
    const bad = s.rt(['update', '-r', join(dir, 'missing.json'), id]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/missing\.json/);
  });

  it('refuses bad values with runc’s messages and leaves the limits as they were', () => {
    const { id, path } = running();
    expect(s.rt(['update', '--memory', '64m', '--pids-limit', '10', id]).status).toBe(0);
    const cases: [string[], RegExp][] = [
      [['--memory', 'abc'], /invalid value for memory: invalid size: 'abc'/],
      [['--memory-swap', 'lots'], /invalid value for memory-swap: invalid size: 'lots'/],
      [['--cpu-share', 'x'], /invalid value for cpu-share: strconv\.ParseUint: parsing "x": invalid syntax/],
      [['--cpu-quota', '1.5'], /invalid value for cpu-quota: strconv\.ParseInt: parsing "1\.5": invalid syntax/],
      [['--pids-limit', 'x'], /invalid value "x" for flag -pids-limit/],
      // Below the current limit memsw < memory: the kernel refuses, the file is named.
      [['--memory-swap', '5m'], /memory\.memsw\.limit_in_bytes/],
      // Less than the container already uses: the kernel answers EBUSY.
      [['--memory', '1k'], /unable to set memory limit to 1024 \(current usage: \d+, peak usage: \d+\)/],
      [['--cpuset-cpus', '4095'], /cpuset\.cpus/],
    ];
    if (!existsSync('/sys/fs/resctrl/info/L3')) cases.push([['--l3-cache-schema', 'L3:0=f'], /Intel RDT\/CAT: l3 cache schema is not enabled/]);
    if (!existsSync('/sys/fs/resctrl/info/MB')) cases.push([['--mem-bw-schema', 'MB:0=50'], /Intel RDT\/MBA: memory bandwidth schema is not enabled/]);
    for (const [args, message] of cases) {
      const r = s.rt(['update', ...args, id]);
      expect(r.status, args.join(' ')).not.toBe(0);
      // runc-style logs quote the message, escaping its own quotes.
      expect(r.stderr.replace(/\\"/g, '"'), args.join(' ')).toMatch(message);
    }
    expect(read('memory', path, 'memory.limit_in_bytes')).toBe(String(64 * MiB));
    expect(read('pids', path, 'pids.max')).toBe('10');
  });

  it('refuses a stopped container and an unknown one', async () => {
    const id = s.id();
    const b = s.bundle({ args: ['true'] });
    expect(s.rt(['run', '-d', '-b', b, id], { files: true }).status).toBe(0);
    expect(await s.waitStatus(id, 'stopped')).toBe('stopped');
    const r = s.rt(['update', '--pids-limit', '5', id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/container not running/);
    const missing = s.rt(['update', '--pids-limit', '5', 'rt-upd-no-such-container']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/does not exist|not exist/);
  });
});
