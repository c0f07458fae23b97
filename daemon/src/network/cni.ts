// Container networking with Debian's CNI plugins: the default `bridge` network is a
// CNI chain (bridge with host-local IPAM and IP masquerade, then portmap for -p),
// plus loopback; `none` gets loopback only; `host` shares the host's namespace.
// Setup runs between task create and start against /proc/<pid>/ns/net; what ADD
// did (result, port mappings) is kept beside the container so DEL works after the
// process is gone and after a daemon restart, and DEL may run any number of times.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRecord, HostConfig } from '../containers/model.js';
import type { NetworkHooks } from '../containers/service.js';
import { DaemonError, invalid } from '../errors.js';
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
  result?: any;
  mappings: PortMapping[];
}

const CNI_VERSION = '1.0.0';

export class CniNetworks implements NetworkHooks {
  readonly subnet: string;
  readonly gateway: string;
  readonly ids: NetworkIds;
  private ports: Promise<void> = Promise.resolve();

  constructor(private readonly cfg: BridgeConfig) {
    mkdirSync(join(cfg.stateDir, 'results'), { recursive: true, mode: 0o700 });
    mkdirSync(join(cfg.stateDir, 'netns'), { recursive: true, mode: 0o700 });
    const s = chooseSubnet(cfg.bridge, cfg.subnet);
    this.subnet = formatSubnet(s);
    this.gateway = gatewayOf(s);
    this.ids = networkIds(cfg.stateDir);
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

  private save(a: Attachment): void {
    const file = this.resultFile(a.id);
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

  validate(hc: HostConfig): void {
    const mode = hc.NetworkMode || 'bridge';
    // dockerd answers 404 at start; at create a 404 would make the CLI try to pull the image.
    if (!['bridge', 'default', 'host', 'none'].includes(mode)) throw invalid(`network ${mode} not found`);
    // Docker ignores published ports (with a warning) on host and none.
    if (mode !== 'bridge' && mode !== 'default') hc.PortBindings = {};
    else validateBindings(hc.PortBindings);
  }

  netns(c: ContainerRecord): 'new' | 'host' {
    return modeOf(c) === 'host' ? 'host' : 'new';
  }

  /** The bridge → portmap chain of the default network, as one CNI network config list. */
  private chain(): { name: string; plugins: any[] } {
    return {
      name: `berth-${this.cfg.bridge}`,
      plugins: [
        {
          type: 'bridge',
          bridge: this.cfg.bridge,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: this.subnet, gateway: this.gateway }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: join(this.cfg.stateDir, 'ipam'),
          },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    };
  }

  /** The config one plugin of the chain gets on stdin (CNI spec: "Deriving execution configuration"). */
  private pluginConf(plugin: any, prevResult: any, mappings: PortMapping[]): object {
    const list = this.chain();
    return {
      cniVersion: CNI_VERSION,
      name: list.name,
      ...plugin,
      ...(prevResult ? { prevResult } : {}),
      ...(plugin.type === 'portmap' ? { runtimeConfig: { portMappings: mappings } } : {}),
    };
  }

  /** Port mappings other containers hold, so a host port is not given out twice. */
  private taken(except: string): PortMapping[] {
    const out: PortMapping[] = [];
    for (const id of readdirSync(join(this.cfg.stateDir, 'results'))) {
      if (id === except || id.endsWith('.tmp')) continue;
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
    const bindings = withPublishAll(c.HostConfig.PortBindings, c.Config.ExposedPorts, c.HostConfig.PublishAllPorts);
    const att: Attachment = { id: c.ID, mode, mappings: [] };
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
      for (const plugin of this.chain().plugins) {
        if (plugin.type === 'portmap' && !att.mappings.length) continue;
        const out = await execPlugin(this.cfg.binDir, plugin.type, { command: 'ADD', containerId: c.ID, netns, ifname: 'eth0' }, this.pluginConf(plugin, prev, att.mappings));
        prev = out;
        att.result = prev;
        this.save(att);
      }
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
      NetworkID: this.ids.bridge.Id,
      EndpointID: endpoint,
      Ports: portsView(c.Config.ExposedPorts, att.mappings),
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
    const bridge = this.chain().plugins[0];
    await execPlugin(this.cfg.binDir, bridge.type, { command: 'CHECK', containerId: c.ID, netns, ifname: 'eth0' }, this.pluginConf(bridge, att.result, att.mappings));
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

  /**
   * Undoes setup for a container ID: DEL through the chain in reverse order (the
   * CNI spec asks for DEL to succeed when things are already gone), then what DEL
   * cannot reach without the namespace: tagged NAT rules and the IPAM lease.
   */
  async release(id: string): Promise<void> {
    const att = this.load(id);
    if (att?.mode === 'bridge') {
      const pinned = this.pinPath(id);
      const netns = existsSync(pinned) ? pinned : '';
      for (const plugin of [...this.chain().plugins].reverse()) {
        if (plugin.type === 'portmap' && !att.mappings.length) continue;
        await execPlugin(this.cfg.binDir, plugin.type, { command: 'DEL', containerId: id, netns, ifname: 'eth0' }, this.pluginConf(plugin, att.result, att.mappings)).catch(
          (e) => process.stderr.write(`berthd: network teardown of ${id}: ${(e as Error).message}\n`),
        );
      }
      await dropTaggedNatRules(id);
      this.dropLeases(id);
    }
    await this.unpin(id);
    rmSync(this.resultFile(id), { force: true });
  }

  /** host-local keeps one file per address holding the container ID. */
  private dropLeases(id: string): void {
    const dir = join(this.cfg.stateDir, 'ipam', this.chain().name);
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
      for (const f of readdirSync(join(this.cfg.stateDir, sub))) if (!f.endsWith('.tmp')) ids.add(f);
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

/** Masquerading and published ports need IPv4 forwarding, which dockerd turns on too. */
function enableForwarding(): void {
  try {
    if (readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() !== '1') writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  } catch {}
}
