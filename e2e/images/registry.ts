// Debian's docker-registry (distribution 2.8) started for one test file on
// 127.0.0.1 (or another local address) with a free port and a temp config: no auth,
// htpasswd basic auth, or token auth against a small token server run here; plain
// http or TLS with a certificate from a test CA. Stopped by its PID.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createSign, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A bcrypt hash for htpasswd (registry's htpasswd auth accepts bcrypt only). */
export function bcryptHash(password: string): string {
  try {
    return execFileSync('htpasswd', ['-nbB', 'x', password]).toString().trim().split(':')[1]!;
  } catch {
    // libxcrypt through Python's crypt module (the $2b$ method)
    return execFileSync('python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))', password])
      .toString()
      .trim();
  }
}

export interface Registry {
  host: string;
  port: number;
  stop(): Promise<void>;
}

export type RegistryAuth =
  | { kind: 'none' }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'token'; username: string; password: string };

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** A token server: anonymous callers may pull, the given user may pull and push. */
async function startTokenServer(dir: string, user: { username: string; password: string }, service: string): Promise<{ realm: string; cert: string; server: http.Server; issued: string[] }> {
  const key = join(dir, 'token.key');
  const cert = join(dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=img-test-token-issuer'], { stdio: 'ignore' });
  const pem = readFileSync(key, 'utf8');
  const der = Buffer.from(readFileSync(cert, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const issued: string[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const authz = req.headers.authorization ?? '';
    let who = '';
    if (authz.startsWith('Basic ')) {
      const [n, p] = Buffer.from(authz.slice(6), 'base64').toString().split(':');
      if (n !== user.username || p !== user.password) {
        res.writeHead(401).end('{"details":"bad credentials"}');
        return;
      }
      who = n!;
    }
    const access = u.searchParams.getAll('scope').map((s) => {
      const [type, name, actions] = s.split(':');
      const want = (actions ?? '').split(',');
      return { type, name, actions: want.filter((a) => a === 'pull' || (who && a === 'push')) };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [der.toString('base64')] }));
    const claims = b64url(
      JSON.stringify({ iss: 'img-test-issuer', sub: who, aud: u.searchParams.get('service') ?? service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access }),
    );
    const sig = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(pem);
    issued.push(`${who || 'anonymous'} ${u.searchParams.getAll('scope').join(' ')}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${header}.${claims}.${b64url(sig)}`, expires_in: 300 }));
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { realm: `http://127.0.0.1:${port}/token`, cert, server, issued };
}

export interface TestCa {
  /** The CA certificate (PEM file). */
  ca: string;
  /** A server certificate and key signed by the CA. */
  cert: string;
  key: string;
}

/** A test CA and a server certificate for the given IP addresses and DNS names. */
export function makeTestCa(dir: string, ips: string[], names: string[] = []): TestCa {
  const ca = join(dir, 'test-ca.crt');
  const caKey = join(dir, 'test-ca.key');
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const ext = join(dir, 'server.ext');
  const q = { stdio: 'ignore' as const };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=img-test-ca'], q);
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=img-test-registry'], q);
  writeFileSync(ext, `subjectAltName=${[...ips.map((i) => `IP:${i}`), ...names.map((n) => `DNS:${n}`)].join(',')}\nextendedKeyUsage=serverAuth\n`);
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext], q);
  return { ca, cert, key };
}

export interface RegistryOptions {
  /** Address to listen on (default 127.0.0.1). */
  bind?: string;
  /** Serve HTTPS with this certificate and key. */
  tls?: { cert: string; key: string };
}

export async function startRegistry(dir: string, auth: RegistryAuth = { kind: 'none' }, opts: RegistryOptions = {}): Promise<Registry & { tokensIssued: string[] }> {
  const bind = opts.bind ?? '127.0.0.1';
  const port = await freePort(bind);
  let authYaml = '';
  let token: Awaited<ReturnType<typeof startTokenServer>> | undefined;
  if (auth.kind === 'basic') {
    writeFileSync(join(dir, 'htpasswd'), `${auth.username}:${bcryptHash(auth.password)}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: img-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (auth.kind === 'token') {
    token = await startTokenServer(dir, auth, 'img-test-registry');
    authYaml = `auth:\n  token:\n    realm: ${token.realm}\n    service: img-test-registry\n    issuer: img-test-issuer\n    rootcertbundle: ${token.cert}\n`;
  }
  const config = join(dir, 'registry.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${bind}:${port}\n${opts.tls ? `  tls:\n    certificate: ${opts.tls.cert}\n    key: ${opts.tls.key}\n` : ''}${authYaml}`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      process.kill(child.pid, 'SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    if (token) {
      token.server.closeAllConnections();
      await new Promise<void>((r) => token!.server.close(() => r()));
    }
  };
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const cb = (res: http.IncomingMessage) => {
        res.resume();
        resolve(true);
      };
      const req = opts.tls ? https.get(`https://${bind}:${port}/v2/`, { rejectUnauthorized: false }, cb) : http.get(`http://${bind}:${port}/v2/`, cb);
      req.on('error', () => resolve(false));
    });
    if (ok) break;
    if (child.exitCode !== null || i > 100) {
      await stop();
      throw new Error(`docker-registry did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host: `${bind}:${port}`, port, stop, tokensIssued: token?.issued ?? [] };
}

export interface ProxyLog {
  method: string;
  path: string;
  range?: string;
  outcome: 'forwarded' | '503' | 'reset';
  bytes?: number;
}

/** What to do with a request: forward it, answer 503, cut the connection halfway through its body, or forward it once the promise settles. */
export type ProxyPolicy = (req: http.IncomingMessage, seen: number) => 'forward' | '503' | 'reset' | Promise<unknown>;

/** A reverse proxy to upstream on 127.0.0.1; policy decides per request (seen: earlier requests for the same method+path). */
export async function startProxy(upstream: string, policy: ProxyPolicy): Promise<{ host: string; log: ProxyLog[]; stop(): Promise<void> }> {
  const log: ProxyLog[] = [];
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    const seen = counts.get(key) ?? 0;
    counts.set(key, seen + 1);
    const decided = policy(req, seen);
    const wait = typeof decided === 'string' ? undefined : decided;
    const action = typeof decided === 'string' ? decided : 'forward';
    const entry: ProxyLog = { method: req.method ?? '', path: req.url ?? '', range: req.headers.range, outcome: action === 'forward' ? 'forwarded' : action };
    log.push(entry);
    if (wait) req.pause();
    if (action === '503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"img-test proxy: try again"}]}');
      return;
    }
    const forward = () => {
      // The Host header stays the proxy's, so the registry's Location URLs point back here.
      const up = http.request(`http://${upstream}${req.url}`, { method: req.method, headers: req.headers }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        if (action === 'forward') {
          ur.pipe(res);
          return;
        }
        // Cut the body halfway: the client sees a reset with part of the data.
        const half = Math.floor(Number(ur.headers['content-length'] ?? 0) / 2);
        let sent = 0;
        ur.on('data', (c: Buffer) => {
          if (sent >= half) return;
          const part = c.subarray(0, half - sent);
          sent += part.length;
          const last = sent >= half;
          // Once the half is handed to the kernel, close the connection under the body:
          // the client gets every byte sent, then a premature end.
          res.write(part, () => last && res.socket?.destroy());
          if (last) {
            entry.bytes = sent;
            ur.destroy();
          }
        });
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (wait) void wait.finally(forward);
    else forward();
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    host: `127.0.0.1:${port}`,
    log,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** skopeo copy, as a third-party producer/consumer of registry content. */
// Asynchronous: the token server runs in this process and must answer skopeo.
export async function skopeo(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP('skopeo', ['--insecure-policy', ...args], { timeout: 60_000, maxBuffer: 16 << 20 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string };
    throw new Error(`skopeo ${args.join(' ')}: ${err.stderr?.trim() || e}`);
  }
}
