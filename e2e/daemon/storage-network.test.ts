// Volumes, bind mounts, tmpfs, and networking (CNI bridge with a published port,
// none, host) through berthd with the real docker CLI.
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { DOCKER, type Env, startEnv, uid } from './harness.js';

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
  });
}

const HAVE_CNI = existsSync('/usr/lib/cni/bridge') && existsSync('/usr/lib/cni/portmap') && existsSync('/usr/lib/cni/host-local');

describe.skipIf(!isRoot || !existsSync(DOCKER))('berthd: volumes and networks', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('a new named volume is filled from the image, persists, can be read-only', async () => {
    const vol = uid('vol');
    expect((await env.docker(['volume', 'create', '--label', 'owner=daemon-test', vol])).stdout.trim()).toBe(vol);
    const first = await env.docker(['run', '--rm', '-v', `${vol}:/etc`, 'busybox', 'sh', '-c', 'cat /etc/passwd | head -1; echo kept > /etc/mine']);
    expect(first.stdout).toBe('root:x:0:0:root:/root:/bin/sh\n');
    const second = await env.docker(['run', '--rm', '-v', `${vol}:/data:ro`, 'busybox', 'sh', '-c', 'cat /data/mine; touch /data/x']);
    expect(second.stdout).toBe('kept\n');
    expect(second.stderr).toContain('Read-only file system');
    const insp = await env.docker(['volume', 'inspect', '--format', '{{.Name}} {{.Driver}} {{.Labels.owner}}', vol]);
    expect(insp.stdout.trim()).toBe(`${vol} local daemon-test`);
    const ls = await env.docker(['volume', 'ls', '--filter', 'label=owner=daemon-test', '-q']);
    expect(ls.stdout.trim()).toBe(vol);
    const holder = uid();
    expect((await env.docker(['create', '--name', holder, '-v', `${vol}:/x`, 'busybox', 'true'])).code).toBe(0);
    const busy = await env.docker(['volume', 'rm', vol]);
    expect(busy.stderr).toContain(`remove ${vol}: volume is in use`);
    expect((await env.docker(['rm', holder])).code).toBe(0);
    expect((await env.docker(['volume', 'rm', vol])).stdout.trim()).toBe(vol);
    expect((await env.docker(['volume', 'inspect', vol])).code).not.toBe(0);
  });

  it('bind mounts and --mount type=tmpfs', async () => {
    const src = join(env.dir, 'bind-src');
    mkdirSync(src);
    writeFileSync(join(src, 'in'), 'from-host\n');
    const r = await env.docker(['run', '--rm', '-v', `${src}:/b`, '--mount', 'type=tmpfs,target=/scratch', 'busybox', 'sh', '-c', 'cat /b/in; echo back > /b/out; grep " /scratch " /proc/mounts | cut -d" " -f3']);
    expect(r.stdout).toBe('from-host\ntmpfs\n');
    expect(readFileSync(join(src, 'out'), 'utf8')).toBe('back\n');
    const bad = await env.docker(['run', '--rm', '--mount', `type=bind,source=${join(env.dir, 'missing')},target=/m`, 'busybox', 'true']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('bind source path does not exist');
  });

  it.skipIf(!HAVE_CNI)('bridge network: an address, /etc/hosts, and a published port', async () => {
    const name = uid();
    const port = 20000 + (process.pid % 20000);
    const run = await env.docker(['run', '-d', '--name', name, '-p', `${port}:80`, 'busybox', 'sh', '-c', 'echo served > /tmp/index.html; exec httpd -f -h /tmp -p 80']);
    expect(run.stderr).toBe('');
    const ip = (await env.docker(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', name])).stdout.trim();
    expect(ip.startsWith(env.subnet.split('.').slice(0, 3).join('.'))).toBe(true);
    const hosts = await env.docker(['exec', name, 'cat', '/etc/hosts']);
    expect(hosts.stdout).toContain(`${ip}\t`);
    const ps = await env.docker(['ps', '--filter', `name=${name}`, '--format', '{{.Ports}}']);
    expect(ps.stdout.trim()).toBe(`0.0.0.0:${port}->80/tcp`);
    // From another container, through the bridge, and through the published port on the host's address.
    // httpd may still be starting: retry a few times.
    let direct = await env.docker(['run', '--rm', 'busybox', 'wget', '-qO-', `http://${ip}/index.html`]);
    for (let i = 0; i < 10 && direct.stdout === ''; i++) {
      await new Promise((r) => setTimeout(r, 200));
      direct = await env.docker(['run', '--rm', 'busybox', 'wget', '-qO-', `http://${ip}/index.html`]);
    }
    expect(direct.stderr).toBe('');
    expect(direct.stdout).toBe('served\n');
    const hostAddr = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal && !a.address.startsWith('172.31.'))?.address;
    if (hostAddr) expect(await httpGet(`http://${hostAddr}:${port}/index.html`)).toBe('served\n');
    expect((await env.docker(['rm', '-f', name])).code).toBe(0);
  });

  it('network none has only loopback; host shares the host namespace', async () => {
    const none = await env.docker(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net']);
    expect(none.stdout.trim()).toBe('lo');
    const host = await env.docker(['run', '--rm', '--network', 'host', 'busybox', 'readlink', '/proc/self/ns/net']);
    expect(host.stdout.trim()).toBe(readlinkSync('/proc/self/ns/net'));
    const bad = await env.docker(['run', '--rm', '--network', 'daemon-no-such-net', 'busybox', 'true']);
    expect(bad.stderr).toContain('network daemon-no-such-net not found');
  });
});
