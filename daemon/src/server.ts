// The HTTP side of berthd: one express app served on every --host. Attach and exec
// start are HTTP upgrades (the client takes over the connection), which Node hands
// to the 'upgrade' event with the raw socket; we route those through the same app
// with a ServerResponse bound to that socket, so one route table serves both.
import { chmodSync, chownSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import express, { type NextFunction, type Request, type Response } from 'express';
import { httpError } from './errors.js';
import { versionMiddleware } from './api/version.js';

export interface Listener {
  close(): Promise<void>;
}

export function buildApp(routers: express.Router[]): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  if (process.env.BERTHD_DEBUG) {
    app.use((req: Request, _res: Response, next: NextFunction) => {
      process.stderr.write(`berthd: ${req.method} ${req.url}${req.headers.upgrade ? ' (upgrade)' : ''}\n`);
      next();
    });
  }
  app.use(versionMiddleware);
  // Docker's client decodes error bodies only when Content-Type is exactly
  // application/json (no charset parameter), so every JSON answer is sent that way.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.json = (body: unknown) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(`${JSON.stringify(body)}\n`);
      return res;
    };
    next();
  });
  app.use(express.json({ limit: '16mb', type: ['application/json', 'text/json'] }));
  for (const r of routers) app.use(r);
  app.use((req: Request, _res: Response, next: NextFunction) => {
    const e = new Error(`page not found`) as Error & { status: number };
    e.status = 404;
    void req;
    next(e);
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = httpError(err);
    if (status === 500) process.stderr.write(`berthd: ${req.method} ${req.url}: ${(err as Error)?.stack ?? err}\n`);
    if (res.headersSent) {
      // A streamed response already started: the only honest signal left is to cut it.
      res.destroy();
      return;
    }
    if (body === undefined) {
      res.status(status).end();
      return;
    }
    res.status(status).json(body);
  });
  return app;
}

/** The upgraded connection a hijacking route (attach, exec start) takes over. */
export interface Hijack {
  socket: Duplex;
  head: Buffer;
}

function attachUpgrade(server: Server, app: express.Express): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    // Node hands an upgrade over with the body unread: the request's own body (exec
    // start's JSON) is the first Content-Length bytes; what follows is the stream.
    const length = Number(req.headers['content-length'] ?? 0);
    const dispatch = (body: Buffer, rest: Buffer) => {
      const res = new ServerResponse(req);
      res.assignSocket(socket as import('node:net').Socket);
      (req as IncomingMessage & { hijack?: Hijack }).hijack = { socket, head: rest };
      const r = req as IncomingMessage & { body?: unknown; _body?: boolean };
      r._body = true; // tells express.json the body is already parsed
      try {
        r.body = body.length ? JSON.parse(body.toString('utf8')) : {};
      } catch {
        r.body = {};
      }
      app(req as Request, res as unknown as Response);
    };
    if (head.length >= length) {
      dispatch(head.subarray(0, length), head.subarray(length));
      return;
    }
    let buf = head;
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < length) return;
      socket.off('data', onData);
      socket.pause();
      dispatch(buf.subarray(0, length), buf.subarray(length));
    };
    socket.on('data', onData);
  });
}

function dockerGid(): number | undefined {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , gid] = line.split(':');
      if (name === 'docker' && gid) return Number(gid);
    }
  } catch {}
  return undefined;
}

export interface TlsOptions {
  cert: string;
  key: string;
  ca?: string;
  verify: boolean;
}

/** Listens on one --host address: unix:///path or tcp://host:port (TLS only). */
export async function listen(app: express.Express, host: string, tls?: TlsOptions, insecureTcp = false): Promise<Listener> {
  let server: Server;
  let path: string | undefined;
  let port: number | undefined;
  let bind = '127.0.0.1';
  if (host.startsWith('unix://')) {
    path = host.slice('unix://'.length);
    server = createHttpServer(app);
    rmSync(path, { force: true });
  } else if (host.startsWith('tcp://')) {
    // As dockerd 27+: an unauthenticated TCP API is root for anyone who can reach it,
    // so it is refused unless TLS is switched off explicitly.
    if (!tls && !insecureTcp) {
      throw new Error(`refusing to listen on ${host} without TLS: pass --tlsverify --tlscacert --tlscert --tlskey, or --tls=false to accept an unauthenticated API`);
    }
    const m = /^tcp:\/\/(.*):([0-9]+)$/.exec(host);
    if (!m) throw new Error(`invalid --host ${host}: expected tcp://HOST:PORT`);
    bind = m[1] || '0.0.0.0';
    port = Number(m[2]);
    if (!tls) {
      process.stderr.write(`berthd: WARNING: API is accessible on http://${bind}:${port} without encryption: access to it is equivalent to root on this host\n`);
      server = createHttpServer(app);
    } else server = createHttpsServer(
      {
        cert: readFileSync(tls.cert),
        key: readFileSync(tls.key),
        ca: tls.ca ? readFileSync(tls.ca) : undefined,
        requestCert: tls.verify,
        rejectUnauthorized: tls.verify,
        // The docker CLI half-closes a hijacked attach once its stdin is done (a TLS
        // close_notify) and keeps reading the output: keep our side open, as plain HTTP does.
        allowHalfOpen: true,
      },
      app,
      );
  } else {
    throw new Error(`invalid --host ${host}: expected unix:///path or tcp://host:port`);
  }
  server.keepAliveTimeout = 0;
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  attachUpgrade(server, app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (path) server.listen(path, () => resolve());
    else server.listen(port, bind, () => resolve());
  });
  if (path) {
    chmodSync(path, 0o660);
    const gid = dockerGid();
    if (gid !== undefined) chownSync(path, 0, gid);
  }
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        if (path) rmSync(path, { force: true });
      }),
  };
}
