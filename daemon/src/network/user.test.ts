// UserNetworks' validation of `network create` (no bridge is made: plan() only
// decides), its records across instances, and the address rules of --ip.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isHostAddress, UserNetworks } from './user.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

function store(): UserNetworks {
  dir = mkdtempSync(join(tmpdir(), 'daemon-usernet-'));
  return new UserNetworks(dir, { subnet: '172.17.0.0/16', bridge: 'berth0' });
}

const fail = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return { kind: (e as { kind?: string }).kind, message: (e as Error).message };
  }
  throw new Error('expected an error');
};

describe('UserNetworks.plan', () => {
  it('takes the given subnet, gateway, range, labels, options and bridge name', () => {
    const n = store().plan({
      Name: 'web',
      IPAM: { Config: [{ Subnet: '10.9.0.0/24', Gateway: '10.9.0.254', IPRange: '10.9.0.128/25' }] },
      Labels: { a: 'b' },
      Options: { 'com.docker.network.bridge.name': 'brweb' },
      Internal: true,
    });
    expect(n).toMatchObject({ Name: 'web', Subnet: '10.9.0.0/24', Gateway: '10.9.0.254', IPRange: '10.9.0.128/25', UserSubnet: true, Internal: true, Bridge: 'brweb', Labels: { a: 'b' } });
    expect(n.Id).toMatch(/^[0-9a-f]{64}$/);
    expect(UserNetworks.range(n)).toEqual({ rangeStart: '10.9.0.128', rangeEnd: '10.9.0.254' });
  });

  it('names the bridge br-<id> and picks a gateway when none is given', () => {
    const n = store().plan({ Name: 'x', IPAM: { Config: [{ Subnet: '10.9.0.0/16' }] } });
    expect(n.Bridge).toBe(`br-${n.Id.slice(0, 12)}`);
    expect(n.Gateway).toBe('10.9.0.1');
  });

  it('refuses what dockerd refuses, with its kinds and messages', () => {
    const s = store();
    expect(fail(() => s.plan({ Name: 'n', Driver: 'overlay' }))).toEqual({ kind: 'not-found', message: 'plugin "overlay" not found' });
    expect(fail(() => s.plan({ Name: 'bridge' }))).toEqual({ kind: 'forbidden', message: 'operation is not permitted on predefined bridge network' });
    expect(fail(() => s.plan({ Name: 'n', IPAM: { Config: [{ Subnet: '172.17.5.0/24' }] } }))).toEqual({
      kind: 'forbidden',
      message: 'invalid pool request: Pool overlaps with other one on this address space',
    });
    expect(fail(() => s.plan({ Name: '' })).kind).toBe('invalid-argument');
    expect(fail(() => s.plan({ Name: 'has space' })).kind).toBe('invalid-argument');
    expect(fail(() => s.plan({ Name: 'n', IPAM: { Config: [{ Subnet: '10.0.0.0/24', Gateway: '10.0.1.1' }] } })).message).toContain('not in subnet 10.0.0.0/24');
    expect(fail(() => s.plan({ Name: 'n', IPAM: { Config: [{ Subnet: '10.0.0.0/24', IPRange: '10.0.1.0/25' }] } })).message).toContain('not inside subnet');
    expect(fail(() => s.plan({ Name: 'n', IPAM: { Config: [{ Subnet: '10.0.0.5/24' }] } })).message).toContain('it should be 10.0.0.0/24');
    expect(fail(() => s.plan({ Name: 'n', Options: { 'com.docker.network.bridge.name': 'berth0' } })).kind).toBe('conflict');
    expect(fail(() => s.plan({ Name: 'n', EnableIPv6: true })).kind).toBe('invalid-argument');
  });

  it('an automatic subnet avoids the default bridge', () => {
    const n = store().plan({ Name: 'auto' });
    expect(n.Subnet).not.toBe('172.17.0.0/16');
    expect(n.UserSubnet).toBe(false);
  });
});

describe('isHostAddress', () => {
  it('accepts host addresses of the subnet only', () => {
    expect(isHostAddress('10.1.0.0/24', '10.1.0.7')).toBe(true);
    expect(isHostAddress('10.1.0.0/24', '10.1.0.0')).toBe(false);
    expect(isHostAddress('10.1.0.0/24', '10.1.0.255')).toBe(false);
    expect(isHostAddress('10.1.0.0/24', '10.1.1.7')).toBe(false);
    expect(isHostAddress('10.1.0.0/24', 'not-an-ip')).toBe(false);
  });
});
