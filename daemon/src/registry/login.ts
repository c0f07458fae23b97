// POST /auth's behaviour: check credentials against a registry's /v2/ the way dockerd
// does. The first answer's WWW-Authenticate challenge says how: Basic (send the
// credentials) or Bearer (get a token from the realm with them, then send that).
// An address without a scheme is tried over https; loopback registries, insecure by
// default as in dockerd, fall back to plain http when https cannot connect.
import { DaemonError, invalid, unavailable } from '../errors.js';

export interface AuthConfig {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

export interface LoginResult {
  Status: 'Login Succeeded';
  IdentityToken: string;
}

type Fetch = typeof fetch;

const DEFAULT_INDEX = 'https://index.docker.io/v1/';
const HUB_REGISTRY = 'https://registry-1.docker.io';

/** The registry's base URLs to try, in order, for an AuthConfig.serveraddress. */
export function endpoints(serverAddress: string | undefined): string[] {
  const addr = (serverAddress ?? '').trim();
  if (!addr || addr === DEFAULT_INDEX || /^(https?:\/\/)?(index\.)?docker\.io(\/.*)?$/.test(addr)) return [HUB_REGISTRY];
  const m = /^(https?):\/\/([^/]+)/.exec(addr);
  if (m) return [`${m[1]}://${m[2]}`];
  const host = addr.split('/')[0]!;
  if (!/^[A-Za-z0-9.\-[\]:]+$/.test(host)) throw invalid(`invalid registry address: ${JSON.stringify(addr)}`);
  return isLoopback(host) ? [`https://${host}`, `http://${host}`] : [`https://${host}`];
}

function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** `Bearer realm="…",service="…"` → scheme and parameters. */
export function parseChallenge(header: string | null): { scheme: string; params: Record<string, string> } | undefined {
  if (!header) return undefined;
  const m = /^\s*(\S+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

/** The registry's own words from an error body ({"errors":[{message}]} or {details}), if any. */
async function registryMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const o = JSON.parse(text);
    const msgs = Array.isArray(o?.errors) ? o.errors.map((e: { message?: string }) => e?.message).filter(Boolean) : [];
    if (msgs.length) return msgs.join(', ');
    if (typeof o?.details === 'string') return o.details;
    if (typeof o?.message === 'string') return o.message;
  } catch {
    // not JSON
  }
  return text.trim().split('\n')[0]!.slice(0, 200);
}

async function failed(url: string, res: Response): Promise<DaemonError> {
  const said = await registryMessage(res);
  const base = `login attempt to ${url} failed with status: ${res.status} ${res.statusText}`.trimEnd();
  return new DaemonError(res.status === 401 || res.status === 403 ? 'unauthorized' : 'internal', said ? `${base}: ${said}` : base);
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

async function loginAt(base: string, auth: AuthConfig, doFetch: Fetch): Promise<LoginResult> {
  const url = `${base}/v2/`;
  const first = await doFetch(url, { redirect: 'follow' });
  if (first.ok) {
    await first.body?.cancel();
    return { Status: 'Login Succeeded', IdentityToken: '' };
  }
  const challenge = first.status === 401 ? parseChallenge(first.headers.get('www-authenticate')) : undefined;
  if (!challenge) throw await failed(url, first);
  await first.body?.cancel();
  const user = auth.username ?? '';
  const pass = auth.password ?? '';
  let authorization: string;
  let identityToken = '';
  if (challenge.scheme === 'basic') {
    authorization = basic(user, pass);
  } else if (challenge.scheme === 'bearer') {
    const realm = challenge.params.realm;
    if (!realm) throw new DaemonError('internal', `login attempt to ${url} failed: bearer challenge without a realm`);
    const tokenUrl = new URL(realm);
    if (challenge.params.service) tokenUrl.searchParams.set('service', challenge.params.service);
    if (user) tokenUrl.searchParams.set('account', user);
    tokenUrl.searchParams.set('client_id', 'docker');
    tokenUrl.searchParams.set('offline_token', 'true');
    const headers: Record<string, string> = {};
    if (auth.identitytoken) tokenUrl.searchParams.set('refresh_token', auth.identitytoken);
    else if (user || pass) headers.authorization = basic(user, pass);
    const tr = await doFetch(tokenUrl, { headers });
    if (!tr.ok) throw await failed(tokenUrl.toString(), tr);
    const body = (await tr.json().catch(() => ({}))) as { token?: string; access_token?: string; refresh_token?: string };
    const token = body.token || body.access_token;
    if (!token) throw new DaemonError('internal', `login attempt to ${url} failed: the token server at ${tokenUrl.origin} sent no token`);
    authorization = `Bearer ${token}`;
    identityToken = body.refresh_token ?? '';
  } else {
    throw new DaemonError('internal', `login attempt to ${url} failed: unsupported authentication scheme ${JSON.stringify(challenge.scheme)}`);
  }
  const second = await doFetch(url, { headers: { authorization } });
  if (!second.ok) throw await failed(url, second);
  await second.body?.cancel();
  return { Status: 'Login Succeeded', IdentityToken: identityToken };
}

/** Check `auth` against its registry; throws DaemonError('unauthorized', …) on bad credentials. */
export async function registryLogin(auth: AuthConfig, doFetch: Fetch = fetch): Promise<LoginResult> {
  const bases = endpoints(auth.serveraddress);
  let lastErr: unknown;
  for (const base of bases) {
    try {
      return await loginAt(base, auth, doFetch);
    } catch (e) {
      if (e instanceof DaemonError) throw e;
      // Could not connect (refused, TLS handshake with a plain-http server…): next endpoint.
      lastErr = e;
    }
  }
  const cause = lastErr as { cause?: { message?: string }; message?: string } | undefined;
  throw unavailable(`cannot reach registry ${bases.join(' or ')}: ${cause?.cause?.message ?? cause?.message ?? 'unknown error'}`);
}
