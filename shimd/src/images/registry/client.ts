// A client for the OCI distribution spec / Docker Registry HTTP API v2: plain http for
// loopback hosts and the insecure list, https otherwise; auth from the 401 challenge:
// Bearer (token from the realm, anonymous or with credentials) or Basic.
import type { Readable } from 'node:stream';
import { ImageError } from '../errors.js';
import { type HttpResponse, readBody, request } from './http.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface RegistryOptions {
  /** Hosts (host[:port]) reached over plain http. */
  insecure?: string[];
  credentials?: Credentials;
  /** Overrides the scheme choice (tests). */
  scheme?: 'http' | 'https';
}

export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return { scheme: '', params: {} };
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = re.exec(m[2]); p; p = re.exec(m[2])) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme: m[1].toLowerCase(), params };
}

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

export class RegistryClient {
  readonly host: string;
  readonly base: string;
  private readonly creds?: Credentials;
  private tokens = new Map<string, string>();
  private basic = false;

  constructor(host: string, opts: RegistryOptions = {}) {
    // docker.io's API lives on registry-1.docker.io.
    this.host = host === 'docker.io' ? 'registry-1.docker.io' : host;
    const scheme = opts.scheme ?? (isLoopback(host) || (opts.insecure ?? []).includes(host) ? 'http' : 'https');
    this.base = `${scheme}://${this.host}`;
    this.creds = opts.credentials;
  }

  private authHeader(scope: string): Record<string, string> {
    const t = this.tokens.get(scope);
    if (t) return { authorization: `Bearer ${t}` };
    if (this.basic && this.creds) return { authorization: `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64')}` };
    return {};
  }

  private async authenticate(res: HttpResponse, scope: string, sentBasic: boolean): Promise<void> {
    const header = res.headers['www-authenticate'];
    res.body.resume();
    const ch = parseChallenge(Array.isArray(header) ? header[0] : (header ?? ''));
    if (ch.scheme === 'basic') {
      if (!this.creds) throw new ImageError('Unauthenticated', `${this.host}: authentication required (basic): no credentials given`);
      if (sentBasic) throw new ImageError('Unauthenticated', `${this.host}: credentials for ${this.creds.username} were rejected`);
      this.basic = true;
      return;
    }
    if (ch.scheme === 'bearer') {
      if (!ch.params.realm) throw new ImageError('Unauthenticated', `${this.host}: bearer challenge without a realm`);
      const u = new URL(ch.params.realm);
      if (ch.params.service) u.searchParams.set('service', ch.params.service);
      for (const s of (ch.params.scope ?? scope).split(' ').filter(Boolean)) u.searchParams.append('scope', s);
      if (!ch.params.scope) for (const s of scope.split(' ').filter(Boolean)) if (!u.searchParams.getAll('scope').includes(s)) u.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (this.creds) headers.authorization = `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64')}`;
      const tr = await request(u.toString(), { headers });
      const body = await readBody(tr, 1 << 20);
      if (tr.status !== 200) {
        throw new ImageError('Unauthenticated', `${this.host}: token server ${u.host} answered ${tr.status}${this.creds ? ` for user ${this.creds.username}` : ''}: ${body.toString().slice(0, 200)}`);
      }
      const j = JSON.parse(body.toString('utf8')) as { token?: string; access_token?: string };
      const token = j.token ?? j.access_token;
      if (!token) throw new ImageError('Unauthenticated', `${this.host}: token server returned no token`);
      this.tokens.set(scope, token);
      return;
    }
    throw new ImageError('Unauthenticated', `${this.host}: unsupported authentication challenge ${JSON.stringify(header ?? '')}`);
  }

  /**
   * Sends a request, answering one auth challenge. A stream body cannot be replayed,
   * so callers send those only after a buffered request has established auth.
   */
  async fetch(pathOrUrl: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | Readable; scope: string; follow?: boolean }): Promise<HttpResponse> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.base}${pathOrUrl}`;
    for (let attempt = 0; ; attempt++) {
      const auth = this.authHeader(opts.scope);
      const res = await request(url, { method: opts.method, headers: { ...auth, ...(opts.headers ?? {}) }, body: opts.body, follow: opts.follow });
      if (res.status !== 401 || attempt > 0) {
        if (res.status === 401) {
          res.body.resume();
          throw new ImageError('Unauthenticated', `${this.host}: ${opts.method ?? 'GET'} ${new URL(url).pathname}: unauthorized${this.creds ? ` (user ${this.creds.username})` : ' (no credentials)'}`);
        }
        return res;
      }
      if (opts.body && !Buffer.isBuffer(opts.body)) {
        res.body.resume();
        throw new ImageError('Unauthenticated', `${this.host}: unauthorized for a streamed upload`);
      }
      await this.authenticate(res, opts.scope, auth.authorization?.startsWith('Basic ') ?? false);
    }
  }

  /** Fails with a message built from the registry's error JSON. */
  async fail(res: HttpResponse, what: string): Promise<never> {
    const body = await readBody(res, 1 << 20).catch(() => Buffer.alloc(0));
    let detail = body.toString('utf8').slice(0, 300);
    try {
      const j = JSON.parse(detail) as { errors?: Array<{ code: string; message: string }> };
      if (j.errors?.length) detail = j.errors.map((e) => `${e.code}: ${e.message}`).join('; ');
    } catch {
      // not JSON
    }
    const kind = res.status === 404 ? 'NotFound' : res.status === 401 || res.status === 403 ? 'PermissionDenied' : res.status >= 500 ? 'Unavailable' : 'FailedPrecondition';
    throw new ImageError(kind, `${this.host}: ${what}: HTTP ${res.status}${detail ? `: ${detail}` : ''}`);
  }
}
