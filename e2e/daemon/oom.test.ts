// The OOM killer through berthd, as Docker documents it: a container whose memory
// limit is exceeded is killed (exit 137), `docker inspect` shows State.OOMKilled
// true, and `docker events` reports `container oom` before `container die`. A
// container that stays within its limit is not marked.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { DOCKER, type Env, startEnv, uid } from './harness.js';

const MEMORY_CGROUP = existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes') || existsSync('/sys/fs/cgroup/memory.max');

const LIMIT = '8m';

describe.skipIf(!isRoot || !existsSync(DOCKER) || !MEMORY_CGROUP)('berthd: OOM kills', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
  }, 120000);
  afterAll(async () => {
    await env?.stop();
  }, 60000);

  it('docker run --memory of a hog exits 137 with State.OOMKilled and an oom event', async () => {
    const name = uid('daemon-oom');
    // Follow events while the container runs.
    const events = spawn(DOCKER, ['events', '--filter', `container=${name}`, '--format', '{{.Type}} {{.Action}}'], {
      env: { ...process.env, DOCKER_HOST: `unix://${env.sock}`, DOCKER_CONFIG: join(env.dir, 'docker-config'), HOME: env.dir },
    });
    let seen = '';
    events.stdout.on('data', (d) => {
      seen += d;
    });
    try {
      // tail keeps one ever-growing line of /dev/zero in memory. berth-runtime's Node
      // init stage joins the container's cgroup only once it has booted, so its
      // start-up memory is not charged to the 8 MB limit.
      const run = await env.docker(['run', '--name', name, '--network', 'none', '--memory', LIMIT, 'busybox', 'tail', '/dev/zero'], { timeoutMs: 60000 });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(137);
      const inspect = async () => (await env.docker(['inspect', '--format', '{{.State.OOMKilled}} {{.State.ExitCode}} {{.State.Status}}', name])).stdout.trim();
      // The oom event travels apart from the exit: allow it a moment to land.
      for (let i = 0; i < 40 && (await inspect()) !== 'true 137 exited'; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await inspect()).toBe('true 137 exited');
      for (let i = 0; i < 40 && !seen.includes('container die'); i++) await new Promise((r) => setTimeout(r, 100));
      const lines = seen.split('\n').filter(Boolean);
      expect(lines).toContain('container oom');
      expect(lines.indexOf('container oom')).toBeLessThan(lines.indexOf('container die'));
      // Started again, it is killed again the same way.
      expect((await env.docker(['start', name])).code).toBe(0);
      expect((await env.docker(['wait', name])).stdout.trim()).toBe('137');
      expect((await env.docker(['rm', name])).code).toBe(0);
    } finally {
      events.kill();
    }
  }, 120000);

  it('a container within its limit is not OOMKilled', async () => {
    const name = uid('daemon-oom');
    const run = await env.docker(['run', '--name', name, '--network', 'none', '--memory', LIMIT, 'busybox', 'sh', '-c', 'exit 3']);
    expect(run.code).toBe(3);
    expect((await env.docker(['inspect', '--format', '{{.State.OOMKilled}}', name])).stdout.trim()).toBe('false');
    expect((await env.docker(['rm', name])).code).toBe(0);
  }, 60000);
});
