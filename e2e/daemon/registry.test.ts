// docker push and pull through berthd (berth-shimd's registry client) against a
// local docker-registry on 127.0.0.1.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { type Registry, startRegistry } from '../images/registry.js';
import { DOCKER, type Env, startEnv, uid } from './harness.js';

const HAVE_REGISTRY = existsSync('/usr/bin/docker-registry');

describe.skipIf(!isRoot || !existsSync(DOCKER) || !HAVE_REGISTRY)('berthd: push and pull with a local registry', () => {
  let env: Env;
  let registry: Registry | undefined;
  let regDir: string;
  beforeAll(async () => {
    regDir = mkdtempSync(join(tmpdir(), 'daemon-registry-'));
    registry = await startRegistry(regDir);
    env = await startEnv();
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
  });
  afterAll(async () => {
    await env?.stop();
    await registry?.stop();
    rmSync(regDir, { recursive: true, force: true });
  });

  it('pushes, removes, pulls back and runs the pulled image', async () => {
    const ref = `${registry!.host}/daemon/${uid('img')}:v1`;
    expect((await env.docker(['tag', 'busybox', ref])).code).toBe(0);
    const push = await env.docker(['push', ref]);
    expect(push.stderr).toBe('');
    expect(push.stdout).toMatch(/v1: digest: sha256:[0-9a-f]{64} size: \d+/);
    expect((await env.docker(['rmi', ref])).code).toBe(0);
    const pull = await env.docker(['pull', ref]);
    expect(pull.stderr).toBe('');
    expect(pull.stdout).toMatch(/Digest: sha256:[0-9a-f]{64}/);
    expect(pull.stdout).toContain(`Status: `);
    const run = await env.docker(['run', '--rm', ref, 'echo', 'pulled']);
    expect(run.stdout).toBe('pulled\n');
    expect((await env.docker(['rmi', ref])).code).toBe(0);
  });

  it('reports a missing repository as an error', async () => {
    const r = await env.docker(['pull', `${registry!.host}/daemon/no-such-repo:v1`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).not.toBe('');
    expect((await env.docker(['images', '-q', `${registry!.host}/daemon/no-such-repo`])).stdout).toBe('');
  });
});
