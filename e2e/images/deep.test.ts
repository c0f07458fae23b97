// An image deeper than overlay's mount options allow with full paths: busybox plus 119
// generated layers (120 in all). Its rootfs mount names the lower dirs by short links,
// stays within a page, shows every layer's file and honours a whiteout near the top;
// and `berth ctr run` runs it through berth-shimd, berth-shim and berth-runtime.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { bins } from '../helpers.js';
import { cleanupShimd, type Shimd, startShimd, uid } from '../shimd/helpers.js';
import { shortLinkDir, unmount } from '../../shimd/src/images/snapshots/overlay.js';
import { buildTar } from '../../shimd/src/images/tar/writer.js';
import { dir, file, makeEnv, mountAt, sha, tarLayout, tempDir, writeBlob, writeIndex } from './helpers.js';

const LAYERS = 120;
const NAME = 'docker.io/library/img-deep:120';

/** An OCI layout: the fixture's busybox layer, then LAYERS-1 small ones. */
function buildDeepLayout(layout: string): void {
  const f = fixtures();
  const fm = JSON.parse(readFileSync(join(f.ociLayout, 'blobs', 'sha256', f.manifestDigest.slice(7)), 'utf8'));
  const fc = JSON.parse(readFileSync(join(f.ociLayout, 'blobs', 'sha256', fm.config.digest.slice(7)), 'utf8'));
  const base = fm.layers[0];
  writeBlob(layout, readFileSync(join(f.ociLayout, 'blobs', 'sha256', base.digest.slice(7))));
  const layers = [base];
  const diffIds = [fc.rootfs.diff_ids[0]];
  for (let i = 1; i < LAYERS; i++) {
    const entries = [dir('layers'), file(`layers/l${i}`, `layer ${i}\n`)];
    if (i === 1) entries.push(file('layers/gone', 'hidden later\n'));
    if (i === LAYERS - 2) entries.push(file('layers/.wh.gone', ''));
    const tar = buildTar(entries);
    diffIds.push(sha(tar));
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...writeBlob(layout, gzipSync(tar)) });
  }
  const config = writeBlob(
    layout,
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { ...fc.config, Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } })),
  );
  const manifest = writeBlob(
    layout,
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers })),
  );
  writeIndex(layout, [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'io.containerd.image.name': NAME } }]);
}

describe(`an image of ${LAYERS} layers`, () => {
  let work: string;
  let tar: string;

  beforeAll(() => {
    work = tempDir('deep');
    const layout = join(work, 'layout');
    buildDeepLayout(layout);
    tar = tarLayout(layout, join(work, 'deep.tar'));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('mounts with short lower-dir links within a page and shows every layer', async () => {
    const env = makeEnv('deep');
    try {
      const [img] = await env.local.importArchive('default', tar);
      expect(img!.name).toBe(NAME);
      const mounts = await env.local.prepareRootfs('default', NAME, 'img-deep-rootfs');
      expect(mounts).toHaveLength(1);
      const opts = mounts[0]!.options.join(',');
      expect(opts.length).toBeLessThan(4096);
      const lower = mounts[0]!.options.find((o) => o.startsWith('lowerdir='))!.slice('lowerdir='.length).split(':');
      expect(lower).toHaveLength(LAYERS);
      expect(lower.every((d) => d.startsWith(`${env.local.snapshots.linkDir}/`))).toBe(true);
      // With full paths the options would not have fit.
      expect(lower.map((d) => realpathSync(d)).join(':').length).toBeGreaterThan(4096);
      const root = mountAt(env, mounts, 'deep');
      for (const i of [1, 60, LAYERS - 1]) expect(readFileSync(join(root, 'layers', `l${i}`), 'utf8')).toBe(`layer ${i}\n`);
      expect(existsSync(join(root, 'layers', 'gone'))).toBe(false);
      expect(existsSync(join(root, 'bin', 'busybox'))).toBe(true);
      // Removing the snapshots removes their links.
      const linkDir = env.local.snapshots.linkDir;
      env.local.images.delete('default', NAME);
      for (const m of env.mounts.splice(0).reverse()) unmount(m);
      env.local.snapshots.remove('img-deep-rootfs');
      env.local.gc();
      expect(env.local.snapshots.list()).toEqual([]);
      expect(existsSync(linkDir) ? readdirSync(linkDir) : []).toEqual([]);
    } finally {
      env.cleanup();
    }
  });

  it('runs with berth ctr run through berth-shimd and berth-runtime', async () => {
    let shimd: Shimd | undefined;
    try {
      shimd = await startShimd();
      const ctr = (args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          execFile(process.execPath, [bins.cli, 'ctr', '--address', shimd!.address, ...args], { timeout: 120_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
          );
        });
      expect(await ctr(['images', 'import', tar])).toMatchObject({ code: 0 });
      const r = await ctr(['run', '--rm', NAME, `img-deep-${uid()}`, 'sh', '-c', `cat /layers/l1 /layers/l${LAYERS - 1}; ls /layers | wc -l; test -e /layers/gone || echo gone`]);
      expect(r).toEqual({ code: 0, stdout: `layer 1\nlayer ${LAYERS - 1}\n${LAYERS - 1}\ngone\n`, stderr: '' });
    } finally {
      await cleanupShimd(shimd);
      if (shimd) rmSync(shortLinkDir(join(shimd.root, 'snapshots')), { recursive: true, force: true });
    }
  });
});
