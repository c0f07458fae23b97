// NetworkCatalog with user-defined networks: list filters and the Containers map of
// inspect (primary network and networks joined with connect).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ContainerRecord } from '../containers/model.js';
import { NetworkCatalog } from './catalog.js';
import type { UserNetwork, UserNetworks } from './user.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

const net = (name: string, id: string, labels: Record<string, string> = {}): UserNetwork => ({
  Id: id.repeat(64).slice(0, 64),
  Name: name,
  Created: '2026-01-01T00:00:00Z',
  Subnet: '10.5.0.0/24',
  Gateway: '10.5.0.1',
  UserSubnet: true,
  Internal: false,
  Attachable: false,
  Labels: labels,
  Options: {},
  Bridge: `br-${name}`,
});

function catalog(containers: Partial<ContainerRecord>[], nets: UserNetwork[]): NetworkCatalog {
  dir = mkdtempSync(join(tmpdir(), 'daemon-catalog-'));
  const users = { all: () => nets, find: (ref: string) => nets.find((n) => n.Name === ref || n.Id.startsWith(ref)) } as unknown as UserNetworks;
  return new NetworkCatalog(dir, { bridge: 'berth0', subnet: '172.17.0.0/16', gateway: '172.17.0.1' }, () => containers as ContainerRecord[], users);
}

describe('NetworkCatalog with user-defined networks', () => {
  const web = net('web', 'a', { tier: 'front' });
  const db = net('db', 'b');
  const running = (name: string, mode: string, ns: ContainerRecord['NetworkSettings']): Partial<ContainerRecord> => ({
    ID: name.repeat(64).slice(0, 64),
    Name: `/${name}`,
    State: { Running: true } as ContainerRecord['State'],
    HostConfig: { NetworkMode: mode },
    NetworkSettings: ns,
  });
  const containers = [
    running('c', 'web', { NetworkID: web.Id, IPAddress: '10.5.0.2', IPPrefixLen: 24, EndpointID: 'e1', MacAddress: 'm1' }),
    running('d', 'bridge', {
      NetworkID: 'x',
      IPAddress: '172.17.0.2',
      IPPrefixLen: 16,
      Endpoints: { [web.Id]: { Name: 'web', IfName: 'eth1', IPAddress: '10.5.0.3', IPPrefixLen: 24, Gateway: '10.5.0.1', MacAddress: 'm2', EndpointID: 'e2' } },
    }),
  ];

  it('inspect lists the containers on the network, by primary network and by connect', () => {
    const ins = catalog(containers, [web, db]).inspect('web');
    expect(ins).toMatchObject({ Name: 'web', Driver: 'bridge', IPAM: { Config: [{ Subnet: '10.5.0.0/24', Gateway: '10.5.0.1' }] }, Labels: { tier: 'front' } });
    expect(Object.values(ins.Containers).map((e) => `${e.Name} ${e.IPv4Address}`).sort()).toEqual(['c 10.5.0.2/24', 'd 10.5.0.3/24']);
    // The default bridge lists only containers whose primary network it is.
    expect(Object.values(catalog(containers, [web, db]).inspect('bridge').Containers).map((e) => e.Name)).toEqual(['d']);
  });

  it('list filters: type, label, dangling, name', () => {
    const c = catalog(containers, [web, db]);
    const names = (f: Record<string, string[]>) => c.list(new Map(Object.entries(f))).map((n) => n.Name).sort();
    expect(names({})).toEqual(['bridge', 'db', 'host', 'none', 'web']);
    expect(names({ type: ['custom'] })).toEqual(['db', 'web']);
    expect(names({ type: ['builtin'] })).toEqual(['bridge', 'host', 'none']);
    expect(names({ label: ['tier=front'] })).toEqual(['web']);
    expect(names({ dangling: ['true'] })).toEqual(['db']);
    expect(names({ name: ['we'] })).toEqual(['web']);
  });

  it('an unknown network is a 404 with dockerd message', () => {
    expect(() => catalog([], [web]).inspect('nope')).toThrow('network nope not found');
  });
});
