import { describe, expect, it } from 'vitest';
import { parseDuration } from './events.js';
import { ramInBytes, resourcesFromArgs } from './update.js';

describe('update arguments', () => {
  it('takes docker memory units', () => {
    expect(ramInBytes('100')).toBe(100);
    expect(ramInBytes('10m')).toBe(10 << 20);
    expect(ramInBytes('1.5g')).toBe(1.5 * 2 ** 30);
    expect(ramInBytes('64MiB')).toBe(64 << 20);
    expect(() => ramInBytes('abc')).toThrow("invalid size: 'abc'");
  });

  it('maps runc’s flags to linux.resources', () => {
    const { id, resources } = resourcesFromArgs([
      '--memory', '-1', '--memory-swap', '1g', '--cpu-share', '512', '--cpu-quota', '-1', '--cpu-rt-runtime', '100',
      '--cpuset-cpus', '0-1', '--pids-limit', '9', '--blkio-weight', '200', 'c1',
    ]);
    expect(id).toBe('c1');
    expect(resources).toEqual({
      blockIO: { weight: 200 },
      cpu: { cpus: '0-1', shares: 512, quota: -1, realtimeRuntime: 100 },
      memory: { limit: -1, swap: 1 << 30 },
      pids: { limit: 9 },
    });
    expect(resourcesFromArgs(['c1']).resources).toEqual({});
  });

  it('refuses bad values with runc’s messages', () => {
    expect(() => resourcesFromArgs(['--cpu-period', '-5', 'c1'])).toThrow('invalid value for cpu-period: strconv.ParseUint: parsing "-5": invalid syntax');
    expect(() => resourcesFromArgs(['--memory', 'x', 'c1'])).toThrow("invalid value for memory: invalid size: 'x'");
    expect(() => resourcesFromArgs(['c1', 'c2'])).toThrow('"update" requires a maximum of 1 argument');
  });
});

describe('events --interval', () => {
  it('parses Go durations', () => {
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('100ms')).toBe(100);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(() => parseDuration('soon')).toThrow(/soon/);
    expect(() => parseDuration('5')).toThrow(/5/);
  });
});
