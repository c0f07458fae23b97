import { describe, expect, it } from 'vitest';
import { type ContainerRecord, newState } from './model.js';
import { buildSpec, capabilities, DEFAULT_CAPS } from './spec.js';

function record(over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    ID: 'a'.repeat(64),
    Created: '2026-01-01T00:00:00Z',
    Path: 'sh',
    Args: ['-c', 'true'],
    Name: '/x',
    Image: 'sha256:x',
    ImageRef: 'docker.io/library/busybox:latest',
    Config: { Hostname: 'aaaaaaaaaaaa', Env: ['A=1'] },
    HostConfig: {},
    State: newState(),
    RestartCount: 0,
    LogPath: '/l',
    ResolvConfPath: '/r',
    HostnamePath: '/h',
    HostsPath: '/hosts',
    Mounts: [],
    ...over,
  };
}
const paths = { hostsPath: '/hosts', hostnamePath: '/h', resolvConfPath: '/r' };

describe('OCI spec from Docker config', () => {
  it('uses dockerd’s default capabilities, adds and drops', () => {
    expect(capabilities()).toEqual(DEFAULT_CAPS);
    const c = capabilities(['net_admin'], ['CAP_CHOWN', 'kill']);
    expect(c).toContain('CAP_NET_ADMIN');
    expect(c).not.toContain('CAP_CHOWN');
    expect(c).not.toContain('CAP_KILL');
    expect(capabilities([], ['ALL'])).toEqual([]);
    expect(() => capabilities(['bogus'])).toThrow('unknown capability: "CAP_BOGUS"');
  });

  it('maps resources, read-only rootfs, tty and the etc files', () => {
    const spec = buildSpec(
      record({
        Config: { Hostname: 'h1', Env: ['A=1'], Tty: true, WorkingDir: '/w' },
        HostConfig: { Memory: 64 << 20, NanoCpus: 1.5e9, PidsLimit: 50, ReadonlyRootfs: true, CpuShares: 512 },
      }),
      paths,
      { uid: 1000, gid: 1000 },
    );
    expect(spec.linux.resources.memory).toEqual({ limit: 64 << 20 });
    expect(spec.linux.resources.cpu).toEqual({ period: 100000, quota: 150000, shares: 512 });
    expect(spec.linux.resources.pids).toEqual({ limit: 50 });
    expect(spec.root).toEqual({ path: 'rootfs', readonly: true });
    expect(spec.process.terminal).toBe(true);
    expect(spec.process.env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h1', 'A=1', 'TERM=xterm']);
    expect(spec.process.cwd).toBe('/w');
    expect(spec.process.user).toEqual({ uid: 1000, gid: 1000 });
    expect(spec.mounts.filter((m: any) => m.type === 'bind').map((m: any) => [m.destination, m.source])).toEqual([
      ['/etc/resolv.conf', '/r'],
      ['/etc/hostname', '/h'],
      ['/etc/hosts', '/hosts'],
    ]);
    expect(spec.linux.namespaces.map((n: any) => n.type)).toContain('network');
  });

  it('host networking keeps the host namespace; privileged lifts masks', () => {
    const spec = buildSpec(record({ HostConfig: { Privileged: true } }), paths, { uid: 0, gid: 0 }, [], 'host');
    expect(spec.linux.namespaces.map((n: any) => n.type)).not.toContain('network');
    expect(spec.linux.maskedPaths).toBeUndefined();
    expect(spec.process.capabilities.bounding).toContain('CAP_SYS_ADMIN');
  });

  it('rejects unknown security options', () => {
    expect(() => buildSpec(record({ HostConfig: { SecurityOpt: ['bogus=1'] } }), paths, { uid: 0, gid: 0 })).toThrow('Invalid --security-opt: "bogus=1"');
  });
});
