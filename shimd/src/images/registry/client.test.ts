import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isInsecureRegistry, RegistryClient } from './client.js';
import { connectionError, trustedCAs } from './http.js';

describe('insecure registries', () => {
  it('treats loopback hosts as insecure, and others only when listed', () => {
    for (const h of ['127.0.0.1:5000', '127.3.4.5', 'localhost:5000', 'localhost', '[::1]:5000']) expect(isInsecureRegistry(h)).toBe(true);
    expect(isInsecureRegistry('registry.example.com')).toBe(false);
    expect(isInsecureRegistry('10.1.2.3:5000')).toBe(false);
    expect(isInsecureRegistry('10.1.2.3:5000', ['10.1.2.3:5000'])).toBe(true);
    expect(isInsecureRegistry('10.1.2.3:5000', ['10.1.2.3:5001'])).toBe(false);
    // A bare host covers every port; a CIDR covers its addresses.
    expect(isInsecureRegistry('10.1.2.3:5000', ['10.1.2.3'])).toBe(true);
    expect(isInsecureRegistry('10.1.2.3:5000', ['10.0.0.0/8'])).toBe(true);
    expect(isInsecureRegistry('11.1.2.3:5000', ['10.0.0.0/8'])).toBe(false);
    expect(isInsecureRegistry('reg.internal:443', ['http://reg.internal/'])).toBe(true);
    expect(isInsecureRegistry('reg.internal', ['10.0.0.0/8', 'bad/cidr', ''])).toBe(false);
  });

  it('uses https for a secure registry, and docker.io on its API host', () => {
    expect(new RegistryClient('registry.example.com').base).toBe('https://registry.example.com');
    expect(new RegistryClient('docker.io').base).toBe('https://registry-1.docker.io');
    expect(new RegistryClient('10.1.2.3:5000', { insecure: ['10.1.2.3:5000'] }).insecure).toBe(true);
  });
});

describe('trust store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'img-unit-ca-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const pem = (n: string) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----\n`;

  it('reads SSL_CERT_FILE instead of the system bundle, and adds SSL_CERT_DIR', () => {
    writeFileSync(join(dir, 'bundle.pem'), pem('FILE'));
    mkdirSync(join(dir, 'certs'));
    writeFileSync(join(dir, 'certs', 'a.pem'), pem('DIR-A'));
    writeFileSync(join(dir, 'certs', 'readme.txt'), 'not a certificate');
    const cas = trustedCAs({ SSL_CERT_FILE: join(dir, 'bundle.pem'), SSL_CERT_DIR: `${join(dir, 'certs')}:${join(dir, 'missing')}` });
    expect(cas).toEqual([pem('FILE'), pem('DIR-A')]);
  });

  it('names an unreadable SSL_CERT_FILE', () => {
    expect(() => trustedCAs({ SSL_CERT_FILE: join(dir, 'nope.pem') })).toThrow(/CA bundle .*nope\.pem \(SSL_CERT_FILE\) cannot be read/);
  });

  it('explains certificate and protocol errors, and which are final', () => {
    const u = new URL('https://reg.example:5000/v2/');
    const cert = connectionError(u, 'GET', Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }));
    expect(cert.kind).toBe('FailedPrecondition');
    expect(cert.message).toMatch(/^reg\.example:5000: TLS certificate not trusted \(SELF_SIGNED_CERT_IN_CHAIN/);
    const plain = connectionError(u, 'GET', Object.assign(new Error('write EPROTO ...:wrong version number:...\n'), { code: 'EPROTO' }));
    expect(plain.message).toBe('reg.example:5000: TLS handshake failed (the server speaks plain http); a plain-http registry must be listed as an insecure registry');
    const reset = connectionError(u, 'GET', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    expect(reset.kind).toBe('Unavailable');
  });
});
