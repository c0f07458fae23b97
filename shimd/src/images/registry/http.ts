// Minimal HTTP(S) for the registry client: node's http/https (streams both ways),
// redirects followed by hand (Authorization is dropped when the host changes, as
// registries redirect blob reads to storage), HTTPS verified with the system CA bundle
// plus Node's own roots.
import { existsSync, readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { ImageError } from '../errors.js';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  url: string;
}

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** Follow redirects (GET/HEAD); default true. */
  follow?: boolean;
  timeoutMs?: number;
}

const SYSTEM_CA_FILES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];
let caCache: string[] | undefined;
function systemCAs(): string[] {
  if (caCache) return caCache;
  const file = SYSTEM_CA_FILES.find((f) => existsSync(f));
  caCache = file ? [...rootCertificates, readFileSync(file, 'utf8')] : [...rootCertificates];
  return caCache;
}

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 16 }), https: undefined as https.Agent | undefined };

function once(url: URL, opts: HttpOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    if (isHttps && !agents.https) agents.https = new https.Agent({ keepAlive: true, maxSockets: 16, ca: systemCAs() });
    const mod = isHttps ? https : http;
    const req = mod.request(
      url,
      { method: opts.method ?? 'GET', headers: { 'user-agent': 'berth/0.1', ...(opts.headers ?? {}) }, agent: isHttps ? agents.https : agents.http },
      (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url: url.toString() }),
    );
    req.setTimeout(opts.timeoutMs ?? 60_000, () => req.destroy(new ImageError('Unavailable', `${opts.method ?? 'GET'} ${url.host}: timed out`)));
    req.on('error', (e) => reject(e instanceof ImageError ? e : new ImageError('Unavailable', `${opts.method ?? 'GET'} ${url}: ${e.message}`, { cause: e })));
    if (!opts.body) req.end();
    else if (Buffer.isBuffer(opts.body)) req.end(opts.body);
    else {
      opts.body.on('error', (e) => req.destroy(e));
      opts.body.pipe(req);
    }
  });
}

export async function request(url: string, opts: HttpOptions = {}): Promise<HttpResponse> {
  let u = new URL(url);
  let headers = { ...(opts.headers ?? {}) };
  for (let hops = 0; hops < 10; hops++) {
    const res = await once(u, { ...opts, headers });
    const loc = res.headers.location;
    const method = opts.method ?? 'GET';
    if (opts.follow !== false && loc && [301, 302, 303, 307, 308].includes(res.status) && (method === 'GET' || method === 'HEAD')) {
      res.body.resume();
      const next = new URL(loc, u);
      if (next.host !== u.host) {
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
      }
      u = next;
      continue;
    }
    return res;
  }
  throw new ImageError('Unavailable', `${url}: too many redirects`);
}

export async function readBody(res: HttpResponse, limit = 64 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res.body) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.body.destroy();
      throw new ImageError('InvalidArgument', `${res.url}: response larger than ${limit} bytes`);
    }
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}
