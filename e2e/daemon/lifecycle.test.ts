// The container path from the real docker CLI through berthd and berth-shimd to a
// real container (runc unless BERTH_TEST_RUNTIME names another runtime).
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { DOCKER, type Env, startEnv, uid } from './harness.js';

describe.skipIf(!isRoot || !existsSync(DOCKER))('berthd: docker CLI → berthd → berth-shimd → container', () => {
  let env: Env;

  beforeAll(async () => {
    env = await startEnv();
    const load = await env.docker(['load', '-i', fixtures().dockerArchive]);
    expect(load.stderr).toBe('');
    expect(load.stdout).toBe('Loaded image: busybox:latest\n');
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('docker version and info talk to berthd', async () => {
    const v = await env.docker(['version', '--format', '{{.Server.APIVersion}}']);
    expect(v.stdout.trim()).toBe('1.51');
    const info = await env.docker(['info', '--format', '{{.Images}} {{.OSType}}']);
    expect(info.stdout.trim()).toBe('1 linux');
  });

  it('docker images shows the loaded image', async () => {
    const r = await env.docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    expect(r.stdout.trim()).toBe(`busybox:latest ${fixtures().configDigest.slice(7, 19)}`);
  });

  it('docker run --rm busybox echo hello', async () => {
    const r = await env.docker(['run', '--rm', 'busybox', 'echo', 'hello']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello\n');
    expect(r.code).toBe(0);
    expect((await env.docker(['ps', '-aq'])).stdout).toBe('');
  });

  it('passes exit codes, stderr, env, workdir and user', async () => {
    const r = await env.docker(['run', '--rm', '-e', 'GREETING=hi', '-w', '/tmp', '-u', '1000:1000', 'busybox', 'sh', '-c', 'echo $GREETING $(pwd) $(id -u):$(id -g); echo oops >&2; exit 7']);
    expect(r.stdout).toBe('hi /tmp 1000:1000\n');
    expect(r.stderr).toBe('oops\n');
    expect(r.code).toBe(7);
  });

  it('run -d, ps, logs, inspect, exec, stop, rm', async () => {
    const name = uid();
    const run = await env.docker(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'echo started; exec sleep 300']);
    expect(run.stderr).toBe('');
    const id = run.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const ps = await env.docker(['ps', '--format', '{{.ID}} {{.Names}} {{.Command}}']);
    expect(ps.stdout).toContain(`${id.slice(0, 12)} ${name} "sh -c 'echo started…"`);
    const insp = await env.docker(['inspect', '--format', '{{.State.Status}} {{.State.Running}} {{.Config.Hostname}}', name]);
    expect(insp.stdout.trim()).toBe(`running true ${id.slice(0, 12)}`);
    const pid = Number((await env.docker(['inspect', '--format', '{{.State.Pid}}', name])).stdout.trim());
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    let logs = await env.docker(['logs', name]);
    for (let i = 0; i < 50 && logs.stdout === ''; i++) {
      await new Promise((r) => setTimeout(r, 100));
      logs = await env.docker(['logs', name]);
    }
    expect(logs.stdout).toBe('started\n');
    const ex = await env.docker(['exec', name, 'sh', '-c', 'echo in-exec $(hostname); echo exec-err >&2; exit 3']);
    expect(ex.stdout).toBe(`in-exec ${id.slice(0, 12)}\n`);
    expect(ex.stderr).toBe('exec-err\n');
    expect(ex.code).toBe(3);
    const stop = await env.docker(['stop', '-t', '1', name]);
    expect(stop.stdout.trim()).toBe(name);
    const after = await env.docker(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name]);
    expect(after.stdout.trim()).toBe('exited 137');
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect((await env.docker(['rm', name])).code).toBe(0);
    expect((await env.docker(['ps', '-aq'])).stdout).toBe('');
  });

  it('kill and rm -f of a running container', async () => {
    const name = uid();
    expect((await env.docker(['run', '-d', '--name', name, 'busybox', 'sleep', '300'])).code).toBe(0);
    const k = await env.docker(['kill', name]);
    expect(k.stdout.trim()).toBe(name);
    expect((await env.docker(['inspect', '--format', '{{.State.ExitCode}}', name])).stdout.trim()).toBe('137');
    expect((await env.docker(['start', name])).code).toBe(0);
    expect((await env.docker(['rm', '-f', name])).code).toBe(0);
    const gone = await env.docker(['inspect', name]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain(`No such object: ${name}`);
  });

  it('docker wait returns the exit code', async () => {
    const id = (await env.docker(['run', '-d', 'busybox', 'sh', '-c', 'sleep 0.3; exit 4'])).stdout.trim();
    const w = await env.docker(['wait', id]);
    expect(w.stdout.trim()).toBe('4');
    expect((await env.docker(['rm', id])).code).toBe(0);
  });

  it('rejects unknown containers and images with Docker’s messages', async () => {
    const before = (await env.docker(['ps', '-aq'])).stdout;
    const r = await env.docker(['stop', 'daemon-no-such']);
    expect(r.stderr).toContain('No such container: daemon-no-such');
    const img = await env.docker(['run', '--rm', '--pull', 'never', 'daemon-no-such-image']);
    expect(img.code).not.toBe(0);
    expect(img.stderr).toContain('No such image: daemon-no-such-image:latest');
    expect((await env.docker(['ps', '-aq'])).stdout).toBe(before);
  });
});
