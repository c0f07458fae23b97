import { describe, expect, it } from 'vitest';
import { FakeSys } from '../sys/fake.js';
import { MS } from '../sys/index.js';
import { parseMountOptions, pinMountTarget } from './mounts.js';

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

describe('pinMountTarget (CVE-2021-30465)', () => {
  it('hands back the pinned target when the destination resolves inside the rootfs', () => {
    const sys = new FakeSys();
    expect(pinMountTarget(sys, '/b/rootfs', '/b/rootfs/data', '/data').target).toBe('/b/rootfs/data');
  });

  it('refuses a destination swapped to resolve outside, naming both paths', () => {
    const sys = new FakeSys();
    sys.pinnedReal = () => '/etc';
    expect(() => pinMountTarget(sys, '/b/rootfs', '/b/rootfs/data', '/data')).toThrow(
      'mount /data: possibly malicious path detected: /b/rootfs/data now resolves to /etc, outside the rootfs -- refusing to mount',
    );
    // A sibling directory sharing the prefix is outside too.
    sys.pinnedReal = () => '/b/rootfs2/data';
    expect(() => pinMountTarget(sys, '/b/rootfs/', '/b/rootfs/data', '/data')).toThrow(/outside the rootfs/);
  });
});
