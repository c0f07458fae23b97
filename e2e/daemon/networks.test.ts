// Networking through berthd with the real docker CLI: the predefined networks'
// list/inspect, the default CNI bridge (address, gateway, /etc files, published
// ports on 127.0.0.1 only, -P), none, bad port specs, teardown that leaves nothing
// (veth, pinned netns, NAT rules), also across a berthd crash. A second suite drives
// the CNI module alone against a namespace made with `ip netns add`.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerRecord } from '../../daemon/src/containers/model.js';
import { CniNetworks } from '../../daemon/src/network/cni.js';
import { fixtures } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { api, DOCKER, type Env, startEnv, uid } from './harness.js';

const CNI = '/usr/lib/cni';
const HAVE_CNI = ['bridge', 'host-local', 'loopback', 'portmap'].every((p) => existsSync(join(CNI, p)));

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
  });
}

/** Retries while a just-started server comes up. */
async function fetchText(url: string): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 25; i++) {
    try {
      return (await httpGet(url)).body;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw last;
}

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const natRulesFor = (id: string) =>
  sh('iptables', ['-w', '-t', 'nat', '-S'])
    .split('\n')
    .filter((l) => l.includes(id));
const vethsOn = (bridge: string) => sh('ip', ['-o', 'link', 'show', 'master', bridge]).trim();

describe.skipIf(!isRoot || !existsSync(DOCKER) || !HAVE_CNI)('berthd: networks', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
  });
  afterAll(async () => {
    await env?.stop();
  });

  const gatewayOf = () => env.subnet.replace(/\.0\/24$/, '.1');
  const netDir = () => join(env.dir, 'data', 'network');

  it('lists and inspects the predefined networks as Docker does', async () => {
    const ls = await env.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
    expect(ls.stderr).toBe('');
    expect(ls.stdout.trim().split('\n').sort()).toEqual(['bridge bridge local', 'host host local', 'none null local']);
    const insp = await env.docker(['network', 'inspect', 'bridge']);
    const [bridge] = JSON.parse(insp.stdout);
    expect(bridge.Id).toMatch(/^[0-9a-f]{64}$/);
    expect(bridge.IPAM.Config).toEqual([{ Subnet: env.subnet, Gateway: gatewayOf() }]);
    expect(bridge.Options['com.docker.network.bridge.name']).toBe(env.bridge);
    // By ID prefix, and the ID is stable across a daemon restart.
    const byId = await env.docker(['network', 'inspect', '--format', '{{.Name}}', bridge.Id.slice(0, 12)]);
    expect(byId.stdout.trim()).toBe('bridge');
    await env.restartDaemon();
    expect((await env.docker(['network', 'inspect', '--format', '{{.Id}}', 'bridge'])).stdout.trim()).toBe(bridge.Id);
    const missing = await env.docker(['network', 'inspect', 'daemon-no-such-net']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('network daemon-no-such-net not found');
    const rm = await env.docker(['network', 'rm', 'bridge']);
    expect(rm.stderr).toContain('bridge is a pre-defined network and cannot be removed');
    // User-defined networks are user-networks.test.ts's; a predefined name cannot be taken.
    const create = await env.docker(['network', 'create', 'host']);
    expect(create.code).not.toBe(0);
    expect(create.stderr).toContain('operation is not permitted on predefined host network');
  });

  it('default bridge: an address in the subnet, the gateway answers, inspect and /etc files agree', async () => {
    const name = uid();
    const run = await env.docker(['run', '-d', '--name', name, '--hostname', 'nethost', 'busybox', 'sleep', '300']);
    expect(run.stderr).toBe('');
    const id = run.stdout.trim();
    const [c] = JSON.parse((await env.docker(['inspect', name])).stdout);
    const ns = c.NetworkSettings;
    const prefix = env.subnet.split('.').slice(0, 3).join('.');
    expect(ns.IPAddress.startsWith(`${prefix}.`)).toBe(true);
    expect(ns.IPPrefixLen).toBe(24);
    expect(ns.Gateway).toBe(gatewayOf());
    expect(ns.MacAddress).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const [bridge] = JSON.parse((await env.docker(['network', 'inspect', 'bridge'])).stdout);
    expect(ns.Networks.bridge.NetworkID).toBe(bridge.Id);
    expect(ns.Networks.bridge.IPAddress).toBe(ns.IPAddress);
    expect(ns.Networks.bridge.EndpointID).toMatch(/^[0-9a-f]{64}$/);
    expect(bridge.Containers[id]).toEqual({ Name: name, EndpointID: ns.Networks.bridge.EndpointID, MacAddress: ns.MacAddress, IPv4Address: `${ns.IPAddress}/24`, IPv6Address: '' });

    const inside = await env.docker(['exec', name, 'sh', '-c', `ip -4 -o addr show eth0; ip route; ping -c 1 -W 3 ${gatewayOf()} >/dev/null && echo pinged; cat /etc/hostname /etc/hosts /etc/resolv.conf`]);
    expect(inside.stderr).toBe('');
    expect(inside.stdout).toContain(`inet ${ns.IPAddress}/24`);
    expect(inside.stdout).toContain(`default via ${gatewayOf()} dev eth0`);
    expect(inside.stdout).toContain('pinged\n');
    expect(inside.stdout).toContain('nethost\n');
    expect(inside.stdout).toMatch(new RegExp(`${ns.IPAddress.replace(/\./g, '\\.')}\\s+nethost`));
    expect(inside.stdout).toMatch(/127\.0\.0\.1\s+localhost/);
    expect(inside.stdout).not.toMatch(/^nameserver\s+127\./m);
    expect(inside.stdout).toMatch(/^nameserver\s+\S+/m);

    expect(vethsOn(env.bridge)).not.toBe('');
    expect(natRulesFor(id).length).toBeGreaterThan(0);
    expect((await env.docker(['rm', '-f', name])).code).toBe(0);
    // Nothing left: no veth on the bridge, no NAT rule naming the container, no pinned namespace or lease.
    expect(vethsOn(env.bridge)).toBe('');
    expect(natRulesFor(id)).toEqual([]);
    expect(readdirSync(join(netDir(), 'netns'))).toEqual([]);
    expect(readdirSync(join(netDir(), 'results'))).toEqual([]);
    const leases = join(netDir(), 'ipam', `berth-${env.bridge}`);
    expect(readdirSync(leases).filter((f) => /^[0-9.]+$/.test(f))).toEqual([]);
  });

  it('-p 127.0.0.1:PORT:80 publishes on the loopback address only; -P takes an ephemeral port', async () => {
    const name = uid();
    const port = 21000 + (process.pid % 20000);
    const run = await env.docker(['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c', 'echo served > /tmp/index.html; exec httpd -f -h /tmp -p 80']);
    expect(run.stderr).toBe('');
    const id = run.stdout.trim();
    expect(await fetchText(`http://127.0.0.1:${port}/index.html`)).toBe('served\n');
    const hostAddr = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal && !a.address.startsWith('172.'))?.address;
    if (hostAddr) await expect(httpGet(`http://${hostAddr}:${port}/index.html`)).rejects.toThrow();
    const portOut = await env.docker(['port', name]);
    expect(portOut.stdout.trim()).toBe(`80/tcp -> 127.0.0.1:${port}`);
    const ps = await env.docker(['ps', '--filter', `id=${id}`, '--format', '{{.Ports}}']);
    expect(ps.stdout.trim()).toBe(`127.0.0.1:${port}->80/tcp`);

    // A second container may not take the same host port.
    const clash = await env.docker(['run', '-d', '--name', uid(), '-p', `127.0.0.1:${port}:80`, 'busybox', 'sleep', '30']);
    expect(clash.code).not.toBe(0);
    expect(clash.stderr).toContain('port is already allocated');

    const all = uid();
    const runAll = await env.docker(['run', '-d', '--name', all, '-P', '--expose', '80', 'busybox', 'sh', '-c', 'echo any > /tmp/index.html; exec httpd -f -h /tmp -p 80']);
    expect(runAll.stderr).toBe('');
    const hostPort = (await env.docker(['inspect', '--format', '{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}', all])).stdout.trim();
    expect(Number(hostPort)).toBeGreaterThan(1023);
    expect(await fetchText(`http://127.0.0.1:${hostPort}/index.html`)).toBe('any\n');

    const allId = (await env.docker(['inspect', '--format', '{{.Id}}', all])).stdout.trim();
    expect((await env.docker(['rm', '-f', name, all])).code).toBe(0);
    expect(natRulesFor(id)).toEqual([]);
    expect(natRulesFor(allId)).toEqual([]);
    await expect(httpGet(`http://127.0.0.1:${port}/index.html`)).rejects.toThrow();
  });

  it('--network none sees only lo and gets no address', async () => {
    const name = uid();
    const r = await env.docker(['run', '--name', name, '--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net; ip -4 -o addr']);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('lo');
    expect(lines.slice(1).join('\n')).toContain('inet 127.0.0.1/8');
    expect(r.stdout).not.toContain('eth0');
    const [none] = JSON.parse((await env.docker(['network', 'inspect', 'none'])).stdout);
    const netId = (await env.docker(['inspect', '--format', '{{.NetworkSettings.Networks.none.NetworkID}} {{.NetworkSettings.IPAddress}}.', name])).stdout.trim();
    expect(netId).toBe(`${none.Id} .`);
    expect((await env.docker(['rm', name])).code).toBe(0);
  });

  it('an invalid port spec is a 400 with Docker message and creates nothing', async () => {
    const name = uid();
    const before = (await env.docker(['ps', '-aq'])).stdout;
    for (const [bindings, message] of [
      [{ '80/tcp': [{ HostPort: 'abc' }] }, 'invalid port specification: "abc"'],
      [{ 'x80/tcp': [{ HostPort: '8080' }] }, 'invalid port specification: "x80/tcp"'],
      [{ '80/tcp': [{ HostPort: '70000' }] }, 'invalid port specification: "70000"'],
    ] as const) {
      const r = await api(env.sock, 'POST', `/v1.45/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['true'], HostConfig: { PortBindings: bindings } });
      expect(r.status).toBe(400);
      expect(r.json.message).toBe(message);
    }
    expect((await env.docker(['ps', '-aq'])).stdout).toBe(before);
  });

  it('after berthd is killed and restarted the container keeps its network, and stop still tears it down', async () => {
    const name = uid();
    const port = 22000 + (process.pid % 20000);
    const run = await env.docker(['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c', 'echo kept > /tmp/index.html; exec httpd -f -h /tmp -p 80']);
    expect(run.stderr).toBe('');
    const id = run.stdout.trim();
    expect(await fetchText(`http://127.0.0.1:${port}/index.html`)).toBe('kept\n');
    const ip = (await env.docker(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', name])).stdout.trim();
    await env.restartDaemon('SIGKILL');
    expect((await env.docker(['inspect', '--format', '{{.State.Status}} {{.NetworkSettings.IPAddress}}', name])).stdout.trim()).toBe(`running ${ip}`);
    expect(await fetchText(`http://127.0.0.1:${port}/index.html`)).toBe('kept\n');
    // The new daemon has only what the old one wrote down: the cached CNI result.
    expect((await env.docker(['stop', '-t', '1', name])).code).toBe(0);
    expect(natRulesFor(id)).toEqual([]);
    expect(vethsOn(env.bridge)).toBe('');
    expect(readdirSync(join(netDir(), 'netns'))).toEqual([]);
    await expect(httpGet(`http://127.0.0.1:${port}/index.html`)).rejects.toThrow();
    expect((await env.docker(['rm', name])).code).toBe(0);
  });
});

/** The CNI module alone: a namespace from `ip netns add` with a process in it. */
describe.skipIf(!isRoot || !HAVE_CNI)('CniNetworks against an ip-netns namespace', () => {
  const ns = `netmod-${process.pid}`;
  const bridge = `nm${process.pid}`.slice(0, 15);
  const subnet = `10.213.${process.pid % 250}.0/24`;
  const id = `netmod${process.pid}`.padEnd(64, '0');
  let dir: string;
  let holder: ReturnType<typeof spawn> | undefined;
  let net: CniNetworks;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netmod-'));
    sh('ip', ['netns', 'add', ns]);
    holder = spawn('ip', ['netns', 'exec', ns, 'sleep', '300'], { stdio: 'ignore' });
    net = new CniNetworks({ binDir: CNI, stateDir: dir, bridge, subnet });
  });
  afterAll(async () => {
    await net?.release(id).catch(() => {});
    holder?.kill('SIGKILL');
    try {
      sh('ip', ['netns', 'del', ns]);
    } catch {}
    try {
      sh('ip', ['link', 'del', bridge]);
    } catch {}
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n').reverse()) {
      const target = line.split(' ')[1];
      if (target?.startsWith(dir)) execFileSync('umount', ['-l', target]);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const record = (): ContainerRecord =>
    ({ ID: id, Name: '/netmod', Config: { Hostname: 'netmod', ExposedPorts: {} }, HostConfig: { NetworkMode: 'bridge', PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } }, HostsPath: '' }) as unknown as ContainerRecord;

  it('ADD, CHECK, DEL (twice) and sweep leave the namespace and host clean', async () => {
    // `ip netns exec` forks the holder into the namespace: wait until it is there.
    let pid = 0;
    for (let i = 0; i < 50 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const p = holder?.pid ?? 0;
      try {
        if (sh('ip', ['netns', 'identify', String(p)]).trim() === ns) pid = p;
      } catch {}
    }
    expect(pid).toBeGreaterThan(0);
    const c = record();
    await net.setup(c, pid);
    expect(c.NetworkSettings?.IPAddress?.startsWith(subnet.replace(/0\/24$/, ''))).toBe(true);
    expect(c.NetworkSettings?.Gateway).toBe(subnet.replace(/0\/24$/, '1'));
    const hostPort = Number(c.NetworkSettings?.Ports?.['80/tcp']?.[0]?.HostPort);
    expect(hostPort).toBeGreaterThan(1023);
    expect(sh('ip', ['netns', 'exec', ns, 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).toContain(`inet ${c.NetworkSettings?.IPAddress}/24`);
    expect(sh('ip', ['netns', 'exec', ns, 'ip', '-o', 'link', 'show', 'lo'])).toContain('UP');
    await net.check(c);
    expect(sh('iptables', ['-w', '-t', 'nat', '-S']).includes(`--dport ${hostPort}`)).toBe(true);

    // A broken attachment fails CHECK.
    sh('ip', ['netns', 'exec', ns, 'ip', 'addr', 'flush', 'dev', 'eth0']);
    await expect(net.check(c)).rejects.toThrow(/CNI bridge CHECK/);

    // DEL is idempotent; afterwards nothing names the container.
    await net.release(id);
    await net.release(id);
    expect(natRulesFor(id)).toEqual([]);
    expect(sh('iptables', ['-w', '-t', 'nat', '-S']).includes(`--dport ${hostPort}`)).toBe(false);
    expect(sh('ip', ['netns', 'exec', ns, 'ip', '-o', 'link']).includes('eth0')).toBe(false);
    expect(vethsOn(bridge)).toBe('');
    expect(readdirSync(join(dir, 'netns'))).toEqual([]);

    // An attachment whose container is gone is released by sweep, a running one is kept.
    const again = record();
    await net.setup(again, pid);
    expect(await net.sweep([id])).toEqual([]);
    expect(natRulesFor(id).length).toBeGreaterThan(0);
    expect(await net.sweep([])).toEqual([id]);
    expect(natRulesFor(id)).toEqual([]);
    expect(vethsOn(bridge)).toBe('');
  });

  it('a subnet that is not IPv4 CIDR is refused with a clear error', () => {
    expect(() => new CniNetworks({ binDir: CNI, stateDir: dir, bridge, subnet: '10.0.0.0/33' })).toThrow(/invalid subnet "10.0.0.0\/33"/);
  });
});
