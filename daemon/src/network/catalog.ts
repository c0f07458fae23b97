// The predefined networks as the Engine API shows them (moby's Network / NetworkResource
// shape): `bridge` (the CNI bridge), `host` and `none`, each with an ID that is made
// once per data root and kept, as dockerd keeps its networks' IDs.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { notFound } from '../errors.js';
import type { ContainerRecord } from '../containers/model.js';
import type { UserNetwork, UserNetworks } from './user.js';

export type NetworkName = 'bridge' | 'host' | 'none';
export const PREDEFINED: NetworkName[] = ['bridge', 'host', 'none'];

export interface NetworkIds {
  bridge: { Id: string; Created: string };
  host: { Id: string; Created: string };
  none: { Id: string; Created: string };
}

/** Reads (or makes, once) the IDs of the predefined networks under `stateDir`. */
export function networkIds(stateDir: string): NetworkIds {
  const file = join(stateDir, 'networks.json');
  try {
    const ids = JSON.parse(readFileSync(file, 'utf8')) as NetworkIds;
    if (PREDEFINED.every((n) => /^[0-9a-f]{64}$/.test(ids[n]?.Id ?? ''))) return ids;
  } catch {}
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const now = new Date().toISOString();
  const ids = Object.fromEntries(PREDEFINED.map((n) => [n, { Id: randomBytes(32).toString('hex'), Created: now }])) as unknown as NetworkIds;
  writeFileSync(`${file}.tmp`, JSON.stringify(ids));
  renameSync(`${file}.tmp`, file);
  return ids;
}

/** The normalised network a container is on: `default` and unset mean `bridge`. */
export function modeOf(c: Pick<ContainerRecord, 'HostConfig'>): NetworkName {
  const m = c.HostConfig.NetworkMode || 'bridge';
  return m === 'host' ? 'host' : m === 'none' ? 'none' : 'bridge';
}

export interface BridgeInfo {
  bridge: string;
  subnet: string;
  gateway: string;
}

export interface NetworkResource {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: { Subnet: string; Gateway: string; IPRange?: string }[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export class NetworkCatalog {
  private readonly ids: NetworkIds;

  constructor(
    stateDir: string,
    /** The bridge's addressing when CNI bridge networking is on. */
    private readonly bridge: BridgeInfo | undefined,
    private readonly containers: () => ContainerRecord[],
    /** User-defined networks, when bridge networking is on. */
    readonly users?: UserNetworks,
  ) {
    this.ids = networkIds(stateDir);
  }

  private endpointView(name: string, ep: { EndpointID?: string; MacAddress?: string; IPAddress?: string; IPPrefixLen?: number }) {
    return {
      Name: name,
      EndpointID: ep.EndpointID ?? '',
      MacAddress: ep.MacAddress ?? '',
      IPv4Address: ep.IPAddress ? `${ep.IPAddress}/${ep.IPPrefixLen ?? 16}` : '',
      IPv6Address: '',
    };
  }

  /** A user-defined network as the Engine API shows it. */
  private userResource(n: UserNetwork, withContainers: boolean): NetworkResource {
    const containers: NetworkResource['Containers'] = {};
    if (withContainers) {
      for (const c of this.containers()) {
        if (!c.State.Running) continue;
        const ns = c.NetworkSettings ?? {};
        const name = c.Name.replace(/^\//, '');
        if (ns.NetworkID === n.Id) containers[c.ID] = this.endpointView(name, ns);
        else if (ns.Endpoints?.[n.Id]) containers[c.ID] = this.endpointView(name, ns.Endpoints[n.Id]!);
      }
    }
    return {
      Name: n.Name,
      Id: n.Id,
      Created: n.Created,
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv4: true,
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: n.Subnet, Gateway: n.Gateway, ...(n.IPRange ? { IPRange: n.IPRange } : {}) }] },
      Internal: n.Internal,
      Attachable: n.Attachable,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: n.Options,
      Labels: n.Labels,
    };
  }

  private resource(name: NetworkName, withContainers: boolean): NetworkResource {
    const containers: NetworkResource['Containers'] = {};
    if (withContainers) {
      for (const c of this.containers()) {
        if (!c.State.Running || modeOf(c) !== name) continue;
        if (name === 'bridge' && !['bridge', 'default', ''].includes(c.HostConfig.NetworkMode ?? '')) continue;
        const ns = c.NetworkSettings ?? {};
        containers[c.ID] = {
          Name: c.Name.replace(/^\//, ''),
          EndpointID: ns.EndpointID ?? '',
          MacAddress: ns.MacAddress ?? '',
          IPv4Address: ns.IPAddress ? `${ns.IPAddress}/${ns.IPPrefixLen ?? 16}` : '',
          IPv6Address: '',
        };
      }
    }
    const bridge = name === 'bridge';
    return {
      Name: name,
      Id: this.ids[name].Id,
      Created: this.ids[name].Created,
      Scope: 'local',
      Driver: bridge ? 'bridge' : name === 'host' ? 'host' : 'null',
      EnableIPv4: bridge,
      EnableIPv6: false,
      IPAM: {
        Driver: 'default',
        Options: null,
        Config: bridge && this.bridge ? [{ Subnet: this.bridge.subnet, Gateway: this.bridge.gateway }] : [],
      },
      Internal: false,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: bridge
        ? {
            'com.docker.network.bridge.default_bridge': 'true',
            'com.docker.network.bridge.enable_icc': 'true',
            'com.docker.network.bridge.enable_ip_masquerade': 'true',
            'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
            'com.docker.network.bridge.name': this.bridge?.bridge ?? '',
            'com.docker.network.driver.mtu': '1500',
          }
        : {},
      Labels: {},
    };
  }

  /** Finds a network by full name, full ID or unique ID prefix, as dockerd does. */
  find(ref: string): NetworkName | undefined {
    if ((PREDEFINED as string[]).includes(ref)) return ref as NetworkName;
    const exact = PREDEFINED.find((n) => this.ids[n].Id === ref);
    if (exact) return exact;
    const prefixed = ref ? PREDEFINED.filter((n) => this.ids[n].Id.startsWith(ref)) : [];
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  inspect(ref: string): NetworkResource {
    const name = this.find(ref);
    if (name) return this.resource(name, true);
    const user = this.users?.find(ref);
    if (!user) throw notFound(`network ${ref} not found`);
    return this.userResource(user, true);
  }

  /** Docker's list filters: name and id (substring/prefix), driver, type, scope, label, dangling. */
  list(filters: Map<string, string[]>): NetworkResource[] {
    const f = (k: string) => filters.get(k) ?? [];
    let out = PREDEFINED.map((n) => this.resource(n, false));
    const users = (this.users?.all() ?? []).map((n) => this.userResource(n, true));
    if (f('type').length) out = out.filter(() => f('type').includes('builtin'));
    if (f('label').length) out = [];
    if (f('dangling').length) out = out.filter(() => f('dangling').some((v) => v === 'false' || v === '0'));
    let custom = users;
    if (f('type').length) custom = custom.filter(() => f('type').includes('custom'));
    if (f('label').length) {
      custom = custom.filter((n) =>
        f('label').every((l) => {
          const i = l.indexOf('=');
          return i < 0 ? l in n.Labels : n.Labels[l.slice(0, i)] === l.slice(i + 1);
        }),
      );
    }
    if (f('dangling').length) {
      const dangling = f('dangling').some((v) => v === 'true' || v === '1');
      custom = custom.filter((n) => (Object.keys(n.Containers).length === 0) === dangling);
    }
    // The list form carries no Containers, as dockerd's.
    out = [...out, ...custom.map((n) => ({ ...n, Containers: {} }))];
    if (f('name').length) out = out.filter((n) => f('name').some((v) => n.Name.includes(v)));
    if (f('id').length) out = out.filter((n) => f('id').some((v) => n.Id.startsWith(v)));
    if (f('driver').length) out = out.filter((n) => f('driver').includes(n.Driver));
    if (f('scope').length) out = out.filter((n) => f('scope').includes(n.Scope));
    return out;
  }
}
