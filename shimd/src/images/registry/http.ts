// Minimal HTTP(S) for the registry client: node's http/https (streams both ways),
// redirects followed by hand (Authorization is dropped when the host changes, as
// registries redirect blob reads to storage). HTTPS is verified against the operating
// system's trust store, read as Go and OpenSSL read it: SSL_CERT_FILE replaces the
// system bundle file and SSL_CERT_DIR (colon-separated) adds certificate dirs. Node's
// own bundled roots are used only where the system has no bundle.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
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
  /** HTTPS without certificate verification (an insecure registry). */
  insecureTls?: boolean;
}

export const SYSTEM_CA_FILES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

let caCache: { key: string; cas: string[] } | undefined;

/** The trusted CA certificates (PEM texts): SSL_CERT_FILE or the system bundle, plus SSL_CERT_DIR. */
export function trustedCAs(env: NodeJS.ProcessEnv = process.env): string[] {
  const key = `${env.SSL_CERT_FILE ?? ''}\0${env.SSL_CERT_DIR ?? ''}`;
  if (caCache?.key === key) return caCache.cas;
  const cas: string[] = [];
  const file = env.SSL_CERT_FILE || SYSTEM_CA_FILES.find((f) => existsSync(f));
  if (file) {
    try {
      cas.push(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ImageError('FailedPrecondition', `CA bundle ${file} (SSL_CERT_FILE) cannot be read: ${(e as Error).message}`);
    }
  }
  for (const d of (env.SSL_CERT_DIR ?? '').split(':').filter(Boolean)) {
    let names: string[] = [];
    try {
      names = readdirSync(d);
    } catch {
      continue; // OpenSSL skips a missing dir too
    }
    for (const n of names.sort()) {
      const p = join(d, n);
      try {
        if (!statSync(p).isFile()) continue;
        const text = readFileSync(p, 'utf8');
        if (text.includes('-----BEGIN CERTIFICATE-----')) cas.push(text);
      } catch {
        // unreadable entry: skipped
      }
    }
  }
  if (cas.length === 0) cas.push(...rootCertificates);
  caCache = { key, cas };
  return cas;
}

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const httpsAgents = new Map<string, https.Agent>();

function httpsAgent(insecure: boolean): https.Agent {
  const cas = insecure ? undefined : trustedCAs();
  const key = insecure ? 'insecure' : `verify\0${caCache?.key ?? ''}`;
  let a = httpsAgents.get(key);
  if (!a) {
    a = new https.Agent({ keepAlive: true, maxSockets: 16, ...(insecure ? { rejectUnauthorized: false } : { ca: cas }) });
    httpsAgents.set(key, a);
  }
  return a;
}

const CERT_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Turns a connection error into an ImageError: certificate problems are not retried. */
export function connectionError(url: URL, method: string, e: Error & { code?: string }): ImageError {
  const code = e.code ?? '';
  if (CERT_ERRORS.has(code)) {
    return new ImageError(
      'FailedPrecondition',
      `${url.host}: TLS certificate not trusted (${code}: ${e.message}): add its CA to the system trust store or to SSL_CERT_FILE / SSL_CERT_DIR, or list ${url.host} as an insecure registry`,
      { cause: e },
    );
  }
  if (url.protocol === 'https:' && (code === 'EPROTO' || code.startsWith('ERR_SSL'))) {
    // OpenSSL's "wrong version number": the server answered the ClientHello in plain text.
    const why = /wrong version number|packet length too long|http request/i.test(e.message) ? 'the server speaks plain http' : (e.message.split('\n')[0] ?? '').trim();
    return new ImageError('FailedPrecondition', `${url.host}: TLS handshake failed (${why}); a plain-http registry must be listed as an insecure registry`, { cause: e });
  }
  return new ImageError('Unavailable', `${method} ${url}: ${e.message}`, { cause: e });
}

function once(url: URL, opts: HttpOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    const method = opts.method ?? 'GET';
    let agent: http.Agent;
    try {
      agent = isHttps ? httpsAgent(!!opts.insecureTls) : httpAgent;
    } catch (e) {
      reject(e);
      return;
    }
    const mod = isHttps ? https : http;
    const req = mod.request(url, { method, headers: { 'user-agent': 'berth/0.1', ...(opts.headers ?? {}) }, agent }, (res) =>
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url: url.toString() }),
    );
    req.setTimeout(opts.timeoutMs ?? 60_000, () => req.destroy(new ImageError('Unavailable', `${method} ${url.host}: timed out`)));
    req.on('error', (e) => reject(e instanceof ImageError ? e : connectionError(url, method, e)));
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
