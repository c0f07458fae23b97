import { describe, expect, it } from 'vitest';
import { MS } from '../sys/index.js';
import { parseMountOptions } from './mounts.js';

describe('parseMountOptions', () => {
  it('turns flag options into mount flags and keeps the rest as data', () => {
    const p = parseMountOptions(['nosuid', 'strictatime', 'mode=755', 'size=65536k']);
    expect(p.flags).toBe(MS.NOSUID | MS.STRICTATIME);
    expect(p.data).toBe('mode=755,size=65536k');
    expect(p.propagation).toEqual([]);
  });

  it('later options clear earlier ones (rw after ro, exec after noexec)', () => {
    expect(parseMountOptions(['ro', 'rw']).flags).toBe(0);
    expect(parseMountOptions(['noexec', 'exec', 'nodev']).flags).toBe(MS.NODEV);
  });

  it('bind and rbind', () => {
    expect(parseMountOptions(['bind']).flags).toBe(MS.BIND);
    expect(parseMountOptions(['rbind', 'ro']).flags).toBe(MS.BIND | MS.REC | MS.RDONLY);
  });

  it('propagation options are separate mount calls', () => {
    expect(parseMountOptions(['rbind', 'rshared', 'private']).propagation).toEqual([MS.SHARED | MS.REC, MS.PRIVATE]);
    expect(parseMountOptions(['rslave']).propagation).toEqual([MS.SLAVE | MS.REC]);
  });

  it('recursive attributes map to their flag and tmpcopyup is not data', () => {
    expect(parseMountOptions(['rro', 'rnosuid', 'tmpcopyup']).flags).toBe(MS.RDONLY | MS.NOSUID);
    expect(parseMountOptions(['tmpcopyup']).data).toBe('');
  });
});
