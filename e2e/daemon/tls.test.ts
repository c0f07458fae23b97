// berthd on TCP with TLS, driven by the real docker CLI the way a remote client
// uses it (DOCKER_HOST=tcp://…, DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH=dir): version
// and run work with a client certificate from the daemon's CA; a client without a
// certificate and one whose certificate comes from another CA are refused at the
// handshake; plain TCP without TLS is refused unless --tls=false is given.
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { bins, isRoot } from '../helpers.js';
import { DOCKER, type Env, startEnv, type Result } from './harness.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** A CA and a certificate it signs for `cn`, with the usage a TLS server or client needs. */
function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}-key.pem`, '-out', `${name}.pem`], dir);
}

function makeCert(dir: string, ca: string, name: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
}

/** A DOCKER_CERT_PATH directory: ca.pem, cert.pem, key.pem. */
function certDir(dir: string, name: string, ca: string, cert: string): string {
  const d = join(dir, name);
  mkdirSync(d);
  copyFileSync(join(dir, `${ca}.pem`), join(d, 'ca.pem'));
  copyFileSync(join(dir, `${cert}.pem`), join(d, 'cert.pem'));
  copyFileSync(join(dir, `${cert}-key.pem`), join(d, 'key.pem'));
  return d;
}

function dockerTcp(env: Env, port: number, certPath: string, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      DOCKER,
      args,
      {
        env: { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certPath, DOCKER_CONFIG: join(env.dir, 'docker-config'), HOME: env.dir },
        timeout: 30000,
      },
      (err, stdout, stderr) => resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout, stderr }),
    ).stdin?.end();
  });
}

/** GET /_ping over TLS with the given client identity (or none). */
function ping(port: number, ca: Buffer, client?: { cert: Buffer; key: Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/_ping', ca, ...(client ?? {}), timeout: 10000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!isRoot || !existsSync(DOCKER))('berthd: TCP with TLS', () => {
  let env: Env;
  let certs: string;
  let port: number;
  beforeAll(async () => {
    certs = mkdtempSync(join(tmpdir(), 'daemon-tls-'));
    makeCa(certs, 'ca');
    makeCa(certs, 'other-ca');
    makeCert(certs, 'ca', 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    makeCert(certs, 'ca', 'client', 'extendedKeyUsage=clientAuth\n');
    makeCert(certs, 'other-ca', 'stranger', 'extendedKeyUsage=clientAuth\n');
    port = await freePort();
    env = await startEnv({
      daemonArgs: ['-H', `tcp://127.0.0.1:${port}`, '--tlsverify', '--tlscacert', join(certs, 'ca.pem'), '--tlscert', join(certs, 'server.pem'), '--tlskey', join(certs, 'server-key.pem')],
    });
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
  }, 120000);
  afterAll(async () => {
    await env?.stop();
    if (certs) rmSync(certs, { recursive: true, force: true });
  }, 60000);

  it('serves docker version and docker run to a client with a certificate from its CA', async () => {
    const dir = certDir(certs, 'good', 'ca', 'client');
    const v = await dockerTcp(env, port, dir, ['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}}']);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\S+ 1\.\d+$/);
    const run = await dockerTcp(env, port, dir, ['run', '--rm', '--network', 'none', 'busybox', 'echo', 'hi']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('hi\n');
  }, 60000);

  it('refuses a client without a certificate at the TLS handshake', async () => {
    const ca = readFileSync(join(certs, 'ca.pem'));
    await expect(ping(port, ca)).rejects.toThrow(/certificate|handshake|socket hang up|ECONNRESET/i);
    // The same CA and a real identity passes, so the refusal above is about the missing certificate.
    const cert = readFileSync(join(certs, 'client.pem'));
    const key = readFileSync(join(certs, 'client-key.pem'));
    expect(await ping(port, ca, { cert, key })).toBe(200);
  }, 30000);

  it('refuses a client whose certificate another CA signed', async () => {
    const dir = certDir(certs, 'stranger', 'ca', 'stranger');
    const r = await dockerTcp(env, port, dir, ['version', '--format', '{{.Server.Version}}']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/certificate|tls|remote error/i);
    expect(r.stdout.trim()).toBe('');
  }, 30000);

  it('refuses plain TCP without TLS unless --tls=false is explicit', async () => {
    const other = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'daemon-tls-plain-'));
    try {
      const base = [bins.daemon, '--data-root', join(dir, 'data'), '--shimd-address', join(dir, 'no-shimd.sock'), '--cni-bin-dir', ''];
      const refused = spawnSync(process.execPath, [...base, '-H', `tcp://127.0.0.1:${other}`], { timeout: 30000 });
      expect(refused.status).not.toBe(0);
      expect(String(refused.stderr)).toContain(`refusing to listen on tcp://127.0.0.1:${other} without TLS`);
      expect(String(refused.stderr)).toContain('--tls=false');
      // Explicitly insecure: served, with a warning.
      const plain = spawn(process.execPath, [...base, '-H', `tcp://127.0.0.1:${other}`, '--tls=false'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      plain.stderr.on('data', (d) => {
        err += d;
      });
      try {
        const until = Date.now() + 30000;
        while (!err.includes('listening on') && plain.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        expect(err).toContain('without encryption');
        const status = await new Promise<number>((resolve, reject) => {
          get(`http://127.0.0.1:${other}/_ping`, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          }).on('error', reject);
        });
        expect(status).toBe(200);
      } finally {
        if (plain.exitCode === null) {
          const gone = new Promise((r) => plain.once('exit', r));
          plain.kill('SIGKILL');
          await gone;
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60000);
});
