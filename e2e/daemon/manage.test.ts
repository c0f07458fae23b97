// Managing containers and images through berthd: rename, pause, top, restart
// policies, a berthd restart with running containers, tag/rmi/save.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { DOCKER, type Env, startEnv, uid } from './harness.js';

async function until(check: () => Promise<boolean>, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe.skipIf(!isRoot || !existsSync(DOCKER))('berthd: managing containers and images', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('rename, pause/unpause, top', async () => {
    const a = uid();
    const b = uid();
    expect((await env.docker(['run', '-d', '--name', a, 'busybox', 'sleep', '300'])).code).toBe(0);
    expect((await env.docker(['rename', a, b])).code).toBe(0);
    expect((await env.docker(['inspect', '--format', '{{.Name}}', b])).stdout.trim()).toBe(`/${b}`);
    expect((await env.docker(['inspect', a])).code).not.toBe(0);
    const top = await env.docker(['top', b]);
    expect(top.stdout).toMatch(/PID/);
    expect(top.stdout).toContain('sleep 300');
    expect((await env.docker(['pause', b])).code).toBe(0);
    expect((await env.docker(['ps', '--filter', `name=${b}`, '--format', '{{.Status}}'])).stdout).toMatch(/\(Paused\)/);
    expect((await env.docker(['unpause', b])).code).toBe(0);
    expect((await env.docker(['inspect', '--format', '{{.State.Status}}', b])).stdout.trim()).toBe('running');
    expect((await env.docker(['rm', '-f', b])).code).toBe(0);
  });

  it('restart policy on-failure:2 restarts twice, then stays exited', async () => {
    const name = uid();
    expect((await env.docker(['run', '-d', '--name', name, '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo run; exit 3'])).code).toBe(0);
    const done = await until(async () => {
      const r = await env.docker(['inspect', '--format', '{{.RestartCount}} {{.State.Status}}', name]);
      return r.stdout.trim() === '2 exited';
    });
    expect(done).toBe(true);
    expect((await env.docker(['logs', name])).stdout).toBe('run\nrun\nrun\n');
    expect((await env.docker(['rm', name])).code).toBe(0);
  });

  it('docker restart and start of a stopped container', async () => {
    const name = uid();
    expect((await env.docker(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'echo hi; exec sleep 300'])).code).toBe(0);
    const pid1 = (await env.docker(['inspect', '--format', '{{.State.Pid}}', name])).stdout.trim();
    expect((await env.docker(['restart', '-t', '0', name])).code).toBe(0);
    const pid2 = (await env.docker(['inspect', '--format', '{{.State.Pid}} {{.State.Status}}', name])).stdout.trim();
    expect(pid2).toMatch(/^\d+ running$/);
    expect(pid2.split(' ')[0]).not.toBe(pid1);
    expect((await env.docker(['rm', '-f', name])).code).toBe(0);
  });

  it('containers keep running across a berthd restart, and stay manageable', async () => {
    const name = uid();
    expect((await env.docker(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'echo before; exec sleep 300'])).code).toBe(0);
    const pid = Number((await env.docker(['inspect', '--format', '{{.State.Pid}}', name])).stdout.trim());
    await env.restartDaemon('SIGKILL');
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    expect((await env.docker(['inspect', '--format', '{{.State.Status}} {{.State.Pid}}', name])).stdout.trim()).toBe(`running ${pid}`);
    expect((await env.docker(['logs', name])).stdout).toBe('before\n');
    expect((await env.docker(['exec', name, 'echo', 'after'])).stdout).toBe('after\n');
    expect((await env.docker(['stop', '-t', '0', name])).code).toBe(0);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect((await env.docker(['inspect', '--format', '{{.State.Status}}', name])).stdout.trim()).toBe('exited');
    expect((await env.docker(['rm', name])).code).toBe(0);
  });

  it('events, stats --no-stream, system df', async () => {
    const name = uid();
    const since = Math.floor(Date.now() / 1000) - 1;
    expect((await env.docker(['run', '-d', '--name', name, '--memory', '64m', 'busybox', 'sleep', '300'])).code).toBe(0);
    const stats = await env.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}}', name]);
    expect(stats.stdout.trim()).toMatch(new RegExp(`^${name} [0-9.]+[KMG]?i?B / 64MiB 1$`));
    expect((await env.docker(['rm', '-f', name])).code).toBe(0);
    const ev = await env.docker(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `container=${name}`, '--format', '{{.Action}}']);
    expect(ev.stdout.split('\n').filter(Boolean)).toEqual(['create', 'start', 'kill', 'die', 'destroy']);
    const df = await env.docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
    expect(df.stdout).toContain('Images 1');
  });

  it('docker cp both ways, and container prune', async () => {
    const name = uid();
    expect((await env.docker(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'mkdir -p /srv/d; echo inside > /srv/d/f; exec sleep 300'])).code).toBe(0);
    const out = join(env.dir, 'cp-out');
    let cp = await env.docker(['cp', `${name}:/srv/d`, out]);
    for (let i = 0; i < 20 && cp.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      cp = await env.docker(['cp', `${name}:/srv/d`, out]);
    }
    expect(cp.stderr).toBe('');
    expect(readFileSync(join(out, 'f'), 'utf8')).toBe('inside\n');
    writeFileSync(join(env.dir, 'to-container'), 'from-host\n');
    expect((await env.docker(['cp', join(env.dir, 'to-container'), `${name}:/tmp/`])).code).toBe(0);
    expect((await env.docker(['exec', name, 'cat', '/tmp/to-container'])).stdout).toBe('from-host\n');
    const missing = await env.docker(['cp', `${name}:/no/such`, out]);
    expect(missing.stderr).toContain('Could not find the file /no/such in container');
    expect((await env.docker(['stop', '-t', '0', name])).code).toBe(0);
    const prune = await env.docker(['container', 'prune', '-f']);
    expect(prune.stdout).toContain('Deleted Containers:');
    expect((await env.docker(['inspect', name])).code).not.toBe(0);
  });

  it('image tag, save, rmi', async () => {
    const tag = `daemon-test/${uid('img')}:v1`;
    expect((await env.docker(['tag', 'busybox', tag])).code).toBe(0);
    const imgs = await env.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    expect(imgs.stdout.split('\n')).toContain(tag);
    const out = join(env.dir, 'saved.tar');
    const save = await env.docker(['save', '-o', out, tag]);
    expect(save.stderr).toBe('');
    expect(statSync(out).size).toBeGreaterThan(100_000);
    const rmi = await env.docker(['rmi', tag]);
    expect(rmi.stdout.trim()).toBe(`Untagged: ${tag}`);
    const name = uid();
    expect((await env.docker(['create', '--name', name, 'busybox', 'true'])).code).toBe(0);
    const busy = await env.docker(['rmi', 'busybox']);
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toMatch(/conflict: unable to remove repository reference "busybox" \(must force\) - container [0-9a-f]{12} is using its referenced image/);
    expect((await env.docker(['rm', name])).code).toBe(0);
  });
});
