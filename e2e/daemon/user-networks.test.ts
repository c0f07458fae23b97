// User-defined bridge networks through berthd with the real docker CLI: network
// create/ls/inspect/connect/disconnect/rm/prune, `run --network NAME [--ip]`,
// containers on one network reach each other by IP and not across networks, the
// networks survive a berthd restart, bad input gets dockerd's codes and messages and
// changes nothing, and rm leaves no bridge, isolation rule or IPAM state behind.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { api, DOCKER, type Env, startEnv, uid } from './harness.js';

const CNI = '/usr/lib/cni';
const HAVE_CNI = ['bridge', 'host-local', 'loopback', 'portmap'].every((p) => existsSync(join(CNI, p)));

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const linkExists = (name: string) => sh('ip', ['-o', 'link', 'show']).includes(` ${name}:`);
const bridges = () =>
  sh('ip', ['-o', 'link', 'show', 'type', 'bridge'])
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(': ')[1]!.split('@')[0]!)
    .sort();
const isolationRules = (bridge: string) =>
  sh('iptables', ['-w', '-S'])
    .split('\n')
    .filter((l) => l.includes('BERTH-ISOLATION') && l.includes(` ${bridge} `));

/** Packets stage 2 of the isolation chains dropped on their way into `bridge`. */
const dropped = (bridge: string) =>
  sh('iptables', ['-w', '-L', 'BERTH-ISOLATION-STAGE-2', '-v', '-n', '-x'])
    .split('\n')
    .filter((l) => /\bDROP\b/.test(l) && l.split(/\s+/).includes(bridge))
    .reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);

// Subnets of this test process only: several test runs share the machine.
const octet = 100 + (process.pid % 100);
const subnetA = `10.${octet}.1.0/24`;
const subnetB = `10.${octet}.2.0/24`;

describe.skipIf(!isRoot || !existsSync(DOCKER) || !HAVE_CNI)('berthd: user-defined networks', () => {
  let env: Env;
  const docker = (args: string[]) => env.docker(args);
  const ok = async (args: string[]) => {
    const r = await env.docker(args);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const ipOf = (name: string, net: string) => ok(['inspect', '--format', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, name]);
  const ping = (name: string, ip: string) => docker(['exec', name, 'ping', '-c', '1', '-W', '2', ip]);

  beforeAll(async () => {
    env = await startEnv();
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
  }, 120000);
  afterAll(async () => {
    await env?.stop();
  }, 120000);

  it('create, ls, inspect (subnet, gateway, labels, bridge name option) and rm that leaves nothing', async () => {
    const name = uid('net');
    const since = Math.floor(Date.now() / 1000) - 1;
    const bridge = `bn${process.pid % 100000}a`;
    const id = await ok(['network', 'create', '--subnet', subnetA, '--gateway', `10.${octet}.1.254`, '--ip-range', `10.${octet}.1.128/25`, '--label', 'team=berth', '--opt', `com.docker.network.bridge.name=${bridge}`, name]);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await ok(['network', 'ls', '--filter', `name=${name}`, '--format', '{{.ID}} {{.Name}} {{.Driver}} {{.Scope}}'])).toBe(`${id.slice(0, 12)} ${name} bridge local`);
    const ins = JSON.parse(await ok(['network', 'inspect', name]))[0];
    expect(ins).toMatchObject({
      Name: name,
      Id: id,
      Driver: 'bridge',
      Scope: 'local',
      Internal: false,
      IPAM: { Driver: 'default', Config: [{ Subnet: subnetA, Gateway: `10.${octet}.1.254`, IPRange: `10.${octet}.1.128/25` }] },
      Labels: { team: 'berth' },
      Options: { 'com.docker.network.bridge.name': bridge },
      Containers: {},
    });
    // The bridge exists from create on, with the gateway address.
    expect(sh('ip', ['-4', '-o', 'addr', 'show', 'dev', bridge])).toContain(`10.${octet}.1.254/24`);
    expect(await ok(['network', 'ls', '--filter', 'label=team=berth', '--format', '{{.Name}}'])).toBe(name);
    // A container takes its address from the range.
    const c = uid('c');
    await ok(['run', '-d', '--name', c, '--network', name, 'busybox', 'sleep', '300']);
    const ip = await ipOf(c, name);
    expect(Number(ip.split('.')[3])).toBeGreaterThanOrEqual(128);
    expect(await ok(['exec', c, 'ip', 'route'])).toMatch(new RegExp(`^default via 10\\.${octet}\\.1\\.254`, 'm'));
    await ok(['rm', '-f', c]);
    expect(await ok(['network', 'rm', name])).toBe(name);
    expect(linkExists(bridge)).toBe(false);
    // dockerd's network events, in order.
    const events = await ok(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=network', '--filter', `network=${id}`, '--format', '{{.Action}}']);
    expect(events.split('\n')).toEqual(['create', 'connect', 'disconnect', 'destroy']);
    expect(isolationRules(bridge)).toEqual([]);
    expect((await docker(['network', 'inspect', name])).stderr).toContain(`network ${name} not found`);
    const ipam = join(env.dir, 'data', 'network', 'ipam');
    expect(existsSync(ipam) ? readdirSync(ipam).filter((d) => d.includes(id.slice(0, 12))) : []).toEqual([]);
  }, 60000);

  it('an automatic subnet collides with neither the default bridge nor another network', async () => {
    const a = uid('net');
    const b = uid('net');
    await ok(['network', 'create', a]);
    await ok(['network', 'create', b]);
    const sa = await ok(['network', 'inspect', '--format', '{{(index .IPAM.Config 0).Subnet}}', a]);
    const sb = await ok(['network', 'inspect', '--format', '{{(index .IPAM.Config 0).Subnet}}', b]);
    expect(sa).toMatch(/^\d+\.\d+\.\d+\.\d+\/(16|20|24)$/);
    expect(sb).not.toBe(sa);
    expect(sa).not.toBe(env.subnet);
    await ok(['network', 'rm', a, b]);
  }, 60000);

  it('containers on one network reach each other by IP; across networks and from the default bridge they do not', async () => {
    const n1 = uid('net');
    const n2 = uid('net');
    await ok(['network', 'create', '--subnet', subnetA, n1]);
    await ok(['network', 'create', '--subnet', subnetB, n2]);
    const [a, b, x, d] = [uid('a'), uid('b'), uid('x'), uid('d')];
    await ok(['run', '-d', '--name', a, '--network', n1, 'busybox', 'sleep', '300']);
    await ok(['run', '-d', '--name', b, '--network', n1, '--ip', `10.${octet}.1.50`, 'busybox', 'sleep', '300']);
    await ok(['run', '-d', '--name', x, '--network', n2, 'busybox', 'sleep', '300']);
    await ok(['run', '-d', '--name', d, 'busybox', 'sleep', '300']);
    expect(await ipOf(b, n1)).toBe(`10.${octet}.1.50`);
    const ipA = await ipOf(a, n1);
    expect(ipA.startsWith(`10.${octet}.1.`)).toBe(true);
    expect((await ping(b, ipA)).code).toBe(0);
    expect((await ping(a, `10.${octet}.1.50`)).code).toBe(0);
    // Other network, default bridge: dropped between bridges, by the isolation rule of n1's bridge.
    const br = `br-${(await ok(['network', 'inspect', '--format', '{{.Id}}', n1])).slice(0, 12)}`;
    expect((await ping(x, ipA)).code).not.toBe(0);
    expect((await ping(d, ipA)).code).not.toBe(0);
    expect(dropped(br)).toBeGreaterThanOrEqual(2);
    // network inspect lists the attached containers with their addresses.
    const ins = JSON.parse(await ok(['network', 'inspect', n1]))[0];
    const attached = Object.values(ins.Containers as Record<string, { Name: string; IPv4Address: string }>).map((e) => `${e.Name} ${e.IPv4Address}`).sort();
    expect(attached).toEqual([`${a} ${ipA}/24`, `${b} 10.${octet}.1.50/24`].sort());

    // connect: x gets eth1 on n1 and reaches a; disconnect takes it away again.
    await ok(['network', 'connect', '--ip', `10.${octet}.1.60`, n1, x]);
    const ipX = await ipOf(x, n1);
    expect(ipX).toBe(`10.${octet}.1.60`);
    expect(await ok(['exec', x, 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth1'])).toContain(`${ipX}/24`);
    expect((await ping(x, ipA)).code).toBe(0);
    expect(Object.keys(JSON.parse(await ok(['network', 'inspect', n1]))[0].Containers)).toHaveLength(3);
    const again = await docker(['network', 'connect', n1, x]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`endpoint with name ${x} already exists in network ${n1}`);
    await ok(['network', 'disconnect', n1, x]);
    expect((await docker(['exec', x, 'ip', 'link', 'show', 'eth1'])).code).not.toBe(0);
    expect(await ok(['inspect', '--format', '{{len .NetworkSettings.Networks}}', x])).toBe('1');
    expect((await ping(x, ipA)).code).not.toBe(0);
    const notOn = await docker(['network', 'disconnect', n1, x]);
    expect(notOn.code).not.toBe(0);
    expect(notOn.stderr).toContain(`is not connected to network ${n1}`);

    // rm while containers are attached: refused, nothing changes.
    const busy = await api(env.sock, 'DELETE', `/networks/${n1}`);
    expect(busy.status).toBe(403);
    expect(busy.json.message).toMatch(new RegExp(`^error while removing network: network ${n1} has active endpoints \\(name:"(${a}|${b})"`));
    expect(await ok(['network', 'ls', '--filter', `name=${n1}`, '--format', '{{.Name}}'])).toBe(n1);
    await ok(['rm', '-f', a, b, x, d]);
    // No veth is left on either bridge once the containers are gone.
    const br1 = await ok(['network', 'inspect', '--format', '{{index .Options "com.docker.network.bridge.name"}}', n1]);
    const expectedBridge = `br-${(await ok(['network', 'inspect', '--format', '{{.Id}}', n1])).slice(0, 12)}`;
    expect(br1 === '' || br1 === expectedBridge).toBe(true);
    expect(sh('ip', ['-o', 'link', 'show', 'master', expectedBridge]).trim()).toBe('');
    await ok(['network', 'rm', n1, n2]);
    expect(linkExists(expectedBridge)).toBe(false);
    expect(isolationRules(expectedBridge)).toEqual([]);
  }, 120000);

  it('an internal network joins its containers to each other and to nothing else', async () => {
    const n = uid('net');
    await ok(['network', 'create', '--internal', '--subnet', subnetB, n]);
    expect(await ok(['network', 'inspect', '--format', '{{.Internal}}', n])).toBe('true');
    const [a, b] = [uid('a'), uid('b')];
    await ok(['run', '-d', '--name', a, '--network', n, 'busybox', 'sleep', '300']);
    await ok(['run', '-d', '--name', b, '--network', n, 'busybox', 'sleep', '300']);
    expect((await ping(b, await ipOf(a, n))).code).toBe(0);
    // No way out: no default route, and the default bridge's gateway is not reachable either.
    expect(await ok(['exec', a, 'ip', 'route'])).not.toMatch(/^default/m);
    const gw = env.subnet.replace(/\.0\/\d+$/, '.1');
    expect((await ping(a, gw)).code).not.toBe(0);
    await ok(['rm', '-f', a, b]);
    await ok(['network', 'rm', n]);
  }, 60000);

  it('bad input gets dockerd codes and messages and changes nothing', async () => {
    const name = uid('net');
    await ok(['network', 'create', '--subnet', subnetA, name]);
    const before = { nets: await ok(['network', 'ls', '-q']), bridges: bridges() };
    const dup = await docker(['network', 'create', name]);
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toContain(`network with name ${name} already exists`);
    expect((await api(env.sock, 'POST', '/networks/create', { Name: name })).status).toBe(409);
    const overlap = await docker(['network', 'create', '--subnet', `10.${octet}.1.0/25`, uid('net')]);
    expect(overlap.code).not.toBe(0);
    expect(overlap.stderr).toContain('Pool overlaps with other one on this address space');
    const driver = await api(env.sock, 'POST', '/networks/create', { Name: uid('net'), Driver: 'overlay2x' });
    expect(driver).toEqual({ status: 404, json: { message: 'plugin "overlay2x" not found' } });
    const badSubnet = await docker(['network', 'create', '--subnet', '10.1.2.3/99', uid('net')]);
    expect(badSubnet.code).not.toBe(0);
    expect(badSubnet.stderr).toMatch(/invalid/i);
    const predefined = await api(env.sock, 'POST', '/networks/create', { Name: 'host' });
    expect(predefined).toEqual({ status: 403, json: { message: 'operation is not permitted on predefined host network' } });
    const unknown = await docker(['run', '--rm', '--network', 'no-such-net', 'busybox', 'true']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('network no-such-net not found');
    expect((await api(env.sock, 'GET', '/networks/no-such-net')).status).toBe(404);
    expect((await api(env.sock, 'DELETE', '/networks/no-such-net')).status).toBe(404);
    const builtin = await docker(['network', 'rm', 'bridge']);
    expect(builtin.stderr).toContain('bridge is a pre-defined network and cannot be removed');
    expect((await api(env.sock, 'DELETE', '/networks/bridge')).status).toBe(403);
    const ipOnDefault = await docker(['run', '--rm', '--ip', '172.31.0.9', 'busybox', 'true']);
    expect(ipOnDefault.stderr).toContain('user specified IP address is supported on user defined networks only');
    const noSuchContainer = await api(env.sock, 'POST', `/networks/${name}/connect`, { Container: 'no-such-container' });
    expect(noSuchContainer.status).toBe(404);
    expect(await ok(['network', 'ls', '-q'])).toBe(before.nets);
    expect(bridges()).toEqual(before.bridges);
    await ok(['network', 'rm', name]);
  }, 60000);

  it('networks persist across a berthd restart, and prune removes only unused ones', async () => {
    const used = uid('net');
    const idle = uid('net');
    const usedId = await ok(['network', 'create', '--label', 'prune=me', used]);
    const idleId = await ok(['network', 'create', '--label', 'prune=me', idle]);
    // A bridge lost while berthd was down (a reboot) is made again at start.
    await env.stopDaemon('SIGKILL');
    sh('ip', ['link', 'del', `br-${idleId.slice(0, 12)}`]);
    await env.startDaemon();
    expect(linkExists(`br-${idleId.slice(0, 12)}`)).toBe(true);
    const c = uid('c');
    await ok(['run', '-d', '--name', c, '--network', used, 'busybox', 'sleep', '300']);
    const ip = await ipOf(c, used);
    await env.restartDaemon('SIGKILL');
    expect(await ok(['network', 'inspect', '--format', '{{.Id}}', used])).toBe(usedId);
    expect(await ipOf(c, used)).toBe(ip);
    // A new container on the same network after the restart reaches the old one.
    const d = uid('d');
    await ok(['run', '-d', '--name', d, '--network', used, 'busybox', 'sleep', '300']);
    expect((await ping(d, ip)).code).toBe(0);
    const pruned = await ok(['network', 'prune', '-f', '--filter', 'label=prune=me']);
    expect(pruned).toContain(idle);
    expect(pruned).not.toContain(used);
    expect((await docker(['network', 'inspect', idle])).code).not.toBe(0);
    expect(linkExists(`br-${idleId.slice(0, 12)}`)).toBe(false);
    await ok(['rm', '-f', c, d]);
    expect(await ok(['network', 'prune', '-f', '--filter', 'label=prune=me'])).toContain(used);
    expect(linkExists(`br-${usedId.slice(0, 12)}`)).toBe(false);
  }, 120000);
});
