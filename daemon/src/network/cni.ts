// Container networking with Debian's CNI plugins: the default `bridge` network is a
// CNI chain (bridge with host-local IPAM and IP masquerade, then portmap for -p),
// plus loopback; `none` gets loopback only; `host` shares the host's namespace.
// Setup runs between task create and start against /proc/<pid>/ns/net; what ADD
// did (result, port mappings) is kept beside the container so DEL works after the
// process is gone and after a daemon restart, and DEL may run any number of times.
// User-defined networks (user.ts) are the same chain on their own bridge: a
// container's primary network is eth0, and each `network connect` adds the next
// ethN, kept in its own record (`<id>.<ifname>`) beside the primary one (`<id>`).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRecord, ExtraEndpoint, HostConfig } from '../containers/model.js';
import type { NetworkHooks } from '../containers/service.js';
import { DaemonError, invalid } from '../errors.js';
import { isHostAddress, type UserNetwork, UserNetworks } from './user.js';
import { type BridgeInfo, modeOf, type NetworkIds, type NetworkName, networkIds } from './catalog.js';
import { dropTaggedNatRules, execPlugin, run } from './plugins.js';
import { type PortMapping, portsView, resolveMappings, validateBindings, withPublishAll } from './ports.js';
import { chooseSubnet, formatSubnet, gatewayOf } from './subnet.js';

export interface BridgeConfig {
  binDir: string;
  /** Where host-local keeps its leases and berthd its results and pinned namespaces. */
  stateDir: string;
  bridge: string;
  /** CIDR; empty or 'auto' picks one as dockerd does for docker0. */
  subnet: string;
}

/** What setup did for one container: enough to undo it without the container. */
interface Attachment {
  id: string;
  mode: NetworkName;
  /** The user-defined network's ID; absent for the default bridge. */
  network?: string;
  /** eth0 when absent. */
  ifname?: string;
  result?: any;
  mappings: PortMapping[];
}

const BUILTIN = ['bridge', 'default', 'host', 'none'];

const CNI_VERSION = '1.0.0';

export class CniNetworks implements NetworkHooks {
  readonly subnet: string;
  readonly gateway: string;
  readonly ids: NetworkIds;
  readonly users: UserNetworks;
  private ports: Promise<void> = Promise.resolve();

  constructor(private readonly cfg: BridgeConfig) {
    mkdirSync(join(cfg.stateDir, 'results'), { recursive: true, mode: 0o700 });
    mkdirSync(join(cfg.stateDir, 'netns'), { recursive: true, mode: 0o700 });
    const s = chooseSubnet(cfg.bridge, cfg.subnet);
    this.subnet = formatSubnet(s);
    this.gateway = gatewayOf(s);
    this.ids = networkIds(cfg.stateDir);
    this.users = new UserNetworks(cfg.stateDir, { subnet: this.subnet, bridge: cfg.bridge });
  }

  /** The user-defined network a NetworkMode names, if it names one. */
  userNetwork(mode: string | undefined): UserNetwork | undefined {
    return !mode || BUILTIN.includes(mode) ? undefined : this.users.find(mode);
  }

  bridgeInfo(): BridgeInfo {
    return { bridge: this.cfg.bridge, subnet: this.subnet, gateway: this.gateway };
  }

  private resultFile(id: string): string {
    return join(this.cfg.stateDir, 'results', id);
  }

  private pinPath(id: string): string {
    return join(this.cfg.stateDir, 'netns', id);
  }

  /**
   * Pins the container's network namespace with a bind mount, so teardown can run
   * DEL inside it after the process is gone: the bridge plugin only removes its
   * masquerade rules when it can read the addresses there.
   */
  private async pin(id: string, pid: number): Promise<string> {
    const path = this.pinPath(id);
    if (existsSync(path)) await this.unpin(id);
    writeFileSync(path, '');
    await run('mount', ['--bind', `/proc/${pid}/ns/net`, path]);
    return path;
  }

  private async unpin(id: string): Promise<void> {
    const path = this.pinPath(id);
    if (!existsSync(path)) return;
    await run('umount', [path]).catch(() => run('umount', ['-l', path]).catch(() => {}));
    rmSync(path, { force: true });
  }

  private save(a: Attachment, ifname?: string): void {
    const file = this.resultFile(ifname && ifname !== 'eth0' ? `${a.id}.${ifname}` : a.id);
    writeFileSync(`${file}.tmp`, JSON.stringify(a));
    renameSync(`${file}.tmp`, file);
  }

  private load(id: string): Attachment | undefined {
    try {
      return JSON.parse(readFileSync(this.resultFile(id), 'utf8'));
    } catch {
      return undefined;
    }
  }

  validate(hc: HostConfig, networking?: unknown): { ipv4?: string } {
    const mode = hc.NetworkMode || 'bridge';
    const user = this.userNetwork(mode);
    // dockerd answers 404 at start; at create a 404 would make the CLI try to pull the image.
    if (!BUILTIN.includes(mode) && !user) throw invalid(`network ${mode} not found`);
    // Docker ignores published ports (with a warning) on host and none.
    if (mode === 'host' || mode === 'none') hc.PortBindings = {};
    else validateBindings(hc.PortBindings);
    const endpoints = (networking as { EndpointsConfig?: Record<string, { IPAMConfig?: { IPv4Address?: string } | null }> } | undefined)?.EndpointsConfig ?? {};
    const ipv4 = Object.values(endpoints).find((e) => e?.IPAMConfig?.IPv4Address)?.IPAMConfig?.IPv4Address;
    if (!ipv4) return {};
    if (!user) throw invalid('user specified IP address is supported on user defined networks only');
    this.checkAddress(user, ipv4);
    return { ipv4 };
  }

  /** Docker's rules for a requested address (`--ip`). */
  private checkAddress(n: UserNetwork, ip: string): void {
    if (!n.UserSubnet) throw invalid('user specified IP address is supported only when connecting to networks with user configured subnets');
    const inside = isHostAddress(n.Subnet, ip);
    if (!inside || ip === n.Gateway) throw invalid(`invalid IPv4 address ${ip}: not a free host address in subnet ${n.Subnet} of network ${n.Name}`);
  }

  netns(c: ContainerRecord): 'new' | 'host' {
    return modeOf(c) === 'host' ? 'host' : 'new';
  }

  /**
   * The bridge → portmap chain of the default network or of a user-defined one, as
   * one CNI network config list. An internal network has no masquerade and no
   * default route, as dockerd's internal networks reach nothing outside.
   */
  private chain(net?: UserNetwork): { name: string; plugins: any[] } {
    const internal = !!net?.Internal;
    return {
      name: net ? `berth-net-${net.Id.slice(0, 12)}` : `berth-${this.cfg.bridge}`,
      plugins: [
        {
          type: 'bridge',
          bridge: net?.Bridge ?? this.cfg.bridge,
          isGateway: true,
          ipMasq: !internal,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: net?.Subnet ?? this.subnet, gateway: net?.Gateway ?? this.gateway, ...(net ? UserNetworks.range(net) : {}) }]],
            routes: internal ? [] : [{ dst: '0.0.0.0/0' }],
            dataDir: join(this.cfg.stateDir, 'ipam'),
          },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    };
  }

  /** The config one plugin of the chain gets on stdin (CNI spec: "Deriving execution configuration"). */
  private pluginConf(plugin: any, prevResult: any, mappings: PortMapping[], net?: UserNetwork, ip?: string): object {
    const list = this.chain(net);
    const ips = ip && net ? [`${ip}/${net.Subnet.split('/')[1]}`] : undefined;
    return {
      cniVersion: CNI_VERSION,
      name: list.name,
      ...plugin,
      ...(prevResult ? { prevResult } : {}),
      ...(plugin.type === 'portmap' ? { runtimeConfig: { portMappings: mappings } } : {}),
      ...(plugin.type === 'bridge' && ips ? { runtimeConfig: { ips } } : {}),
    };
  }

  /** The user-defined network of a saved attachment, while its record exists. */
  private netOf(att: Attachment): UserNetwork | undefined {
    return att.network ? this.users.find(att.network) : undefined;
  }

  /** Port mappings other containers hold, so a host port is not given out twice. */
  private taken(except: string): PortMapping[] {
    const out: PortMapping[] = [];
    for (const id of readdirSync(join(this.cfg.stateDir, 'results'))) {
      if (id === except || id.startsWith(`${except}.`) || id.endsWith('.tmp')) continue;
      out.push(...(this.load(id)?.mappings ?? []));
    }
    return out;
  }

  async setup(c: ContainerRecord, pid: number): Promise<void> {
    const mode = modeOf(c);
    const endpoint = randomBytes(32).toString('hex');
    if (mode === 'host') {
      c.NetworkSettings = { NetworkID: this.ids.host.Id, EndpointID: endpoint, Ports: {} };
      return;
    }
    const ownNs = `/proc/${pid}/ns/net`;
    await execPlugin(this.cfg.binDir, 'loopback', { command: 'ADD', containerId: c.ID, netns: ownNs, ifname: 'lo' }, { cniVersion: CNI_VERSION, name: 'lo', type: 'loopback' });
    if (mode === 'none') {
      c.NetworkSettings = { NetworkID: this.ids.none.Id, EndpointID: endpoint, Ports: {} };
      return;
    }
    enableForwarding();
    const net = this.userNetwork(c.HostConfig.NetworkMode);
    if (c.HostConfig.NetworkMode && !BUILTIN.includes(c.HostConfig.NetworkMode) && !net) throw notFoundNetwork(c.HostConfig.NetworkMode);
    const bindings = withPublishAll(c.HostConfig.PortBindings, c.Config.ExposedPorts, c.HostConfig.PublishAllPorts);
    const att: Attachment = { id: c.ID, mode, mappings: [], ...(net ? { network: net.Id } : {}) };
    try {
      // Choosing host ports and recording them is one step, so two starts cannot pick the same port.
      const picked = this.ports.then(async () => {
        att.mappings = await resolveMappings(bindings, this.taken(c.ID));
        // Recorded before ADD, so that a failure or crash half-way is still undone by DEL.
        this.save(att);
      });
      this.ports = picked.catch(() => {});
      await picked;
      const netns = await this.pin(c.ID, pid);
      let prev: any;
      for (const plugin of this.chain(net).plugins) {
        if (plugin.type === 'portmap' && !att.mappings.length) continue;
        const out = await execPlugin(
          this.cfg.binDir,
          plugin.type,
          { command: 'ADD', containerId: c.ID, netns, ifname: 'eth0' },
          this.pluginConf(plugin, prev, att.mappings, net, c.RequestedIPv4),
        );
        prev = out;
        att.result = prev;
        this.save(att);
      }
      const endpoints: Record<string, ExtraEndpoint> = {};
      for (const extra of c.ExtraNetworks ?? []) {
        const n = this.users.find(extra.id);
        if (!n) continue; // removed while the container was stopped: dockerd drops the endpoint too
        endpoints[n.Id] = await this.attach(c, n, extra.ipv4, netns, `eth${Object.keys(endpoints).length + 1}`);
      }
      c.NetworkSettings = { Endpoints: endpoints };
    } catch (e) {
      await this.release(c.ID).catch(() => {});
      throw e;
    }
    const ip = att.result?.ips?.[0];
    const iface = att.result?.interfaces?.find((i: any) => i.sandbox);
    const [address = '', prefix = '0'] = String(ip?.address ?? '').split('/');
    c.NetworkSettings = {
      IPAddress: address,
      IPPrefixLen: Number(prefix),
      Gateway: ip?.gateway ?? '',
      MacAddress: iface?.mac ?? '',
      NetworkID: net?.Id ?? this.ids.bridge.Id,
      EndpointID: endpoint,
      Ports: portsView(c.Config.ExposedPorts, att.mappings),
      Endpoints: c.NetworkSettings?.Endpoints ?? {},
    };
    // /etc/hosts names the container by its address, as Docker's does.
    if (address && c.HostsPath && existsSync(c.HostsPath)) {
      const hosts = readFileSync(c.HostsPath, 'utf8')
        .split('\n')
        .filter((l) => !(c.Config.Hostname && l.endsWith(`\t${c.Config.Hostname}`)));
      writeFileSync(c.HostsPath, `${hosts.join('\n').trimEnd()}\n${address}\t${c.Config.Hostname ?? c.ID.slice(0, 12)}\n`);
    }
  }

  /** CNI CHECK of a running container's attachment: throws when the plugins find it broken. */
  async check(c: ContainerRecord): Promise<void> {
    const att = this.load(c.ID);
    if (att?.mode !== 'bridge' || !att.result) return;
    const netns = this.pinPath(c.ID);
    // CHECK gives every plugin the cached result of the whole ADD chain as prevResult.
    // Debian's portmap 1.1.1 CHECK also demands the ip6tables chain of an IPv4-only
    // mapping and so always fails here; its rules are looked for directly instead.
    const net = this.netOf(att);
    const bridge = this.chain(net).plugins[0];
    await execPlugin(this.cfg.binDir, bridge.type, { command: 'CHECK', containerId: c.ID, netns, ifname: 'eth0' }, this.pluginConf(bridge, att.result, att.mappings, net));
    if (att.mappings.length) {
      const rules = await run('iptables', ['-w', '-t', 'nat', '-S', 'CNI-HOSTPORT-DNAT']).catch(() => '');
      if (!rules.includes(`id: \\"${c.ID}\\"`)) throw new DaemonError('internal', `CNI portmap CHECK: no DNAT rules for container ${c.ID}`);
    }
  }

  async teardown(c: ContainerRecord): Promise<void> {
    await this.release(c.ID);
    // Docker keeps the network a stopped container is on, without address or endpoint.
    c.NetworkSettings = { NetworkID: c.NetworkSettings?.NetworkID, Ports: {} };
  }

  /** ADD of one more interface (eth1…) on a user network, into an already pinned namespace. */
  private async attach(c: ContainerRecord, net: UserNetwork, ipv4: string | undefined, netns: string, ifname: string): Promise<ExtraEndpoint> {
    const att: Attachment = { id: c.ID, mode: 'bridge', network: net.Id, ifname, mappings: [] };
    this.save(att, ifname);
    const bridge = this.chain(net).plugins[0];
    att.result = await execPlugin(this.cfg.binDir, bridge.type, { command: 'ADD', containerId: c.ID, netns, ifname }, this.pluginConf(bridge, undefined, [], net, ipv4));
    this.save(att, ifname);
    const ip = att.result?.ips?.[0];
    const iface = att.result?.interfaces?.find((i: any) => i.sandbox);
    const [address = '', prefix = '0'] = String(ip?.address ?? '').split('/');
    return { Name: net.Name, IfName: ifname, IPAddress: address, IPPrefixLen: Number(prefix), Gateway: ip?.gateway ?? '', MacAddress: iface?.mac ?? '', EndpointID: randomBytes(32).toString('hex') };
  }

  /** `docker network connect` of a running container: the next free ethN on that network. */
  async connect(c: ContainerRecord, net: UserNetwork, ipv4?: string): Promise<ExtraEndpoint> {
    if (ipv4) this.checkAddress(net, ipv4);
    const endpoints = c.NetworkSettings?.Endpoints ?? {};
    const used = new Set(['eth0', ...Object.values(endpoints).map((e) => e.IfName)]);
    let n = 1;
    while (used.has(`eth${n}`)) n++;
    const netns = existsSync(this.pinPath(c.ID)) ? this.pinPath(c.ID) : await this.pin(c.ID, c.State.Pid);
    try {
      const ep = await this.attach(c, net, ipv4, netns, `eth${n}`);
      c.NetworkSettings = { ...(c.NetworkSettings ?? {}), Endpoints: { ...endpoints, [net.Id]: ep } };
      return ep;
    } catch (e) {
      await this.releaseOne(`${c.ID}.eth${n}`).catch(() => {});
      throw e;
    }
  }

  /** `docker network disconnect` of a running container from a connected network. */
  async disconnect(c: ContainerRecord, net: UserNetwork): Promise<void> {
    const ep = c.NetworkSettings?.Endpoints?.[net.Id];
    if (ep) await this.releaseOne(`${c.ID}.${ep.IfName}`);
    const rest = { ...(c.NetworkSettings?.Endpoints ?? {}) };
    delete rest[net.Id];
    c.NetworkSettings = { ...(c.NetworkSettings ?? {}), Endpoints: rest };
  }

  /** The IDs of containers holding an attachment (running, or not yet swept) on a network. */
  attachedTo(netId: string): string[] {
    const out = new Set<string>();
    for (const f of readdirSync(join(this.cfg.stateDir, 'results'))) {
      if (f.endsWith('.tmp')) continue;
      if (this.load(f)?.network === netId) out.add(f.split('.')[0]!);
    }
    return [...out];
  }

  /**
   * Undoes setup for a container ID: DEL through the chain in reverse order (the
   * CNI spec asks for DEL to succeed when things are already gone), then what DEL
   * cannot reach without the namespace: tagged NAT rules and the IPAM lease.
   */
  async release(id: string): Promise<void> {
    const extras = readdirSync(join(this.cfg.stateDir, 'results')).filter((f) => f.startsWith(`${id}.`) && !f.endsWith('.tmp'));
    for (const f of extras) await this.releaseOne(f);
    await this.releaseOne(id);
    await this.unpin(id);
  }

  /** DEL of one attachment record (`<id>` or `<id>.<ifname>`), then its leftovers. */
  private async releaseOne(key: string): Promise<void> {
    const id = key.split('.')[0]!;
    const att = this.load(key);
    if (att?.mode === 'bridge') {
      const pinned = this.pinPath(id);
      const netns = existsSync(pinned) ? pinned : '';
      const ifname = att.ifname ?? 'eth0';
      // A network removed meanwhile has no record; DEL with its chain name still finds host-local's files.
      const net = this.netOf(att) ?? (att.network ? ({ Id: att.network, Bridge: '', Subnet: '0.0.0.0/8', Gateway: '' } as UserNetwork) : undefined);
      for (const plugin of [...this.chain(net).plugins].reverse()) {
        if (plugin.type === 'portmap' && !att.mappings.length) continue;
        await execPlugin(this.cfg.binDir, plugin.type, { command: 'DEL', containerId: id, netns, ifname }, this.pluginConf(plugin, att.result, att.mappings, net)).catch(
          (e) => process.stderr.write(`berthd: network teardown of ${key}: ${(e as Error).message}\n`),
        );
      }
      if (ifname === 'eth0') await dropTaggedNatRules(id);
      this.dropLeases(id, this.chain(net).name);
    }
    rmSync(this.resultFile(key), { force: true });
  }

  /** After a user network is removed: host-local's directory of it. */
  dropNetworkState(net: UserNetwork): void {
    rmSync(join(this.cfg.stateDir, 'ipam', this.chain(net).name), { recursive: true, force: true });
  }

  /** host-local keeps one file per address holding the container ID. */
  private dropLeases(id: string, chainName: string): void {
    const dir = join(this.cfg.stateDir, 'ipam', chainName);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      if (!/^[0-9.]+$/.test(n)) continue;
      try {
        if (readFileSync(join(dir, n), 'utf8').split(/\r?\n/)[0] === id) rmSync(join(dir, n), { force: true });
      } catch {}
    }
  }

  /**
   * After a restart: releases every attachment whose container is no longer running
   * (a teardown the previous daemon never reached). DEL is idempotent, so a double
   * release is harmless.
   */
  async sweep(running: Iterable<string>): Promise<string[]> {
    const keep = new Set(running);
    const ids = new Set<string>();
    for (const sub of ['results', 'netns']) {
      for (const f of readdirSync(join(this.cfg.stateDir, sub))) if (!f.endsWith('.tmp')) ids.add(f.split('.')[0]!);
    }
    const released: string[] = [];
    for (const id of ids) {
      if (keep.has(id)) continue;
      await this.release(id).catch(() => {});
      released.push(id);
    }
    return released;
  }
}

function notFoundNetwork(name: string): DaemonError {
  return new DaemonError('not-found', `network ${name} not found`);
}

/** Masquerading and published ports need IPv4 forwarding, which dockerd turns on too. */
function enableForwarding(): void {
  try {
    if (readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() !== '1') writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  } catch {}
}
