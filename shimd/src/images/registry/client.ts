// A client for the OCI distribution spec / Docker Registry HTTP API v2; auth from the
// 401 challenge: Bearer (token from the realm, anonymous or with credentials) or Basic.
//
// Scheme, as docker decides it: a registry is "insecure" when it is on a loopback
// address (127.0.0.0/8, ::1, localhost) or matches the insecure-registries list
// (host, host:port or a CIDR). An insecure registry is tried over HTTPS without
// certificate verification first and, when that connection fails (a plain-http
// server), over plain http. Every other registry is HTTPS only, verified against the
// system trust store (see http.ts), and a certificate problem is an error, never a
// fallback.
import { BlockList, isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { ImageError } from '../errors.js';
import { type HttpResponse, readBody, request } from './http.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface RegistryOptions {
  /** Insecure registries besides loopback ones: host, host:port or CIDR. */
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

function hostOnly(host: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (m) return m[1]!;
  return host.split(':').length === 2 ? host.replace(/:\d+$/, '') : host;
}

function isLoopback(host: string): boolean {
  const h = hostOnly(host);
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/** Whether host (host[:port]) is a loopback registry or matches the insecure list. */
export function isInsecureRegistry(host: string, list: string[] = []): boolean {
  if (isLoopback(host)) return true;
  const h = hostOnly(host);
  for (const entry of list) {
    const e = entry.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    if (!e) continue;
    if (e.includes('/')) {
      const [net, bits] = e.split('/');
      const family = isIP(net ?? '');
      if (!family || !isIP(h)) continue;
      const bl = new BlockList();
      try {
        bl.addSubnet(net!, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
      } catch {
        continue;
      }
      if (isIP(h) === family && bl.check(h, family === 6 ? 'ipv6' : 'ipv4')) return true;
    } else if (e === host || e === h) return true;
  }
  return false;
}

export class RegistryClient {
  readonly host: string;
  /** Whether this registry may be reached over plain http or unverified TLS. */
  readonly insecure: boolean;
  private scheme?: 'http' | 'https';
  private schemeProbe?: Promise<void>;
  private readonly creds?: Credentials;
  private tokens = new Map<string, string>();
  private basic = false;

  constructor(host: string, opts: RegistryOptions = {}) {
    // docker.io's API lives on registry-1.docker.io.
    this.host = host === 'docker.io' ? 'registry-1.docker.io' : host;
    this.insecure = isInsecureRegistry(host, opts.insecure);
    this.scheme = opts.scheme ?? (this.insecure ? undefined : 'https');
    this.creds = opts.credentials;
  }

  /** The registry's base URL (https until an insecure registry's probe says otherwise). */
  get base(): string {
    return `${this.scheme ?? 'https'}://${this.host}`;
  }

  /** For an insecure registry: HTTPS (unverified) if it answers, else plain http. */
  private resolveScheme(): Promise<void> {
    if (this.scheme) return Promise.resolve();
    this.schemeProbe ??= (async () => {
      try {
        const res = await request(`https://${this.host}/v2/`, { insecureTls: true, follow: false, timeoutMs: 15_000 });
        res.body.resume();
        this.scheme = 'https';
      } catch {
        this.scheme = 'http';
      }
    })();
    return this.schemeProbe;
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
    await this.resolveScheme();
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.base}${pathOrUrl}`;
    for (let attempt = 0; ; attempt++) {
      const auth = this.authHeader(opts.scope);
      const res = await request(url, { method: opts.method, headers: { ...auth, ...(opts.headers ?? {}) }, body: opts.body, follow: opts.follow, insecureTls: this.insecure });
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
    const kind =
      res.status === 404 ? 'NotFound' : res.status === 401 || res.status === 403 ? 'PermissionDenied' : res.status >= 500 || res.status === 429 ? 'Unavailable' : 'FailedPrecondition';
    throw new ImageError(kind, `${this.host}: ${what}: HTTP ${res.status}${detail ? `: ${detail}` : ''}`);
  }
}
