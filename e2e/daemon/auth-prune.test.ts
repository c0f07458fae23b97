// docker login against berthd (POST /auth) with Debian's docker-registry using
// htpasswd basic auth and token auth, and docker system prune (POST /build/prune).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { startRegistry } from '../images/registry.js';
import { api, DOCKER, type Env, startEnv, uid } from './harness.js';

const HAVE_REGISTRY = existsSync('/usr/bin/docker-registry');

describe.skipIf(!isRoot || !existsSync(DOCKER))('berthd: docker login and system prune', () => {
  let env: Env;
  const stops: (() => Promise<void>)[] = [];
  const dirs: string[] = [];
  beforeAll(async () => {
    env = await startEnv();
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
  });
  afterAll(async () => {
    await env?.stop();
    for (const s of stops) await s().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const registry = async (kind: 'basic' | 'token', username: string, password: string) => {
    const dir = mkdtempSync(join(tmpdir(), `daemon-auth-${kind}-`));
    dirs.push(dir);
    const r = await startRegistry(dir, { kind, username, password });
    stops.push(r.stop);
    return r;
  };
  const storedAuths = (): Record<string, { auth?: string }> => {
    const file = join(env.dir, 'docker-config', 'config.json');
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')).auths ?? {}) : {};
  };

  it.skipIf(!HAVE_REGISTRY)('logs in to an htpasswd registry, refuses a wrong password with 401, and pushes with the stored credentials', async () => {
    const reg = await registry('basic', 'daemon-user', 'daemon-s3cret');
    const bad = await env.docker(['login', '-u', 'daemon-user', '--password-stdin', reg.host], { input: 'wrong-password\n' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(`login attempt to http://${reg.host}/v2/ failed with status: 401 Unauthorized`);
    expect(storedAuths()[reg.host]).toBeUndefined();
    // The API answer itself: 401 and Docker's message.
    const raw = await api(env.sock, 'POST', '/v1.51/auth', { username: 'daemon-user', password: 'nope', serveraddress: reg.host });
    expect(raw.status).toBe(401);
    expect(raw.json.message).toMatch(/failed with status: 401 Unauthorized/);

    const ok = await env.docker(['login', '-u', 'daemon-user', '--password-stdin', reg.host], { input: 'daemon-s3cret\n' });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Login Succeeded');
    expect(Buffer.from(storedAuths()[reg.host]?.auth ?? '', 'base64').toString()).toBe('daemon-user:daemon-s3cret');
    const good = await api(env.sock, 'POST', '/auth', { username: 'daemon-user', password: 'daemon-s3cret', serveraddress: `http://${reg.host}` });
    expect(good).toEqual({ status: 200, json: { Status: 'Login Succeeded', IdentityToken: '' } });

    // docker push sends the stored credentials as X-Registry-Auth.
    const ref = `${reg.host}/daemon/${uid('auth')}:v1`;
    expect((await env.docker(['tag', 'busybox', ref])).code).toBe(0);
    const push = await env.docker(['push', ref]);
    expect(push.stderr).toBe('');
    expect(push.stdout).toMatch(/v1: digest: sha256:[0-9a-f]{64}/);
    expect((await env.docker(['rmi', ref])).code).toBe(0);
    expect((await env.docker(['logout', reg.host])).code).toBe(0);
  });

  it.skipIf(!HAVE_REGISTRY)('logs in to a token-auth registry through the bearer challenge, and reports the token server refusing', async () => {
    const reg = await registry('token', 'daemon-tok', 'daemon-tok-pass');
    const bad = await env.docker(['login', '-u', 'daemon-tok', '--password-stdin', reg.host], { input: 'wrong\n' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/failed with status: 401 Unauthorized: bad credentials/);
    const ok = await env.docker(['login', '-u', 'daemon-tok', '--password-stdin', reg.host], { input: 'daemon-tok-pass\n' });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Login Succeeded');
    expect(reg.tokensIssued).toContain('daemon-tok ');
    expect((await env.docker(['logout', reg.host])).code).toBe(0);
  });

  it('a malformed AuthConfig or an unreachable registry is a clear error', async () => {
    const notObject = await api(env.sock, 'POST', '/auth', ['x']);
    expect(notObject.status).toBe(400);
    expect(notObject.json.message).toMatch(/AuthConfig/);
    const badType = await api(env.sock, 'POST', '/auth', { username: 5, serveraddress: '127.0.0.1:1' });
    expect(badType.status).toBe(400);
    expect(badType.json.message).toMatch(/username must be a string/);
    const down = await env.docker(['login', '-u', 'x', '--password-stdin', '127.0.0.1:1'], { input: 'y\n' });
    expect(down.code).not.toBe(0);
    expect(down.stderr).toContain('cannot reach registry https://127.0.0.1:1 or http://127.0.0.1:1');
  });

  it('docker system prune -f removes stopped containers and reports an empty build cache', async () => {
    const keep = uid();
    const gone = uid();
    expect((await env.docker(['run', '-d', '--name', keep, 'busybox', 'sleep', '300'])).code).toBe(0);
    expect((await env.docker(['run', '--name', gone, 'busybox', 'true'])).code).toBe(0);
    const prune = await env.docker(['system', 'prune', '-f']);
    expect(prune.stderr).toBe('');
    expect(prune.code).toBe(0);
    expect(prune.stdout).toContain('Total reclaimed space:');
    const left = (await env.docker(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n');
    expect(left).toContain(keep);
    expect(left).not.toContain(gone);
    expect(await api(env.sock, 'POST', '/v1.51/build/prune', {})).toEqual({ status: 200, json: { CachesDeleted: null, SpaceReclaimed: 0 } });
    expect((await env.docker(['rm', '-f', keep])).code).toBe(0);
  });
});
