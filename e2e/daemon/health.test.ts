// Healthchecks (inspect State.Health, docker ps status, health events), --init with
// Debian's static tini at /sbin/docker-init, and -u name resolved from the image's
// /etc/passwd and /etc/group.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { DOCKER, type Env, startEnv, uid } from './harness.js';

async function until(check: () => Promise<boolean>, tries = 300): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe.skipIf(!isRoot || !existsSync(DOCKER))('berthd: healthchecks, --init, -u name', () => {
  let env: Env;
  const health = async (name: string) => (await env.docker(['inspect', '--format', '{{.State.Health.Status}}', name])).stdout.trim();
  const psStatus = async (name: string) => (await env.docker(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}'])).stdout.trim();

  beforeAll(async () => {
    env = await startEnv();
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('a passing CMD-SHELL check: starting (failures in the start period do not count), then healthy in inspect, ps and events', async () => {
    const name = uid();
    const since = Math.floor(Date.now() / 1000) - 1;
    const run = await env.docker(['run', '-d', '--name', name, '--health-cmd', 'echo probe-out; test -e /tmp/ready', '--health-interval', '300ms', '--health-retries', '2', '--health-start-period', '20s', '--health-start-interval', '300ms', 'busybox', 'sh', '-c', 'sleep 3; touch /tmp/ready; exec sleep 300']);
    expect(run.code).toBe(0);
    expect(await health(name)).toBe('starting');
    expect(await psStatus(name)).toMatch(/^Up .* \(health: starting\)$/);
    expect(await until(async () => (await health(name)) === 'healthy')).toBe(true);
    expect(await psStatus(name)).toMatch(/^Up .* \(healthy\)$/);
    const log = JSON.parse((await env.docker(['inspect', '--format', '{{json .State.Health}}', name])).stdout);
    expect(log.FailingStreak).toBe(0);
    const last = log.Log[log.Log.length - 1];
    expect(last.ExitCode).toBe(0);
    expect(last.Output).toBe('probe-out\n');
    expect(log.Log.length).toBeLessThanOrEqual(5);
    const filtered = await env.docker(['ps', '--filter', 'health=healthy', '--format', '{{.Names}}']);
    expect(filtered.stdout.split('\n')).toContain(name);
    const ev = await env.docker(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `container=${name}`, '--filter', 'event=health_status', '--format', '{{.Action}}']);
    expect(ev.stdout.split('\n').filter(Boolean)).toContain('health_status: healthy');
    expect((await env.docker(['rm', '-f', name])).code).toBe(0);
  });

  it('a failing CMD check turns unhealthy after Retries; a timeout counts as a failure', async () => {
    const name = uid();
    expect((await env.docker(['run', '-d', '--name', name, '--health-cmd', 'sh -c "echo bad >&2; exit 1"', '--health-interval', '200ms', '--health-retries', '3', 'busybox', 'sleep', '300'])).code).toBe(0);
    expect(await until(async () => (await health(name)) === 'unhealthy')).toBe(true);
    expect(await psStatus(name)).toMatch(/^Up .* \(unhealthy\)$/);
    const h = JSON.parse((await env.docker(['inspect', '--format', '{{json .State.Health}}', name])).stdout);
    expect(h.FailingStreak).toBeGreaterThanOrEqual(3);
    expect(h.Log.at(-1)).toMatchObject({ ExitCode: 1, Output: 'bad\n' });
    expect((await env.docker(['rm', '-f', name])).code).toBe(0);

    const slow = uid();
    expect((await env.docker(['run', '-d', '--name', slow, '--health-cmd', 'sleep 5', '--health-interval', '200ms', '--health-timeout', '300ms', '--health-retries', '1', 'busybox', 'sleep', '300'])).code).toBe(0);
    expect(await until(async () => (await health(slow)) === 'unhealthy')).toBe(true);
    const hs = JSON.parse((await env.docker(['inspect', '--format', '{{json .State.Health}}', slow])).stdout);
    expect(hs.Log[0]).toMatchObject({ ExitCode: -1 });
    expect(hs.Log[0].Output).toContain('Health check exceeded timeout');
    expect((await env.docker(['rm', '-f', slow])).code).toBe(0);
  });

  it('--no-healthcheck and a container without a check have no State.Health; bad settings are refused', async () => {
    const name = uid();
    expect((await env.docker(['run', '-d', '--name', name, '--no-healthcheck', 'busybox', 'sleep', '300'])).code).toBe(0);
    expect((await env.docker(['inspect', '--format', '{{json .State.Health}}', name])).stdout.trim()).toBe('null');
    expect(await psStatus(name)).toMatch(/^Up [^()]*$/);
    expect((await env.docker(['rm', '-f', name])).code).toBe(0);
    const before = (await env.docker(['ps', '-aq'])).stdout;
    const bad = await env.docker(['create', '--health-cmd', 'true', '--health-retries', '-1', 'busybox', 'true']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--health-retries cannot be negative|Retries in Healthcheck cannot be negative/);
    expect((await env.docker(['ps', '-aq'])).stdout).toBe(before);
  });

  it('--init runs the command under tini as pid 1', async () => {
    const r = await env.docker(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; echo $$']);
    expect(r.stderr).toBe('');
    const [cmdline, shPid] = r.stdout.trim().split('\n');
    expect(cmdline!.startsWith('/sbin/docker-init -- sh -c')).toBe(true);
    expect(Number(shPid)).toBeGreaterThan(1);
    // Signals reach the command through the init: docker stop ends it at once.
    const name = uid();
    expect((await env.docker(['run', '-d', '--init', '--name', name, 'busybox', 'sleep', '300'])).code).toBe(0);
    expect((await env.docker(['inspect', '--format', '{{.HostConfig.Init}} {{.Path}}', name])).stdout.trim()).toBe('true sleep');
    expect((await env.docker(['stop', '-t', '10', name])).code).toBe(0);
    expect((await env.docker(['inspect', '--format', '{{.State.ExitCode}}', name])).stdout.trim()).toBe('143');
    expect((await env.docker(['rm', name])).code).toBe(0);
  });

  it('-u name and name:group come from the image; unknown names are refused', async () => {
    const r = await env.docker(['run', '--rm', '-u', 'user', 'busybox', 'sh', '-c', 'echo $(id -u):$(id -g) $(id -G) $HOME']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1000:1000 1000 100 /home/user\n');
    const g = await env.docker(['run', '--rm', '-u', 'nobody:users', 'busybox', 'sh', '-c', 'echo $(id -u):$(id -g)']);
    expect(g.stdout).toBe('65534:100\n');
    const num = await env.docker(['run', '--rm', '-u', '4242', 'busybox', 'sh', '-c', 'echo $(id -u):$(id -g)']);
    expect(num.stdout).toBe('4242:0\n');
    const name = uid();
    expect((await env.docker(['run', '-d', '--name', name, 'busybox', 'sleep', '300'])).code).toBe(0);
    expect((await env.docker(['exec', '-u', 'daemon', name, 'id', '-u'])).stdout).toBe('1\n');
    const badExec = await env.docker(['exec', '-u', 'nosuchuser', name, 'true']);
    expect(badExec.code).toBe(126);
    expect(badExec.stdout + badExec.stderr).toContain('unable to find user nosuchuser: no matching entries in passwd file');
    expect((await env.docker(['rm', '-f', name])).code).toBe(0);
    const before = (await env.docker(['ps', '-aq'])).stdout;
    const bad = await env.docker(['run', '--rm', '-u', 'nosuchuser', 'busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('unable to find user nosuchuser: no matching entries in passwd file');
    const badGroup = await env.docker(['create', '-u', 'user:nosuchgroup', 'busybox', 'true']);
    expect(badGroup.stderr).toContain('unable to find group nosuchgroup: no matching entries in group file');
    expect((await env.docker(['ps', '-aq'])).stdout).toBe(before);
  });
});
