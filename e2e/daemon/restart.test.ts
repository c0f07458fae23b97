// Restart policies across container exits and berthd restarts, and live restore:
// berthd (and berth-shimd) killed with SIGKILL while containers run.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { DOCKER, type Env, startEnv, uid } from './harness.js';

async function until(check: () => Promise<boolean>, tries = 150): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe.skipIf(!isRoot || !existsSync(DOCKER))('berthd: restart policies and live restore', () => {
  let env: Env;
  const state = async (name: string) => (await env.docker(['inspect', '--format', '{{.State.Status}} {{.State.Pid}} {{.RestartCount}}', name])).stdout.trim();
  const pidOf = async (name: string) => Number((await state(name)).split(' ')[1]);

  beforeAll(async () => {
    env = await startEnv();
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('always restarts a container that exits, and docker stop keeps it stopped', async () => {
    const name = uid();
    expect((await env.docker(['run', '-d', '--name', name, '--restart', 'always', 'busybox', 'sh', '-c', 'echo up; sleep 0.2; exit 1'])).code).toBe(0);
    expect(await until(async () => Number((await state(name)).split(' ')[2]) >= 2)).toBe(true);
    expect((await env.docker(['inspect', '--format', '{{.HostConfig.RestartPolicy.Name}}', name])).stdout.trim()).toBe('always');
    expect((await env.docker(['stop', '-t', '0', name])).code).toBe(0);
    const count = (await state(name)).split(' ')[2];
    expect((await state(name)).split(' ')[0]).toBe('exited');
    // A policy that still held would restart it within the backoff; it must not.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await state(name)).toBe(`exited 0 ${count}`);
    expect((await env.docker(['rm', name])).code).toBe(0);
  });

  it('no and on-failure leave a clean exit alone; bad policies are refused with Docker’s message', async () => {
    const name = uid();
    expect((await env.docker(['run', '-d', '--name', name, '--restart', 'on-failure', 'busybox', 'true'])).code).toBe(0);
    expect((await env.docker(['wait', name])).stdout.trim()).toBe('0');
    expect(await state(name)).toBe('exited 0 0');
    expect((await env.docker(['rm', name])).code).toBe(0);
    const before = (await env.docker(['ps', '-aq'])).stdout;
    const bad = await env.docker(['create', '--restart', 'sometimes', 'busybox', 'true']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("invalid restart policy");
    const rm = await env.docker(['create', '--rm', '--restart', 'always', 'busybox', 'true']);
    expect(rm.code).not.toBe(0);
    expect(rm.stderr).toMatch(/conflicting options: cannot specify both --restart and --rm|can't create 'AutoRemove' container with restart policy/);
    expect((await env.docker(['ps', '-aq'])).stdout).toBe(before);
  });

  it('after berthd is killed: running containers stay up, one that exited meanwhile is restarted, policies hold', async () => {
    const keep = uid();
    const dies = uid();
    const stopped = uid();
    const unless = uid();
    for (const [n, policy] of [
      [keep, 'always'],
      [dies, 'always'],
      [stopped, 'always'],
      [unless, 'unless-stopped'],
    ] as const) {
      expect((await env.docker(['run', '-d', '--name', n, '--restart', policy, 'busybox', 'sleep', '300'])).code).toBe(0);
    }
    expect((await env.docker(['stop', '-t', '0', stopped])).code).toBe(0);
    expect((await env.docker(['stop', '-t', '0', unless])).code).toBe(0);
    const keepPid = await pidOf(keep);
    const diesPid = await pidOf(dies);
    await env.stopDaemon('SIGKILL');
    process.kill(diesPid, 'SIGKILL');
    expect(await until(async () => !existsSync(`/proc/${diesPid}`))).toBe(true);
    await env.startDaemon();
    expect(await state(keep)).toBe(`running ${keepPid} 0`);
    expect(existsSync(`/proc/${keepPid}`)).toBe(true);
    expect(await until(async () => (await state(dies)).startsWith('running '))).toBe(true);
    const newPid = await pidOf(dies);
    expect(newPid).not.toBe(diesPid);
    expect(existsSync(`/proc/${newPid}`)).toBe(true);
    // Docker starts a stopped `always` container when the daemon starts, not an unless-stopped one.
    expect(await until(async () => (await state(stopped)).startsWith('running '))).toBe(true);
    expect((await state(unless)).split(' ')[0]).toBe('exited');
    expect((await env.docker(['rm', '-f', keep, dies, stopped, unless])).code).toBe(0);
  });

  it('live restore: berthd and berth-shimd killed together; inspect, logs, attach, exec and stop still work', async () => {
    const name = uid();
    const run = await env.docker(['run', '-d', '-i', '--name', name, 'busybox', 'sh', '-c', 'echo before; while read l; do echo "got $l"; done']);
    expect(run.code).toBe(0);
    const pid = await pidOf(name);
    expect(await until(async () => (await env.docker(['logs', name])).stdout === 'before\n')).toBe(true);
    await env.restartAll('SIGKILL');
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    expect(await state(name)).toBe(`running ${pid} 0`);
    expect((await env.docker(['logs', name])).stdout).toBe('before\n');
    const ex = await env.docker(['exec', name, 'sh', '-c', 'echo exec-ok; exit 2']);
    expect(ex.stdout).toBe('exec-ok\n');
    expect(ex.code).toBe(2);
    // attach: what we type reaches the container's stdin and its output comes back.
    const attach = env.docker(['attach', name], { input: 'after\n', timeoutMs: 15000 });
    expect(await until(async () => (await env.docker(['logs', name])).stdout.includes('got after\n'))).toBe(true);
    expect((await env.docker(['stop', '-t', '1', name])).code).toBe(0);
    const a = await attach;
    expect(a.stdout).toContain('got after\n');
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect((await state(name)).split(' ')[0]).toBe('exited');
    expect((await env.docker(['rm', name])).code).toBe(0);
  });
});
