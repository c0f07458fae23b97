// Export round trips read back by skopeo and umoci (third-party consumers), and
// garbage collection of blobs and snapshots nothing refers to.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtures, IMAGE_ENV } from '../fixtures/index.js';
import { chainIds } from '../../shimd/src/images/digest.js';
import { buildLayout, dir, type Env, file, makeEnv, tarLayout } from './helpers.js';
import { skopeo } from './registry.js';

describe('export', () => {
  let env: Env | undefined;
  afterEach(() => {
    env?.cleanup();
    env = undefined;
  });

  it('writes an OCI layout tar that skopeo and umoci read', async () => {
    env = makeEnv('export-oci');
    const f = fixtures();
    await env.local.importArchive('default', f.dockerArchive);
    const out = join(env.dir, 'out-oci.tar');
    await env.local.exportArchive('default', ['busybox'], out, 'oci');
    const inspect = JSON.parse(await skopeo(['inspect', `oci-archive:${out}:latest`]));
    expect(inspect.Layers).toHaveLength(1);
    expect(inspect.Env).toEqual(IMAGE_ENV);
    const layout = join(env.dir, 'layout');
    mkdirSync(layout);
    execFileSync('tar', ['-C', layout, '-xf', out]);
    expect(execFileSync('umoci', ['ls', '--layout', layout]).toString()).toContain('latest');
    const bundle = join(env.dir, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${layout}:latest`, bundle], { stdio: 'ignore' });
    expect(readFileSync(join(bundle, 'rootfs', 'bin', 'busybox')).equals(readFileSync(join(f.rootfs, 'bin', 'busybox')))).toBe(true);
    // And back in: the same image.
    const again = makeEnv('export-oci-back');
    try {
      const [img] = await again.local.importArchive('default', out);
      expect(img.name).toBe('docker.io/library/busybox:latest');
      expect(again.local.resolve('default', 'busybox').configDesc.digest).toBe(f.configDigest);
    } finally {
      again.cleanup();
    }
  });

  it('writes a docker archive that skopeo reads and that imports back with the same layers', async () => {
    env = makeEnv('export-docker');
    const f = fixtures();
    await env.local.importArchive('default', f.ociArchive);
    const layout = join(env.dir, 'layers');
    const img = buildLayout(layout, { layers: [[dir('a/'), file('a/x', 'x\n'), file('a/y', 'y\n')], [dir('a/'), { path: 'a/.wh.x', type: 'file', data: '' }]] }, '1');
    await env.local.importArchive('default', tarLayout(layout, join(env.dir, 'in.tar')), { name: 'example.com/wh' });
    const out = join(env.dir, 'out-docker.tar');
    await env.local.exportArchive('default', ['busybox', 'example.com/wh:1'], out, 'docker');
    const inspect = JSON.parse(await skopeo(['inspect', `docker-archive:${out}:docker.io/library/busybox:latest`]));
    expect(inspect.Layers).toHaveLength(1);
    const copied = join(env.dir, 'copied');
    await skopeo(['copy', `docker-archive:${out}:example.com/wh:1`, `oci:${copied}:wh`]);
    expect(existsSync(join(copied, 'index.json'))).toBe(true);
    const again = makeEnv('export-docker-back', 'overlay');
    try {
      const imgs = await again.local.importArchive('default', out);
      expect(imgs.map((i) => i.name).sort()).toEqual(['docker.io/library/busybox:latest', 'example.com/wh:1']);
      expect(again.local.resolve('default', 'example.com/wh:1').config.rootfs.diff_ids).toEqual(img.diffIds);
      const chain = chainIds(img.diffIds);
      expect(again.local.snapshots.stat(chain[1]).parent).toBe(chain[0]);
    } finally {
      again.cleanup();
    }
  });

  it('refuses an unknown image or format, writing nothing', async () => {
    env = makeEnv('export-bad');
    const out = join(env.dir, 'nothing.tar');
    await expect(env.local.exportArchive('default', ['nosuch'], out, 'oci')).rejects.toThrow(/image "nosuch": not found/);
    await env.local.importArchive('default', fixtures().ociArchive, { unpack: false });
    await expect(env.local.exportArchive('default', ['busybox'], out, 'zip' as 'oci')).rejects.toThrow(/unknown export format "zip"/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('gc', () => {
  let env: Env | undefined;
  afterEach(() => {
    env?.cleanup();
    env = undefined;
  });

  it('removes what no image or container uses, and keeps shared layers', async () => {
    env = makeEnv('gc', 'overlay');
    const base = [dir('etc/'), file('etc/os', 'base\n')];
    const one = buildLayout(join(env.dir, 'l1'), { layers: [base, [file('one', '1\n')]] });
    const two = buildLayout(join(env.dir, 'l2'), { layers: [base, [file('two', '2\n')]] });
    await env.local.importArchive('default', tarLayout(join(env.dir, 'l1'), join(env.dir, '1.tar')), { name: 'example.com/one' });
    await env.local.importArchive('other', tarLayout(join(env.dir, 'l2'), join(env.dir, '2.tar')), { name: 'example.com/two' });
    expect(env.local.gc()).toEqual({ blobs: [], snapshots: [], leases: [] });

    const c1 = chainIds(one.diffIds);
    const c2 = chainIds(two.diffIds);
    // A container on image one keeps its layers after the image is gone.
    await env.local.prepareRootfs('default', 'example.com/one:latest', 'img-gc-ctr');
    env.local.deleteImage('default', 'example.com/one:latest');
    const r1 = env.local.gc();
    expect(r1.snapshots).toEqual([]);
    expect(r1.blobs.sort()).toEqual([one.manifestDigest, one.configDigest, one.layerDigests[1]].sort());
    expect(env.local.content.has(one.layerDigests[0])).toBe(true); // shared with two

    env.local.snapshots.remove('img-gc-ctr');
    const r2 = env.local.gc();
    expect(r2.snapshots).toEqual([c1[1]]);
    expect(env.local.snapshots.exists(c1[0])).toBe(true);
    expect(env.local.snapshots.exists(c2[1])).toBe(true);

    env.local.deleteImage('other', 'example.com/two:latest');
    const r3 = env.local.gc();
    expect(r3.snapshots.sort()).toEqual([c2[0], c2[1]].sort());
    expect(env.local.content.list()).toEqual([]);
    expect(env.local.snapshots.list()).toEqual([]);
  });
});
