// Debian's docker-registry (distribution 2.8) started for one test file on
// 127.0.0.1 with a free port and a temp config: no auth, htpasswd basic auth, or
// token auth against a small token server run here. Stopped by its PID.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createSign, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
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

export async function startRegistry(dir: string, auth: RegistryAuth = { kind: 'none' }): Promise<Registry & { tokensIssued: string[] }> {
  const port = await freePort();
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
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${authYaml}`,
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
      const req = http.get(`http://127.0.0.1:${port}/v2/`, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
    });
    if (ok) break;
    if (child.exitCode !== null || i > 100) {
      await stop();
      throw new Error(`docker-registry did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host: `127.0.0.1:${port}`, port, stop, tokensIssued: token?.issued ?? [] };
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
