import { describe, expect, it } from 'vitest';
import { portsView, resolveMappings, validateBindings, withPublishAll } from './ports.js';

describe('published ports', () => {
  it('refuses malformed bindings with Docker messages', () => {
    expect(() => validateBindings({ '80/tcp': [{ HostPort: 'http' }] })).toThrow('invalid port specification: "http"');
    expect(() => validateBindings({ 'eighty/tcp': [] })).toThrow('invalid port specification: "eighty"');
    expect(() => validateBindings({ '80/icmp': [] })).toThrow('invalid port specification: "80/icmp"');
    expect(() => validateBindings({ '80-81/tcp': [{ HostPort: '8000-8002' }] })).toThrow('invalid ranges specified for container and host Ports');
    expect(() => validateBindings({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '53/udp': [{ HostPort: '' }] })).not.toThrow();
  });

  it('maps ranges one to one, and a host range to its first free port', async () => {
    const m = await resolveMappings({ '80-81/tcp': [{ HostPort: '8080-8081' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }] }, []);
    expect(m).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 8081, containerPort: 81, protocol: 'tcp' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
    ]);
    const taken = [{ hostPort: 9000, containerPort: 80, protocol: 'tcp' }];
    expect(await resolveMappings({ '80/tcp': [{ HostPort: '9000-9005' }] }, taken)).toEqual([{ hostPort: 9001, containerPort: 80, protocol: 'tcp' }]);
    await expect(resolveMappings({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '9000' }] }, taken)).rejects.toThrow('Bind for 127.0.0.1:9000 failed: port is already allocated');
    // Different addresses or protocols do not clash.
    expect(await resolveMappings({ '80/udp': [{ HostPort: '9000' }] }, taken)).toHaveLength(1);
    expect(await resolveMappings({ '80/tcp': [{ HostPort: '9000', HostIp: '127.0.0.2' }] }, [{ ...taken[0]!, hostIP: '127.0.0.1' }])).toHaveLength(1);
  });

  it('gives empty host ports (and -P) a free ephemeral port, and shows them as inspect does', async () => {
    const bindings = withPublishAll({ '8080': [{ HostPort: '18080' }] }, { '80/tcp': {}, '8080/tcp': {}, '53/udp': {} }, true);
    expect(Object.keys(bindings).sort()).toEqual(['53/udp', '80/tcp', '8080/tcp']);
    const m = await resolveMappings(bindings, []);
    const eph = m.filter((x) => x.containerPort !== 8080);
    expect(eph).toHaveLength(2);
    for (const x of eph) expect(x.hostPort).toBeGreaterThan(1023);
    const view = portsView({ '80/tcp': {}, '9/tcp': {} }, m);
    expect(view['9/tcp']).toBeNull();
    expect(view['8080/tcp']).toEqual([{ HostIp: '0.0.0.0', HostPort: '18080' }]);
    expect(view['80/tcp']?.[0]?.HostPort).toMatch(/^\d+$/);
  });
});
