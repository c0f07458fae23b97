// Import of the fixture's OCI layout tar and docker-archive tar, unpacked into overlay
// snapshots and mounted: busybox must be there, byte for byte.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { chainIds } from '../../shimd/src/images/digest.js';
import { type Env, makeEnv, mountAt } from './helpers.js';

describe('import', () => {
  let env: Env | undefined;
  afterEach(() => {
    env?.cleanup();
    env = undefined;
  });

  for (const [kind, mode] of [
    ['ociArchive', 'overlay'],
    ['dockerArchive', 'overlay'],
    ['ociArchive', 'copy'],
  ] as const) {
    it(`imports the fixture ${kind} and mounts a ${mode} snapshot with busybox in it`, async () => {
      const f = fixtures();
      env = makeEnv('import', mode);
      const imgs = await env.local.importArchive('default', f[kind]);
      expect(imgs.map((i) => i.name)).toEqual(['docker.io/library/busybox:latest']);
      const chain = chainIds([f.diffId]);
      expect(env.local.snapshots.stat(chain[0]).kind).toBe('committed');
      const mounts = await env.local.prepareRootfs('default', 'busybox', 'img-ctr-1');
      expect(mounts[0].type).toBe(mode === 'overlay' ? 'overlay' : 'bind');
      const root = mountAt(env, mounts, 'rootfs');
      expect(readFileSync(join(root, 'bin', 'busybox')).equals(readFileSync(f.rootfs + '/bin/busybox'))).toBe(true);
      expect(statSync(join(root, 'bin', 'busybox')).mode & 0o777).toBe(0o755);
      expect(statSync(join(root, 'tmp')).mode & 0o7777).toBe(0o1777);
      const out = execFileSync('chroot', [root, '/bin/sh', '-c', 'echo hi > /tmp/x && cat /tmp/x && ls /bin/ls']).toString();
      expect(out).toBe('hi\n/bin/ls\n');
      // The write went to the container's snapshot, not the shared layer.
      expect(existsSync(join(env.local.snapshots.dir(chain[0]), 'tmp', 'x'))).toBe(false);
    });
  }

  it('imports the same layer twice but unpacks it once', async () => {
    const f = fixtures();
    env = makeEnv('import-twice');
    await env.local.importArchive('default', f.ociArchive);
    await env.local.importArchive('other', f.dockerArchive);
    expect(env.local.images.list('other').map((i) => i.name)).toEqual(['docker.io/library/busybox:latest']);
    expect(env.local.snapshots.list().filter((s) => s.kind === 'committed')).toHaveLength(1);
  });

  it('rejects a file that is not an archive, leaving nothing behind', async () => {
    env = makeEnv('import-bad');
    await expect(env.local.importArchive('default', '/etc/passwd')).rejects.toThrow(/tar|archive/);
    await expect(env.local.importArchive('default', join(env.dir, 'missing.tar'))).rejects.toThrow(/no such file/);
    expect(env.local.images.list('default')).toEqual([]);
    expect(env.local.content.list()).toEqual([]);
  });
});
