import { describe, expect, it } from 'vitest';
import { DaemonError } from '../errors.js';
import { endpoints, parseChallenge, registryLogin } from './login.js';

type Call = { url: string; authorization?: string };

/** A recording fake registry: answers each request from `route`. */
function fakeFetch(route: (c: Call) => Response | Error): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const f = async (input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const c: Call = { url: String(input), authorization: headers.get('authorization') ?? undefined };
    calls.push(c);
    const r = route(c);
    if (r instanceof Error) throw r;
    return r;
  };
  return { fetch: f as typeof fetch, calls };
}

const basicOf = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('registry login', () => {
  it('picks endpoints as dockerd does: https first, http fallback only for loopback', () => {
    expect(endpoints('127.0.0.1:5000')).toEqual(['https://127.0.0.1:5000', 'http://127.0.0.1:5000']);
    expect(endpoints('localhost:5000/some/path')).toEqual(['https://localhost:5000', 'http://localhost:5000']);
    expect(endpoints('registry.example:443')).toEqual(['https://registry.example:443']);
    expect(endpoints('http://10.0.0.1:5000/v2/')).toEqual(['http://10.0.0.1:5000']);
    expect(endpoints(undefined)).toEqual(['https://registry-1.docker.io']);
    expect(endpoints('https://index.docker.io/v1/')).toEqual(['https://registry-1.docker.io']);
    expect(() => endpoints('bad host!')).toThrow(/invalid registry address/);
  });

  it('parses WWW-Authenticate challenges', () => {
    expect(parseChallenge('Bearer realm="http://t/token",service="reg \\"x\\""')).toEqual({ scheme: 'bearer', params: { realm: 'http://t/token', service: 'reg "x"' } });
    expect(parseChallenge('Basic realm=img')).toEqual({ scheme: 'basic', params: { realm: 'img' } });
    expect(parseChallenge(null)).toBeUndefined();
  });

  it('basic: sends the credentials after the challenge and answers Login Succeeded', async () => {
    const { fetch, calls } = fakeFetch((c) =>
      c.authorization === basicOf('u', 'p') ? new Response('{}') : new Response('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}', { status: 401, statusText: 'Unauthorized', headers: { 'www-authenticate': 'Basic realm="r"' } }),
    );
    expect(await registryLogin({ username: 'u', password: 'p', serveraddress: 'http://reg:5000' }, fetch)).toEqual({ Status: 'Login Succeeded', IdentityToken: '' });
    expect(calls.map((c) => [c.url, c.authorization])).toEqual([
      ['http://reg:5000/v2/', undefined],
      ['http://reg:5000/v2/', basicOf('u', 'p')],
    ]);
    const err = await registryLogin({ username: 'u', password: 'bad', serveraddress: 'http://reg:5000' }, fetch).catch((e) => e);
    expect(err).toBeInstanceOf(DaemonError);
    expect(err.kind).toBe('unauthorized');
    expect(err.message).toBe('login attempt to http://reg:5000/v2/ failed with status: 401 Unauthorized: authentication required');
  });

  it('bearer: gets a token from the realm with the credentials, returns the refresh token as IdentityToken', async () => {
    const { fetch, calls } = fakeFetch((c) => {
      if (c.url.startsWith('http://auth/token')) {
        return c.authorization === basicOf('u', 'p') ? Response.json({ token: 'T', refresh_token: 'R' }) : new Response('{"details":"bad credentials"}', { status: 401, statusText: 'Unauthorized' });
      }
      if (c.authorization === 'Bearer T') return new Response('{}');
      return new Response('', { status: 401, statusText: 'Unauthorized', headers: { 'www-authenticate': 'Bearer realm="http://auth/token",service="svc"' } });
    });
    expect(await registryLogin({ username: 'u', password: 'p', serveraddress: 'https://reg' }, fetch)).toEqual({ Status: 'Login Succeeded', IdentityToken: 'R' });
    const tokenUrl = new URL(calls[1]!.url);
    expect(Object.fromEntries(tokenUrl.searchParams)).toEqual({ service: 'svc', account: 'u', client_id: 'docker', offline_token: 'true' });
    expect(calls[2]).toEqual({ url: 'https://reg/v2/', authorization: 'Bearer T' });
    await expect(registryLogin({ username: 'u', password: 'x', serveraddress: 'https://reg' }, fetch)).rejects.toThrow(/failed with status: 401 Unauthorized: bad credentials/);
  });

  it('falls back from https to http on a loopback address, and says so when neither connects', async () => {
    const { fetch, calls } = fakeFetch((c) => (c.url.startsWith('https:') ? new Error('fetch failed', { cause: new Error('wrong version number') }) : new Response('{}')));
    expect((await registryLogin({ serveraddress: '127.0.0.1:5000' }, fetch)).Status).toBe('Login Succeeded');
    expect(calls.map((c) => c.url)).toEqual(['https://127.0.0.1:5000/v2/', 'http://127.0.0.1:5000/v2/']);
    const down = fakeFetch(() => new Error('fetch failed', { cause: new Error('connect ECONNREFUSED') }));
    const err = await registryLogin({ serveraddress: 'localhost:1' }, down.fetch).catch((e) => e);
    expect(err.kind).toBe('unavailable');
    expect(err.message).toBe('cannot reach registry https://localhost:1 or http://localhost:1: connect ECONNREFUSED');
  });
});
