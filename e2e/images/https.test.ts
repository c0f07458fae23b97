// HTTPS registries and the insecure-registries list, against Debian's docker-registry
// serving TLS with a certificate from a test CA made here. The rule under test (docker's):
// loopback registries and listed ones are insecure (HTTPS without verification, falling
// back to plain http); every other registry is HTTPS verified against the system trust
// store, which SSL_CERT_FILE / SSL_CERT_DIR replace or extend as for Go and OpenSSL.
// A non-loopback registry listens on this machine's own non-loopback address. The
// host's trust store is never modified: the test CA goes into a private bundle.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { bins } from '../helpers.js';
import { ImagesLocal } from '../../shimd/src/images/local.js';
import { RegistryClient } from '../../shimd/src/images/registry/client.js';
import { SYSTEM_CA_FILES, trustedCAs } from '../../shimd/src/images/registry/http.js';
import { grpc, loadProto, namespaceMetadata } from '../../shimd/src/images/testing.js';
import { makeTestCa, type Registry, skopeo, startRegistry, type TestCa } from './registry.js';
import { tempDir } from './helpers.js';

/** This machine's first non-loopback IPv4 address on a physical-looking interface. */
function hostAddress(): string | undefined {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (/^(lo|berth|cni|docker|veth|br-|virbr)/.test(name)) continue;
    const a = addrs?.find((x) => x.family === 'IPv4' && !x.internal);
    if (a) return a.address;
  }
  return undefined;
}

const ip = hostAddress();
const systemBundle = SYSTEM_CA_FILES.find((f) => existsSync(f));

/** Runs fn with environment variables set (undefined: unset), restoring them after. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const NO_CA_ENV = { SSL_CERT_FILE: undefined, SSL_CERT_DIR: undefined };

describe.skipIf(!ip)('HTTPS registries and the insecure list', () => {
  let work: string;
  let ca: TestCa;
  let bundle: string;
  let tlsReg: Registry; // TLS on the host address
  let authReg: Registry; // TLS + htpasswd on the host address
  let loopTls: Registry; // TLS on 127.0.0.1
  let plainReg: Registry; // plain http on the host address
  const creds = { username: 'img-tls-user', password: 'img-tls-pw' };
  const roots: string[] = [];

  const local = (insecureRegistries?: string[]) => {
    const root = join(work, `root-${roots.length}`);
    roots.push(root);
    return new ImagesLocal({ root, insecureRegistries });
  };

  beforeAll(async () => {
    work = tempDir('tls');
    ca = makeTestCa(work, [ip!, '127.0.0.1'], ['localhost']);
    // A private bundle: the system's CAs and the test CA.
    bundle = join(work, 'bundle.pem');
    writeFileSync(bundle, `${systemBundle ? readFileSync(systemBundle, 'utf8') : ''}\n${readFileSync(ca.ca, 'utf8')}`);
    const sub = (n: string) => {
      mkdirSync(join(work, n));
      return join(work, n);
    };
    const tls = { cert: ca.cert, key: ca.key };
    tlsReg = await startRegistry(sub('r-tls'), { kind: 'none' }, { bind: ip, tls });
    authReg = await startRegistry(sub('r-auth'), { kind: 'basic', ...creds }, { bind: ip, tls });
    loopTls = await startRegistry(sub('r-loop'), { kind: 'none' }, { tls });
    plainReg = await startRegistry(sub('r-plain'), { kind: 'none' }, { bind: ip });
    const src = `oci:${fixtures().ociLayout}:latest`;
    await skopeo(['copy', '--dest-tls-verify=false', src, `docker://${tlsReg.host}/img/busybox:1`]);
    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `${creds.username}:${creds.password}`, src, `docker://${authReg.host}/img/private:1`]);
    await skopeo(['copy', '--dest-tls-verify=false', src, `docker://${loopTls.host}/img/busybox:1`]);
    await skopeo(['copy', '--dest-tls-verify=false', src, `docker://${plainReg.host}/img/busybox:1`]);
  }, 120_000);

  afterAll(async () => {
    for (const r of [tlsReg, authReg, loopTls, plainReg]) await r?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('refuses a registry whose CA is not in the system trust store, naming the certificate problem', async () => {
    const l = local();
    await withEnv(NO_CA_ENV, async () => {
      const err = await l.pull('default', `${tlsReg.host}/img/busybox:1`).catch((e) => e);
      expect(err).toMatchObject({ kind: 'FailedPrecondition' });
      expect(err.message).toMatch(/TLS certificate not trusted \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/);
      expect(err.message).toContain('SSL_CERT_FILE');
    });
    // Nothing left behind.
    expect(l.images.list('default')).toEqual([]);
    expect(l.content.list()).toEqual([]);
    expect(l.content.ingests()).toEqual([]);
  });

  it('pulls when SSL_CERT_FILE names a bundle of the system CAs and the test CA', async () => {
    const l = local();
    await withEnv({ SSL_CERT_FILE: bundle, SSL_CERT_DIR: undefined }, async () => {
      // The system's own CAs are still trusted: the bundle replaces the system file.
      if (systemBundle) expect(trustedCAs().join('\n')).toContain(readFileSync(systemBundle, 'utf8').trim().split('\n')[1]);
      const img = await l.pull('default', `${tlsReg.host}/img/busybox:1`);
      expect(img.target.digest).toBe(fixtures().manifestDigest);
      expect(l.snapshots.list().filter((s) => s.kind === 'committed')).toHaveLength(1);
    });
  });

  it('trusts a CA from SSL_CERT_DIR as well', async () => {
    const l = local();
    const dir = join(work, 'certdir');
    mkdirSync(dir, { recursive: true });
    copyFileSync(ca.ca, join(dir, 'img-test-ca.pem'));
    await withEnv({ SSL_CERT_FILE: undefined, SSL_CERT_DIR: dir }, async () => {
      const img = await l.pull('default', `${tlsReg.host}/img/busybox:1`, { unpack: false });
      expect(img.target.digest).toBe(fixtures().manifestDigest);
    });
  });

  it('pulls and pushes over HTTPS with basic auth, and refuses wrong credentials', async () => {
    const l = local();
    await withEnv({ SSL_CERT_FILE: bundle, SSL_CERT_DIR: undefined }, async () => {
      const img = await l.pull('default', `${authReg.host}/img/private:1`, { credentials: creds });
      await l.push('default', img.name, { remote: `${authReg.host}/img/pushed:2`, credentials: creds });
      await expect(l.pull('default', `${authReg.host}/img/private:1`, { credentials: { ...creds, password: 'wrong' } })).rejects.toMatchObject({ kind: 'Unauthenticated' });
    });
    // skopeo, verifying with the test CA, reads back what was pushed.
    const certDir = join(work, 'skopeo-certs');
    mkdirSync(certDir, { recursive: true });
    copyFileSync(ca.ca, join(certDir, 'ca.crt'));
    const inspect = JSON.parse(await skopeo(['inspect', '--cert-dir', certDir, '--creds', `${creds.username}:${creds.password}`, `docker://${authReg.host}/img/pushed:2`]));
    expect(inspect.Digest).toBe(fixtures().manifestDigest);
  });

  it('reaches a loopback registry over HTTPS without verifying it, and a plain one over http', async () => {
    await withEnv(NO_CA_ENV, async () => {
      const l = local();
      const img = await l.pull('default', `${loopTls.host}/img/busybox:1`, { unpack: false });
      expect(img.target.digest).toBe(fixtures().manifestDigest);
      const tlsClient = new RegistryClient(loopTls.host);
      (await tlsClient.fetch('/v2/', { scope: '' })).body.resume();
      expect(tlsClient.base).toBe(`https://${loopTls.host}`);
    });
  });

  it('refuses a plain-http registry that is not listed, and uses it over http once listed (host:port or CIDR)', async () => {
    await withEnv(NO_CA_ENV, async () => {
      const l = local();
      const err = await l.pull('default', `${plainReg.host}/img/busybox:1`).catch((e) => e);
      expect(err.message).toMatch(/TLS handshake failed.*insecure registry/);
      expect(l.content.list()).toEqual([]);
      for (const entry of [plainReg.host, `${ip}/32`]) {
        const ok = local([entry]);
        const img = await ok.pull('default', `${plainReg.host}/img/busybox:1`, { unpack: false });
        expect(img.target.digest).toBe(fixtures().manifestDigest);
      }
      // Another port of the same host is not covered by a host:port entry.
      const other = await local([`${ip}:1`]).pull('default', `${plainReg.host}/img/busybox:1`).catch((e) => e);
      expect(other.message).toMatch(/TLS handshake failed/);
    });
  });

  it('uses a listed HTTPS registry whose certificate is not trusted, without verification', async () => {
    await withEnv(NO_CA_ENV, async () => {
      const l = local([tlsReg.host]);
      const img = await l.pull('default', `${tlsReg.host}/img/busybox:1`, { unpack: false });
      expect(img.target.digest).toBe(fixtures().manifestDigest);
    });
  });

  it('berth-shimd --insecure-registry lets a gRPC pull use a plain-http registry', async () => {
    const dir = join(work, 'shimd');
    mkdirSync(dir);
    const sock = join(dir, 'shimd.sock');
    const child = spawn(process.execPath, [bins.shimd, '--address', sock, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--insecure-registry', plainReg.host], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, SSL_CERT_FILE: '', SSL_CERT_DIR: '' },
    });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const v1 = (loadProto('images') as any).berth.images.v1;
    let client: any;
    try {
      for (let i = 0; !existsSync(sock); i++) {
        if (child.exitCode !== null || i > 100) throw new Error(`berth-shimd did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      client = new v1.Images(`unix://${sock}`, grpc.credentials.createInsecure());
      const pull = (ref: string) =>
        new Promise<any[]>((res, rej) => {
          const out: any[] = [];
          const s = client.Pull({ ref, no_unpack: true }, namespaceMetadata('img-tls'));
          s.on('data', (m: any) => out.push(m));
          s.on('error', rej);
          s.on('end', () => res(out));
        });
      const msgs = await pull(`${plainReg.host}/img/busybox:1`);
      expect(msgs.at(-1).image.target.digest).toBe(fixtures().manifestDigest);
      // The TLS registry is not listed: its untrusted certificate is refused.
      await expect(pull(`${tlsReg.host}/img/busybox:1`)).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: expect.stringMatching(/TLS certificate not trusted/) });
    } finally {
      client?.close();
      if (child.exitCode === null && child.pid) {
        process.kill(child.pid, 'SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
  });
});
