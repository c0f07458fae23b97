import { describe, expect, it } from 'vitest';
import { chainIds, parseDigest, sha256 } from './digest.js';
import { familiarName, normalizeReference, parseReference } from './reference.js';
import { formatPlatform, parsePlatform, selectManifest } from './platform.js';
import { parseChallenge } from './registry/client.js';

describe('reference normalisation (Docker rules)', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['user/app', 'docker.io/user/app:latest'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/a/b:t', 'localhost:5000/a/b:t'],
    ['127.0.0.1:5000/img/busybox:1', '127.0.0.1:5000/img/busybox:1'],
    ['quay.io/a/b-c_d.e:v1.2', 'quay.io/a/b-c_d.e:v1.2'],
    [`busybox@sha256:${'a'.repeat(64)}`, `docker.io/library/busybox@sha256:${'a'.repeat(64)}`],
    [`busybox:1@sha256:${'a'.repeat(64)}`, `docker.io/library/busybox:1@sha256:${'a'.repeat(64)}`],
  ])('%s → %s', (input, want) => {
    expect(normalizeReference(input)).toBe(want);
  });

  it('gives back the familiar form', () => {
    expect(familiarName('docker.io/library/busybox:latest')).toBe('busybox:latest');
    expect(familiarName('docker.io/user/app:1')).toBe('user/app:1');
    expect(familiarName('quay.io/a/b:1')).toBe('quay.io/a/b:1');
  });

  it('splits host, path, tag and digest', () => {
    expect(parseReference('localhost:5000/x/y:z')).toEqual({ domain: 'localhost:5000', path: 'x/y', tag: 'z', digest: undefined });
  });

  it.each([
    ['', /empty/],
    ['Busybox', /lowercase/],
    ['busybox:', /bad tag/],
    ['a//b', /bad path component/],
    ['busybox@sha256:xyz', /bad digest/],
    ['-x', /bad path component/],
  ])('rejects %j', (input, why) => {
    expect(() => parseReference(input)).toThrow(why);
  });
});

describe('digests and chain IDs', () => {
  it('computes chain IDs as containerd does', () => {
    const a = sha256('a');
    const b = sha256('b');
    const c = sha256('c');
    const ids = chainIds([a, b, c]);
    expect(ids[0]).toBe(a);
    expect(ids[1]).toBe(sha256(`${a} ${b}`));
    expect(ids[2]).toBe(sha256(`${ids[1]} ${c}`));
    expect(chainIds([])).toEqual([]);
  });

  it('validates digests', () => {
    expect(parseDigest(`sha256:${'0'.repeat(64)}`)).toBe('0'.repeat(64));
    expect(() => parseDigest('sha256:abc')).toThrow(/invalid digest/);
    expect(() => parseDigest(`sha512:${'0'.repeat(128)}`)).toThrow(/only sha256/);
    expect(() => parseDigest('../../etc/passwd')).toThrow(/invalid digest/);
  });
});

describe('platforms', () => {
  const d = (os: string, architecture: string, variant?: string) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: sha256(`${os}/${architecture}/${variant}`),
    size: 1,
    platform: { os, architecture, ...(variant ? { variant } : {}) },
  });
  const index = [d('linux', 'arm', 'v6'), d('linux', 'arm', 'v7'), d('linux', 'arm64', 'v8'), d('linux', 'amd64'), d('windows', 'amd64')];

  it('defaults to linux/amd64', () => {
    expect(selectManifest(index).platform).toEqual({ os: 'linux', architecture: 'amd64' });
  });

  it('matches arch aliases and variants', () => {
    expect(selectManifest(index, parsePlatform('linux/arm64')).platform?.architecture).toBe('arm64');
    expect(selectManifest(index, parsePlatform('linux/aarch64')).platform?.architecture).toBe('arm64');
    expect(selectManifest(index, parsePlatform('linux/arm')).platform?.variant).toBe('v7');
    expect(selectManifest(index, parsePlatform('linux/arm/v6')).platform?.variant).toBe('v6');
    expect(selectManifest(index, parsePlatform('windows/amd64')).platform?.os).toBe('windows');
  });

  it('skips attestation manifests and names what the index has when nothing matches', () => {
    const att = { ...d('unknown', 'unknown'), annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } };
    expect(() => selectManifest([d('linux', 'amd64'), att], parsePlatform('linux/s390x'))).toThrow('no manifest for platform linux/s390x (index has: linux/amd64)');
  });

  it('parses and formats platform strings', () => {
    expect(formatPlatform(parsePlatform('linux/arm64/v8'))).toBe('linux/arm64');
    expect(() => parsePlatform('linux')).toThrow(/os\/arch/);
  });
});

describe('WWW-Authenticate', () => {
  it('parses a bearer challenge', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    });
    expect(parseChallenge('Basic realm="x"').scheme).toBe('basic');
  });
});
