// A recording fake of berthd's HTTP surface on a temporary unix socket, for unit
// tests of the client and the commands (real-daemon behaviour is covered by e2e/cli).
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Handler = (req: Recorded, res: http.ServerResponse, raw: http.IncomingMessage) => void | Promise<void>;
export type UpgradeHandler = (req: Recorded, socket: Socket) => void;

export class FakeDaemon {
  readonly requests: Recorded[] = [];
  private readonly routes: Array<{ method: string; pattern: RegExp; handler: Handler }> = [];
  private readonly upgrades: Array<{ pattern: RegExp; handler: UpgradeHandler }> = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'cli-fake-'));
  readonly socketPath = join(this.dir, 'berthd.sock');
  readonly server: http.Server;
  apiVersion = '1.47';
  private readonly hijacked = new Set<Socket>();

  constructor() {
    this.server = http.createServer(async (raw, res) => {
      const rec = await this.record(raw);
      if (rec.path === '/_ping') {
        res.writeHead(200, { 'Api-Version': this.apiVersion, 'Content-Type': 'text/plain' });
        res.end('OK');
        return;
      }
      const route = this.routes.find((r) => r.method === raw.method && r.pattern.test(rec.path));
      if (!route) {
        this.json(res, 404, { message: `page not found: ${raw.method} ${rec.path}` });
        return;
      }
      await route.handler(rec, res, raw);
    });
    this.server.on('upgrade', async (raw: http.IncomingMessage, socket: Socket) => {
      this.hijacked.add(socket);
      socket.on('close', () => this.hijacked.delete(socket));
      const rec = await this.record(raw, true);
      const route = this.upgrades.find((u) => u.pattern.test(rec.path));
      if (!route) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
      route.handler(rec, socket);
    });
  }

  get host(): string {
    return `unix://${this.socketPath}`;
  }

  private async record(raw: http.IncomingMessage, skipBody = false): Promise<Recorded> {
    const url = new URL(raw.url ?? '/', 'http://d');
    const path = url.pathname.replace(/^\/v\d+\.\d+/, '');
    let body = '';
    if (!skipBody) {
      const chunks: Buffer[] = [];
      for await (const c of raw) chunks.push(c as Buffer);
      body = Buffer.concat(chunks).toString();
    }
    const rec = { method: raw.method ?? 'GET', path, query: url.searchParams, headers: raw.headers, body, url: raw.url };
    this.requests.push(rec);
    return rec;
  }

  on(method: string, pattern: RegExp, handler: Handler): this {
    this.routes.unshift({ method, pattern, handler });
    return this;
  }

  /** Answers with a fixed JSON value. */
  reply(method: string, pattern: RegExp, status: number, body: unknown): this {
    return this.on(method, pattern, (_req, res) => this.json(res, status, body));
  }

  onUpgrade(pattern: RegExp, handler: UpgradeHandler): this {
    this.upgrades.unshift({ pattern, handler });
    return this;
  }

  json(res: http.ServerResponse, status: number, body: unknown): void {
    if (status === 204 || body === undefined) {
      res.writeHead(status);
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  listen(): Promise<this> {
    return new Promise((resolve) => this.server.listen(this.socketPath, () => resolve(this)));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      for (const s of this.hijacked) s.destroy();
      this.server.close(() => {
        rmSync(this.dir, { recursive: true, force: true });
        resolve();
      });
    });
  }
}
