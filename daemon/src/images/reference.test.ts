import { describe, expect, it } from 'vitest';
import { familiarName, normalizeReference } from './reference.js';

describe('image references', () => {
  it('normalises like Docker', () => {
    expect(normalizeReference('busybox')).toBe('docker.io/library/busybox:latest');
    expect(normalizeReference('busybox:1.36')).toBe('docker.io/library/busybox:1.36');
    expect(normalizeReference('user/app')).toBe('docker.io/user/app:latest');
    expect(normalizeReference('localhost:5000/app:v1')).toBe('localhost:5000/app:v1');
    expect(normalizeReference('quay.io/a/b')).toBe('quay.io/a/b:latest');
    const d = `sha256:${'a'.repeat(64)}`;
    expect(normalizeReference(`busybox@${d}`)).toBe(`docker.io/library/busybox@${d}`);
  });
  it('gives the familiar form back', () => {
    expect(familiarName('docker.io/library/busybox:latest')).toBe('busybox:latest');
    expect(familiarName('docker.io/user/app:1')).toBe('user/app:1');
    expect(familiarName('localhost:5000/app:v1')).toBe('localhost:5000/app:v1');
  });
  it('rejects bad references with Docker’s message', () => {
    expect(() => normalizeReference('Busybox')).toThrow(/must be lowercase/);
    expect(() => normalizeReference('a b')).toThrow(/invalid reference format/);
    expect(() => normalizeReference('')).toThrow(/invalid reference format/);
  });
});
