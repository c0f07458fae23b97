import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtures, IMAGE_CMD } from '../fixtures/index.js';

const hasSkopeo = (() => {
  try {
    execFileSync('skopeo', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

describe('fixtures', () => {
  it('builds a busybox rootfs that runs', () => {
    const f = fixtures();
    expect(statSync(join(f.rootfs, 'bin', 'busybox')).mode & 0o111).toBeTruthy();
    const out = execFileSync('chroot', [f.rootfs, '/bin/sh', '-c', 'echo hello from $(basename $(readlink /bin/ls))']);
    expect(out.toString()).toBe('hello from busybox\n');
    expect(readFileSync(join(f.rootfs, 'etc', 'passwd'), 'utf8')).toMatch(/^root:x:0:0:/);
  });

  it('is cached by content: a second call reuses the same directory', () => {
    const a = fixtures();
    const b = fixtures();
    expect(b.dir).toBe(a.dir);
    expect(a.dir).toMatch(/\.fixtures\/[0-9a-f]{16}$/);
  });

  it.skipIf(!hasSkopeo)('makes an OCI layout and a docker-archive that skopeo reads', () => {
    const f = fixtures();
    const oci = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${f.ociLayout}:latest`]).toString());
    expect(oci.Digest).toBe(f.manifestDigest);
    expect(oci.Env).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    const cfg = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${f.ociLayout}:latest`]).toString());
    expect(cfg.config.Cmd).toEqual(IMAGE_CMD);
    expect(cfg.rootfs.diff_ids).toEqual([f.diffId]);
    const da = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `docker-archive:${f.dockerArchive}`]).toString());
    expect(da.rootfs.diff_ids).toEqual([f.diffId]);
    expect(existsSync(f.ociArchive)).toBe(true);
    const listing = execFileSync('tar', ['-tf', f.ociArchive]).toString();
    expect(listing).toContain('./index.json');
    expect(listing).toContain('./oci-layout');
  });
});
