// User-defined bridge networks (`docker network create`): one record per network
// under the daemon's state dir, one Linux bridge per network made at create time
// with the gateway address on it (as dockerd makes br-<id>, which also shows the
// subnet to anyone choosing one later), and isolation between bridges in iptables
// the way dockerd's DOCKER-ISOLATION-STAGE-1/2 chains do it: traffic that enters
// from one managed bridge and leaves by another is dropped. Containers attach to
// them through CNI (cni.ts); this file owns the networks themselves.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, DaemonError, invalid, notFound } from '../errors.js';
import { run } from './plugins.js';
import { candidates, formatSubnet, gatewayOf, hostSubnets, intToIp, overlaps, parseSubnet, type Subnet } from './subnet.js';

export interface UserNetwork {
  Id: string;
  Name: string;
  Created: string;
  Subnet: string;
  Gateway: string;
  /** host-local's range inside Subnet (IPAM IPRange), when one was given. */
  IPRange?: string;
  /** True when Subnet was given by the user: only then may a container ask for an address. */
  UserSubnet: boolean;
  Internal: boolean;
  Attachable: boolean;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  Bridge: string;
}

export interface CreateNetworkRequest {
  Name?: string;
  Driver?: string;
  CheckDuplicate?: boolean;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null; Options?: Record<string, string> | null };
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

const STAGE1 = 'BERTH-ISOLATION-STAGE-1';
const STAGE2 = 'BERTH-ISOLATION-STAGE-2';
const PREDEFINED = ['bridge', 'host', 'none', 'default'];

function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^[0-9]{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function contains(s: Subnet, ip: string): boolean {
  const n = ipToInt(ip);
  return n !== undefined && overlaps(s, { base: n, prefix: 32 });
}

/** An address of the subnet that is neither its network nor its broadcast address. */
export function isHostAddress(subnet: string, ip: string): boolean {
  const s = parseSubnet(subnet);
  const n = ipToInt(ip);
  return n !== undefined && contains(s, ip) && n !== s.base && n !== s.base + 2 ** (32 - s.prefix) - 1;
}

/** Docker's "no space in the name" rule, plus what a Linux interface name would choke on. */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export class UserNetworks {
  private readonly dir: string;
  private readonly nets = new Map<string, UserNetwork>();
  /** Tags this daemon's isolation rules, so daemons side by side leave each other's alone. */
  private readonly tag: string;

  constructor(
    stateDir: string,
    /** The default bridge's subnet and Linux bridge, which user networks must not collide with. */
    private readonly defaultBridge: { subnet: string; bridge: string },
  ) {
    this.dir = join(stateDir, 'user-networks');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.tag = `berth:${createHash('sha256').update(stateDir).digest('hex').slice(0, 12)}`;
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.json')) continue;
      try {
        const n = JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as UserNetwork;
        this.nets.set(n.Id, n);
      } catch {}
    }
  }

  all(): UserNetwork[] {
    return [...this.nets.values()].sort((a, b) => a.Created.localeCompare(b.Created));
  }

  /** By full name, full ID or unique ID prefix, as dockerd resolves network references. */
  find(ref: string): UserNetwork | undefined {
    if (!ref) return undefined;
    const all = this.all();
    const byName = all.find((n) => n.Name === ref);
    if (byName) return byName;
    const byId = this.nets.get(ref);
    if (byId) return byId;
    const prefixed = all.filter((n) => n.Id.startsWith(ref));
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  get(ref: string): UserNetwork {
    const n = this.find(ref);
    if (!n) throw notFound(`network ${ref} not found`);
    return n;
  }

  private save(n: UserNetwork): void {
    const file = join(this.dir, `${n.Id}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(n));
    renameSync(`${file}.tmp`, file);
  }

  /** Validates a create request fully before anything is made; returns the record to make. */
  plan(req: CreateNetworkRequest): UserNetwork {
    const name = req?.Name ?? '';
    if (!name) throw invalid('network name is required');
    if (!NAME_RE.test(name)) throw invalid(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (PREDEFINED.includes(name)) throw new DaemonError('forbidden', `operation is not permitted on predefined ${name} network`);
    const driver = req.Driver || 'bridge';
    if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found`);
    if (this.find(name)?.Name === name) throw conflict(`network with name ${name} already exists`);
    if (req.EnableIPv6) throw invalid('berthd networks are IPv4 only: EnableIPv6 is not supported');
    if (req.IPAM?.Driver && req.IPAM.Driver !== 'default') throw notFound(`plugin "${req.IPAM.Driver}" not found`);
    const configs = req.IPAM?.Config ?? [];
    if (configs.length > 1) throw invalid('berthd networks take one IPAM config (one IPv4 subnet)');
    const options = { ...(req.Options ?? {}) };
    const id = randomBytes(32).toString('hex');
    const bridge = options['com.docker.network.bridge.name'] || `br-${id.slice(0, 12)}`;
    if (bridge.length > 15 || !/^[a-zA-Z0-9_.-]+$/.test(bridge)) throw invalid(`invalid bridge name "${bridge}": at most 15 characters of [a-zA-Z0-9_.-]`);
    if (bridge === this.defaultBridge.bridge || this.all().some((n) => n.Bridge === bridge)) {
      throw conflict(`bridge name ${bridge} is already in use by another network`);
    }
    const cfg = configs[0] ?? {};
    const taken = [parseSubnet(this.defaultBridge.subnet), ...this.all().map((n) => parseSubnet(n.Subnet))];
    let subnet: Subnet;
    if (cfg.Subnet) {
      subnet = parseSubnet(cfg.Subnet);
      if (formatSubnet(subnet) !== cfg.Subnet) throw invalid(`invalid subnet ${cfg.Subnet}: it should be ${formatSubnet(subnet)}`);
      if (taken.some((t) => overlaps(t, subnet))) throw new DaemonError('forbidden', 'invalid pool request: Pool overlaps with other one on this address space');
    } else {
      if (cfg.Gateway || cfg.IPRange) throw invalid('a gateway or ip-range needs a subnet');
      const host = hostSubnets();
      const free = [...candidates(), ...Array.from({ length: 256 }, (_, i) => ({ base: ipToInt(`10.${(i >> 4) + 200}.${(i & 15) * 16}.0`)!, prefix: 24 }))].find(
        (c) => !taken.some((t) => overlaps(c, t)) && !host.some((t) => overlaps(c, t)),
      );
      if (!free) throw new DaemonError('forbidden', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
      subnet = free;
    }
    let gateway = gatewayOf(subnet);
    if (cfg.Gateway) {
      if (!contains(subnet, cfg.Gateway)) throw invalid(`invalid gateway ${cfg.Gateway}: not in subnet ${formatSubnet(subnet)}`);
      gateway = cfg.Gateway;
    }
    let range: string | undefined;
    if (cfg.IPRange) {
      const r = parseSubnet(cfg.IPRange);
      if (r.prefix < subnet.prefix || !overlaps(r, subnet)) throw invalid(`invalid ip-range ${cfg.IPRange}: not inside subnet ${formatSubnet(subnet)}`);
      range = formatSubnet(r);
    }
    return {
      Id: id,
      Name: name,
      Created: new Date().toISOString(),
      Subnet: formatSubnet(subnet),
      Gateway: gateway,
      ...(range ? { IPRange: range } : {}),
      UserSubnet: !!cfg.Subnet,
      Internal: !!req.Internal,
      Attachable: !!req.Attachable,
      Labels: { ...(req.Labels ?? {}) },
      Options: options,
      Bridge: bridge,
    };
  }

  async create(req: CreateNetworkRequest): Promise<UserNetwork> {
    const n = this.plan(req);
    // Recorded first, so a crash half-way leaves a network `rm` can clean up.
    this.nets.set(n.Id, n);
    this.save(n);
    try {
      await this.ensureBridge(n);
      await this.syncIsolation();
    } catch (e) {
      await this.remove(n).catch(() => {});
      throw e;
    }
    return n;
  }

  /** The bridge with the gateway address, up: made at create and again after a reboot. */
  async ensureBridge(n: UserNetwork): Promise<void> {
    const prefix = n.Subnet.split('/')[1];
    const exists = await run('ip', ['link', 'show', 'dev', n.Bridge]).then(
      () => true,
      () => false,
    );
    if (!exists) await run('ip', ['link', 'add', 'name', n.Bridge, 'type', 'bridge']);
    const addrs = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', n.Bridge]).catch(() => '');
    if (!addrs.includes(` ${n.Gateway}/`)) await run('ip', ['addr', 'add', `${n.Gateway}/${prefix}`, 'dev', n.Bridge]);
    await run('ip', ['link', 'set', n.Bridge, 'up']);
  }

  /** Everything of a network: its bridge, its isolation rules, its record. Attachments are the caller's. */
  async remove(n: UserNetwork): Promise<void> {
    await run('ip', ['link', 'del', n.Bridge]).catch(() => {});
    this.nets.delete(n.Id);
    rmSync(join(this.dir, `${n.Id}.json`), { force: true });
    await this.syncIsolation();
  }

  /** After a restart: bridges back (a reboot drops them) and isolation rules as the records say. */
  async restore(): Promise<void> {
    for (const n of this.all()) await this.ensureBridge(n).catch((e) => process.stderr.write(`berthd: network ${n.Name}: ${(e as Error).message}\n`));
    await this.syncIsolation().catch((e) => process.stderr.write(`berthd: network isolation: ${(e as Error).message}\n`));
  }

  /**
   * The isolation rules this daemon should have: every managed bridge (the user
   * networks' and, while any exist, the default one) jumps to stage 2 for traffic
   * leaving by another interface; stage 2 drops what goes out into a user bridge.
   * Internal networks also drop everything that leaves their bridge, as dockerd's do.
   */
  private desired(): string[][] {
    const users = this.all();
    if (!users.length) return [];
    const rules: string[][] = [];
    for (const b of [this.defaultBridge.bridge, ...users.map((n) => n.Bridge)]) rules.push([STAGE1, '-i', b, '!', '-o', b, '-j', STAGE2]);
    for (const n of users) {
      rules.push([STAGE2, '-o', n.Bridge, '-j', 'DROP']);
      if (n.Internal) {
        rules.push([STAGE1, '-i', n.Bridge, '!', '-o', n.Bridge, '-j', 'DROP']);
        rules.push([STAGE1, '-o', n.Bridge, '!', '-i', n.Bridge, '-j', 'DROP']);
      }
    }
    return rules.map(([chain, ...spec]) => [chain!, ...spec, '-m', 'comment', '--comment', this.tag]);
  }

  private isolation: Promise<void> = Promise.resolve();

  /** Adds the missing rules and deletes this daemon's stale ones (one at a time: iptables is shared). */
  syncIsolation(): Promise<void> {
    const next = this.isolation.then(() => this.doSync());
    this.isolation = next.catch(() => {});
    return next;
  }

  private async doSync(): Promise<void> {
    const want = this.desired();
    const present = async (chain: string) => {
      const out = await run('iptables', ['-w', '-S', chain]).catch(() => undefined);
      return out;
    };
    for (const chain of [STAGE1, STAGE2]) {
      if ((await present(chain)) === undefined) {
        if (!want.length) continue;
        await run('iptables', ['-w', '-N', chain]).catch(() => {});
      }
    }
    if (want.length) {
      const jump = await run('iptables', ['-w', '-C', 'FORWARD', '-j', STAGE1]).then(
        () => true,
        () => false,
      );
      if (!jump) await run('iptables', ['-w', '-I', 'FORWARD', '1', '-j', STAGE1]);
    }
    // Ours that are no longer wanted: listed with -S, deleted by the same spec with -D.
    const wanted = new Set(want.map((r) => r.join(' ')));
    for (const chain of [STAGE1, STAGE2]) {
      const out = (await present(chain)) ?? '';
      for (const line of out.split('\n')) {
        if (!line.startsWith(`-A ${chain} `) || !line.includes(this.tag)) continue;
        const spec = line.slice(3).replace(/"/g, '').split(' ');
        if (!wanted.has(spec.join(' '))) await run('iptables', ['-w', '-D', ...spec]).catch(() => {});
      }
    }
    for (const rule of want) {
      const has = await run('iptables', ['-w', '-C', ...rule]).then(
        () => true,
        () => false,
      );
      // Drops first: stage 1's DROPs of internal networks must come before its jumps.
      if (!has) await run('iptables', ['-w', rule.includes('DROP') ? '-I' : '-A', ...rule]);
    }
  }

  /** The host-local range of a network (IPAM IPRange) as start and end addresses. */
  static range(n: UserNetwork): { rangeStart?: string; rangeEnd?: string } {
    if (!n.IPRange) return {};
    const r = parseSubnet(n.IPRange);
    const size = 2 ** (32 - r.prefix);
    return { rangeStart: intToIp(r.base + (r.base === parseSubnet(n.Subnet).base ? 1 : 0)), rangeEnd: intToIp(r.base + size - 2) };
  }
}
