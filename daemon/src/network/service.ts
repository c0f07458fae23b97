// The behaviour behind /networks: creating and removing user-defined networks,
// connecting and disconnecting containers, pruning. Attachments themselves are
// CNI's (cni.ts); the networks are UserNetworks' (user.ts); this joins them with the
// containers and reports what dockerd reports.
import type { ContainerRecord } from '../containers/model.js';
import { DaemonError, notImplemented } from '../errors.js';
import { PREDEFINED } from './catalog.js';
import type { CniNetworks } from './cni.js';
import type { CreateNetworkRequest, UserNetwork } from './user.js';

export interface ContainerAccess {
  get(ref: string): ContainerRecord;
  all(): ContainerRecord[];
  save(c: ContainerRecord): void;
}

export type NetworkEventSink = (action: string, net: { Id: string; Name: string }, extra?: Record<string, string>) => void;

export interface ConnectRequest {
  Container?: string;
  EndpointConfig?: { IPAMConfig?: { IPv4Address?: string } | null } | null;
}

export class NetworkService {
  /** One change at a time: creates, removals and connects read and write the same records. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly cni: CniNetworks | undefined,
    private readonly containers: ContainerAccess,
    private readonly emit: NetworkEventSink = () => {},
  ) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => {});
    return next;
  }

  private users() {
    if (!this.cni) throw notImplemented('user-defined networks need bridge networking: berthd runs without CNI (--cni-bin-dir "")');
    return this.cni.users;
  }

  private builtinRef(ref: string): boolean {
    return (PREDEFINED as string[]).includes(ref);
  }

  create(req: CreateNetworkRequest): Promise<{ Id: string; Warning: string }> {
    return this.serial(async () => {
      const n = await this.users().create(req ?? {});
      this.emit('create', n, { type: 'bridge' });
      return { Id: n.Id, Warning: '' };
    });
  }

  /** Running containers with an endpoint on the network, as dockerd names them in its refusal. */
  private active(n: UserNetwork): ContainerRecord[] {
    const ids = new Set(this.cni?.attachedTo(n.Id) ?? []);
    return this.containers.all().filter((c) => c.State.Running && (ids.has(c.ID) || c.NetworkSettings?.NetworkID === n.Id || !!c.NetworkSettings?.Endpoints?.[n.Id]));
  }

  remove(ref: string): Promise<void> {
    return this.serial(async () => {
      if (this.builtinRef(ref)) throw new DaemonError('forbidden', `${ref} is a pre-defined network and cannot be removed`);
      const users = this.users();
      const n = users.get(ref);
      const busy = this.active(n);
      if (busy.length) {
        const list = busy.map((c) => `(name:"${c.Name.replace(/^\//, '')}" id:"${c.ID.slice(0, 12)}")`).join(', ');
        throw new DaemonError('forbidden', `error while removing network: network ${n.Name} has active endpoints ${list}`);
      }
      await users.remove(n);
      this.cni?.dropNetworkState(n);
      this.emit('destroy', n, { type: 'bridge' });
    });
  }

  /** Removes every user-defined network without active endpoints (filters: label, until). */
  prune(filters: Map<string, string[]>): Promise<string[]> {
    return this.serial(async () => {
      if (!this.cni) return [];
      const users = this.cni.users;
      const labels = filters.get('label') ?? [];
      const until = filters.get('until')?.[0];
      const cutoff = until ? (/^[0-9]+$/.test(until) ? Number(until) * 1000 : Date.parse(until)) : undefined;
      const deleted: string[] = [];
      for (const n of users.all()) {
        if (this.active(n).length) continue;
        if (cutoff !== undefined && !(Date.parse(n.Created) < cutoff)) continue;
        const labelled = labels.every((l) => {
          const i = l.indexOf('=');
          return i < 0 ? l in n.Labels : n.Labels[l.slice(0, i)] === l.slice(i + 1);
        });
        if (!labelled) continue;
        await users.remove(n);
        this.cni.dropNetworkState(n);
        this.emit('destroy', n, { type: 'bridge' });
        deleted.push(n.Name);
      }
      return deleted;
    });
  }

  private target(ref: string): UserNetwork {
    if (this.builtinRef(ref)) {
      throw new DaemonError('forbidden', `berthd connects running containers to user-defined networks only; ${ref} is joined with --network at create`);
    }
    return this.users().get(ref);
  }

  connect(ref: string, req: ConnectRequest): Promise<void> {
    return this.serial(async () => {
      const n = this.target(ref);
      const c = this.containers.get(String(req?.Container ?? ''));
      const mode = c.HostConfig.NetworkMode || 'bridge';
      if (mode === 'host') throw new DaemonError('forbidden', 'container sharing network namespace with another container or host cannot be connected to any other network');
      if (mode === 'none') throw new DaemonError('forbidden', 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
      const onPrimary = this.cni!.userNetwork(mode)?.Id === n.Id;
      if (onPrimary || c.ExtraNetworks?.some((x) => x.id === n.Id)) {
        throw new DaemonError('forbidden', `endpoint with name ${c.Name.replace(/^\//, '')} already exists in network ${n.Name}`);
      }
      const ipv4 = req?.EndpointConfig?.IPAMConfig?.IPv4Address || undefined;
      if (c.State.Running) await this.cni!.connect(c, n, ipv4);
      else if (ipv4) this.cni!.validate({ NetworkMode: n.Name }, { EndpointsConfig: { [n.Name]: { IPAMConfig: { IPv4Address: ipv4 } } } });
      c.ExtraNetworks = [...(c.ExtraNetworks ?? []), { id: n.Id, name: n.Name, ...(ipv4 ? { ipv4 } : {}) }];
      this.containers.save(c);
      this.emit('connect', n, { container: c.ID, type: 'bridge' });
    });
  }

  disconnect(ref: string, req: { Container?: string; Force?: boolean }): Promise<void> {
    return this.serial(async () => {
      const n = this.target(ref);
      const c = this.containers.get(String(req?.Container ?? ''));
      if (this.cni!.userNetwork(c.HostConfig.NetworkMode)?.Id === n.Id) {
        throw new DaemonError('forbidden', `berthd cannot disconnect container ${c.Name.replace(/^\//, '')} from ${n.Name}: it is the network the container was created on`);
      }
      if (!c.ExtraNetworks?.some((x) => x.id === n.Id)) {
        throw new DaemonError('forbidden', `container ${c.ID} is not connected to network ${n.Name}`);
      }
      if (c.State.Running) await this.cni!.disconnect(c, n);
      c.ExtraNetworks = c.ExtraNetworks.filter((x) => x.id !== n.Id);
      this.containers.save(c);
      this.emit('disconnect', n, { container: c.ID, type: 'bridge' });
    });
  }
}
