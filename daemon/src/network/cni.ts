// Container networking with Debian's CNI plugins: the default `bridge` network is a
// CNI chain (bridge with host-local IPAM and IP masquerade, then portmap for -p),
// plus loopback; `none` gets loopback only; `host` shares the host's namespace.
// Setup runs between task create and start against /proc/<pid>/ns/net; the ADD
// results are kept beside the container so DEL works after the process is gone.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonError, invalid } from '../errors.js';
import type { ContainerRecord, HostConfig, PortBinding } from '../containers/model.js';
import type { NetworkHooks } from '../containers/service.js';

export interface BridgeConfig {
  binDir: string;
  /** Where host-local keeps its leases and berthd its cached results. */
  stateDir: string;
  bridge: string;
  subnet: string;
}

interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

function runPlugin(binDir: string, type: string, env: Record<string, string>, config: object): Promise<any> {
  const bin = join(binDir, type);
  if (!existsSync(bin)) return Promise.reject(new DaemonError('internal', `CNI plugin ${type} not found in ${binDir}`));
  return new Promise((resolve, reject) => {
    const p = spawn(bin, [], { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_PATH: binDir, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => err.push(d));
    p.on('error', reject);
    p.on('close', (code) => {
      const text = Buffer.concat(out).toString();
      let parsed: any;
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = {};
      }
      if (code !== 0) {
        const msg = parsed?.msg ? `${parsed.msg}${parsed.details ? `: ${parsed.details}` : ''}` : Buffer.concat(err).toString().trim();
        reject(new DaemonError('internal', `CNI ${type} ${env.CNI_COMMAND}: ${msg || `exit ${code}`}`));
      } else resolve(parsed);
    });
    p.stdin.end(JSON.stringify(config));
  });
}

/** -p bindings → portmap's runtimeConfig.portMappings. */
export function portMappings(bindings: Record<string, PortBinding[] | null> | null | undefined): PortMapping[] {
  const out: PortMapping[] = [];
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const [port, proto = 'tcp'] = key.split('/');
    const [from, to] = port!.split('-').map(Number) as [number, number?];
    for (const b of list ?? []) {
      if (!b.HostPort) throw invalid(`publishing ${key} without a host port is not supported yet: give -p HOSTPORT:${port}`);
      const [hFrom] = b.HostPort.split('-').map(Number) as [number];
      const count = (to ?? from) - from + 1;
      for (let i = 0; i < count; i++) {
        out.push({ hostPort: hFrom + i, containerPort: from + i, protocol: proto, ...(b.HostIp ? { hostIP: b.HostIp } : {}) });
      }
    }
  }
  return out;
}

export class CniNetworks implements NetworkHooks {
  constructor(private readonly cfg: BridgeConfig) {
    mkdirSync(join(cfg.stateDir, 'results'), { recursive: true, mode: 0o700 });
    mkdirSync(join(cfg.stateDir, 'netns'), { recursive: true, mode: 0o700 });
  }

  /**
   * Pins the container's network namespace with a bind mount, so teardown can run
   * DEL inside it after the process is gone: the bridge plugin only removes its
   * masquerade rules when it is given a namespace.
   */
  private async pin(id: string, pid: number): Promise<string> {
    const path = join(this.cfg.stateDir, 'netns', id);
    writeFileSync(path, '');
    await run('mount', ['--bind', `/proc/${pid}/ns/net`, path]);
    return path;
  }

  private async unpin(id: string): Promise<void> {
    const path = join(this.cfg.stateDir, 'netns', id);
    if (!existsSync(path)) return;
    await run('umount', [path]).catch(() => run('umount', ['-l', path]).catch(() => {}));
    rmSync(path, { force: true });
  }

  validate(hc: HostConfig): void {
    const mode = hc.NetworkMode || 'bridge';
    // dockerd answers 404 at start; at create a 404 would make the CLI try to pull the image.
    if (!['bridge', 'default', 'host', 'none'].includes(mode)) throw invalid(`network ${mode} not found`);
    if (mode !== 'bridge' && mode !== 'default') hc.PortBindings = {};
    else portMappings(hc.PortBindings);
  }

  netns(c: ContainerRecord): 'new' | 'host' {
    return c.HostConfig.NetworkMode === 'host' ? 'host' : 'new';
  }

  private bridgeConf(): any {
    return {
      cniVersion: '1.0.0',
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
            ranges: [[{ subnet: this.cfg.subnet }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: join(this.cfg.stateDir, 'ipam'),
          },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    };
  }

  private env(command: string, c: ContainerRecord, netns: string, ifname: string): Record<string, string> {
    return { CNI_COMMAND: command, CNI_CONTAINERID: c.ID, CNI_NETNS: netns, CNI_IFNAME: ifname };
  }

  async setup(c: ContainerRecord, pid: number): Promise<void> {
    const mode = c.HostConfig.NetworkMode || 'bridge';
    if (mode === 'host') return;
    if (mode !== 'none') enableForwarding();
    const netns = mode === 'none' ? `/proc/${pid}/ns/net` : await this.pin(c.ID, pid);
    await runPlugin(this.cfg.binDir, 'loopback', this.env('ADD', c, netns, 'lo'), { cniVersion: '1.0.0', name: 'lo', type: 'loopback' });
    if (mode === 'none') return;
    const list = this.bridgeConf();
    const mappings = portMappings(c.HostConfig.PortBindings);
    let prev: any;
    const done: any[] = [];
    try {
      for (const plugin of list.plugins) {
        const conf = {
          cniVersion: list.cniVersion,
          name: list.name,
          ...plugin,
          ...(prev ? { prevResult: prev } : {}),
          ...(plugin.type === 'portmap' ? { runtimeConfig: { portMappings: mappings } } : {}),
        };
        prev = await runPlugin(this.cfg.binDir, plugin.type, this.env('ADD', c, netns, 'eth0'), conf);
        done.push(plugin);
      }
    } catch (e) {
      await this.teardown(c).catch(() => {});
      throw e;
    }
    writeFileSync(join(this.cfg.stateDir, 'results', c.ID), JSON.stringify({ result: prev, mappings }));
    const ip = prev?.ips?.[0];
    const iface = prev?.interfaces?.find((i: any) => i.sandbox);
    c.NetworkSettings = {
      IPAddress: ip?.address?.split('/')[0] ?? '',
      Gateway: ip?.gateway ?? '',
      MacAddress: iface?.mac ?? '',
      Ports: portsView(c.Config.ExposedPorts, c.HostConfig.PortBindings),
    };
    // /etc/hosts names the container by its address, as Docker's does.
    if (c.NetworkSettings.IPAddress && existsSync(c.HostsPath)) {
      const hosts = readFileSync(c.HostsPath, 'utf8').split('\n').filter((l) => !l.endsWith(`\t${c.Config.Hostname}`));
      writeFileSync(c.HostsPath, `${hosts.join('\n').trimEnd()}\n${c.NetworkSettings.IPAddress}\t${c.Config.Hostname}\n`);
    }
  }

  async teardown(c: ContainerRecord): Promise<void> {
    const mode = c.HostConfig.NetworkMode || 'bridge';
    const file = join(this.cfg.stateDir, 'results', c.ID);
    if (mode === 'host' || mode === 'none' || !existsSync(file)) {
      rmSync(file, { force: true });
      await this.unpin(c.ID);
      return;
    }
    const pinned = join(this.cfg.stateDir, 'netns', c.ID);
    const netns = existsSync(pinned) ? pinned : '';
    let cached: any = {};
    try {
      cached = JSON.parse(readFileSync(file, 'utf8'));
    } catch {}
    const list = this.bridgeConf();
    // DEL runs in reverse order; the namespace is gone with the process, which the spec allows.
    for (const plugin of [...list.plugins].reverse()) {
      const conf = {
        cniVersion: list.cniVersion,
        name: list.name,
        ...plugin,
        ...(cached.result ? { prevResult: cached.result } : {}),
        ...(plugin.type === 'portmap' ? { runtimeConfig: { portMappings: cached.mappings ?? [] } } : {}),
      };
      await runPlugin(this.cfg.binDir, plugin.type, this.env('DEL', c, netns, 'eth0'), conf).catch(() => {});
    }
    rmSync(file, { force: true });
    await this.unpin(c.ID);
    if (c.NetworkSettings) c.NetworkSettings = { Ports: c.NetworkSettings.Ports };
  }
}

function portsView(exposed: Record<string, object> | null | undefined, bindings: Record<string, PortBinding[] | null> | null | undefined): Record<string, PortBinding[] | null> {
  const out: Record<string, PortBinding[] | null> = {};
  for (const k of Object.keys(exposed ?? {})) out[k] = null;
  for (const [k, list] of Object.entries(bindings ?? {})) {
    const key = k.includes('/') ? k : `${k}/tcp`;
    out[key] = (list ?? []).map((b) => ({ HostIp: b.HostIp || '0.0.0.0', HostPort: b.HostPort ?? '' }));
  }
  return out;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const err: Buffer[] = [];
    p.stderr.on('data', (d) => err.push(d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new DaemonError('internal', `${cmd} ${args.join(' ')}: ${Buffer.concat(err).toString().trim()}`))));
  });
}

/** Masquerading and published ports need IPv4 forwarding, which dockerd turns on too. */
function enableForwarding(): void {
  try {
    if (readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() !== '1') writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
  } catch {}
}
