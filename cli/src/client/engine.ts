// A small Docker Engine API client: HTTP/1.1 over a unix socket (or tcp://), JSON
// bodies, raw streams, connection upgrade for attach/exec, and API version
// negotiation through /_ping the way the docker CLI does it.
import * as http from 'node:http';
import type { Duplex } from 'node:stream';

/** The newest API version this client speaks (docker CLI 28.2 speaks 1.50). */
export const CLIENT_API_VERSION = '1.50';
/** Versions older than this are refused by dockerd; below it we do not negotiate. */
const MIN_API_VERSION = '1.24';

export const DEFAULT_HOST = 'unix:///run/berth/berthd.sock';

/** An error the daemon returned with a status code and `{"message": ...}`. */
export class DaemonError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The daemon could not be reached at all. */
export class ConnectError extends Error {
  constructor(
    readonly host: string,
    readonly reason: Error,
  ) {
    super(`Cannot connect to the berth daemon at ${host}. Is the daemon running?`);
  }
}

export type Query = Record<string, string | number | boolean | string[] | undefined | null>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** A raw body (tar archives); sent as-is with its content type. */
  raw?: NodeJS.ReadableStream | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** Do not prefix the path with /vX.Y (for /_ping). */
  unversioned?: boolean;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

interface Endpoint {
  socketPath?: string;
  host?: string;
  port?: number;
}

export function parseHost(host: string): Endpoint {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  if (host.startsWith('/')) return { socketPath: host };
  const m = /^(?:tcp|http):\/\/([^:/]+|\[[^\]]+\])(?::(\d+))?\/?$/.exec(host);
  if (m) return { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 2375 };
  throw new Error(`invalid host "${host}": use unix:///path/to/socket or tcp://host:port`);
}

export function encodeQuery(q: Query | undefined): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null) continue;
    const values = Array.isArray(v) ? v : [v];
    for (const one of values) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(one))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export class EngineClient {
  private readonly endpoint: Endpoint;
  private version: string | undefined;
  private negotiating: Promise<string> | undefined;

  constructor(
    readonly host: string,
    /** A fixed API version (DOCKER_API_VERSION); skips negotiation. */
    fixedVersion?: string,
  ) {
    this.endpoint = parseHost(host);
    this.version = fixedVersion;
  }

  /** The negotiated API version: the daemon's if older than ours, else ours. */
  async apiVersion(): Promise<string> {
    if (this.version) return this.version;
    this.negotiating ??= (async () => {
      let v = CLIENT_API_VERSION;
      try {
        const res = await this.send('GET', '/_ping', { unversioned: true });
        const server = res.headers['api-version'];
        res.resume();
        if (typeof server === 'string' && compareVersions(server, CLIENT_API_VERSION) < 0) {
          v = compareVersions(server, MIN_API_VERSION) < 0 ? MIN_API_VERSION : server;
        }
      } catch (e) {
        if (e instanceof ConnectError) throw e;
        // A daemon without /_ping: speak our own version and let it complain.
      }
      this.version = v;
      return v;
    })();
    return this.negotiating;
  }

  private options(method: string, path: string, headers: Record<string, string>): http.RequestOptions {
    return {
      method,
      path,
      headers: { 'User-Agent': 'berth-cli', ...headers },
      ...(this.endpoint.socketPath
        ? { socketPath: this.endpoint.socketPath }
        : { host: this.endpoint.host, port: this.endpoint.port }),
    };
  }

  private async fullPath(path: string, opts: RequestOptions): Promise<string> {
    const prefix = opts.unversioned ? '' : `/v${await this.apiVersion()}`;
    return `${prefix}${path}${encodeQuery(opts.query)}`;
  }

  /** Sends a request; resolves with the response once headers arrive, whatever its status. */
  private async send(method: string, path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const full = await this.fullPath(path, opts);
    const headers: Record<string, string> = { ...opts.headers };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
    } else if (Buffer.isBuffer(opts.raw)) {
      payload = opts.raw;
    }
    if (opts.raw) headers['Content-Type'] = opts.contentType ?? 'application/x-tar';
    if (payload) headers['Content-Length'] = String(payload.length);
    return new Promise((resolve, reject) => {
      const req = http.request(this.options(method, full, headers), resolve);
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTFOUND', 'EHOSTUNREACH'].includes(e.code ?? '')) {
          reject(new ConnectError(this.host, e));
        } else reject(e);
      });
      if (payload) req.end(payload);
      else if (opts.raw && !Buffer.isBuffer(opts.raw)) (opts.raw as NodeJS.ReadableStream).pipe(req);
      else req.end();
    });
  }

  /** Sends a request and returns the response stream, raising DaemonError for 4xx/5xx. */
  async stream(method: string, path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const res = await this.send(method, path, opts);
    if ((res.statusCode ?? 500) >= 400) throw await errorFrom(res);
    return res;
  }

  /** Sends a request and parses a JSON answer (undefined for an empty body). */
  async json<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.stream(method, path, opts);
    const text = (await readAll(res)).toString();
    if (!text.trim()) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  }

  get<T = any>(path: string, query?: Query): Promise<T> {
    return this.json<T>('GET', path, { query });
  }

  post<T = any>(path: string, query?: Query, body?: unknown): Promise<T> {
    return this.json<T>('POST', path, { query, body });
  }

  delete<T = any>(path: string, query?: Query): Promise<T> {
    return this.json<T>('DELETE', path, { query });
  }

  /**
   * Upgrades the connection (attach, exec start) and returns the raw duplex socket.
   * A daemon that answers 200 without upgrading still streams: its response is used
   * for output and stdin is not available.
   */
  async upgrade(path: string, opts: RequestOptions = {}): Promise<{ socket: Duplex; upgraded: boolean; head?: Buffer }> {
    const full = await this.fullPath(path, opts);
    const headers: Record<string, string> = { Connection: 'Upgrade', Upgrade: 'tcp', ...opts.headers };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const req = http.request(this.options('POST', full, headers));
      req.on('upgrade', (_res, socket, head) => {
        resolve({ socket, upgraded: true, head });
      });
      req.on('response', async (res) => {
        if ((res.statusCode ?? 500) >= 400) {
          reject(await errorFrom(res));
          return;
        }
        resolve({ socket: res as unknown as Duplex, upgraded: false });
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (['ENOENT', 'ECONNREFUSED', 'EACCES'].includes(e.code ?? '')) reject(new ConnectError(this.host, e));
        else reject(e);
      });
      req.end(payload);
    });
  }
}

export function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

async function errorFrom(res: http.IncomingMessage): Promise<DaemonError> {
  const text = (await readAll(res)).toString();
  let message = text.trim();
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed.message === 'string') message = parsed.message;
  } catch {}
  if (!message) message = `${res.statusCode} ${res.statusMessage ?? ''}`.trim();
  return new DaemonError(res.statusCode ?? 500, message);
}
