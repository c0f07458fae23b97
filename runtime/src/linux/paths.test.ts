import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { secureJoin } from './paths.js';

describe('secureJoin', () => {
  const root = mkdtempSync(join(tmpdir(), 'rt-unit-paths-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'etc'));
  mkdirSync(join(root, 'var', 'lib'), { recursive: true });
  symlinkSync('/etc', join(root, 'abs'));
  symlinkSync('../../../../../../../tmp', join(root, 'up'));
  symlinkSync('lib', join(root, 'var', 'rel'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));

  it('joins plain paths', () => {
    expect(secureJoin(root, '/etc/passwd')).toBe(`${root}/etc/passwd`);
    expect(secureJoin(root, 'etc//./x/')).toBe(`${root}/etc/x`);
    expect(secureJoin(root, '/')).toBe(root);
  });

  it('clamps .. at the root', () => {
    expect(secureJoin(root, '/../../etc')).toBe(`${root}/etc`);
  });

  it('resolves absolute and relative symlinks inside the root', () => {
    expect(secureJoin(root, '/abs/hosts')).toBe(`${root}/etc/hosts`);
    expect(secureJoin(root, '/up/x')).toBe(`${root}/tmp/x`);
    expect(secureJoin(root, '/var/rel/y')).toBe(`${root}/var/lib/y`);
  });

  it('gives up on symlink loops', () => {
    expect(() => secureJoin(root, '/loop1/x')).toThrow(/too many levels/);
  });
});
