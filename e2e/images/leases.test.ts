// GC leases: a garbage collection that runs while a pull is under way keeps the blobs
// the pull has fetched and the layers it has unpacked, although no image refers to them
// yet (the image is created last). The pull is held mid-way by a proxy in front of
// Debian's docker-registry that delays one layer until the test has run GC.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcResult } from '../../shimd/src/images/local.js';
import { unmount } from '../../shimd/src/images/snapshots/overlay.js';
import { type BuiltImage, buildLayout, dir, file, makeEnv, mountAt, tempDir } from './helpers.js';
import { type Registry, skopeo, startProxy, startRegistry } from './registry.js';

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 500) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('GC leases', () => {
  let work: string;
  let reg: Registry;
  let img: BuiltImage;

  beforeAll(async () => {
    work = tempDir('lease');
    reg = await startRegistry(work);
    img = buildLayout(join(work, 'layout'), {
      layers: [
        [dir('a'), file('a/one', 'layer one\n')],
        [dir('b'), file('b/two', 'layer two\n'), file('a/.wh.one', '')],
        [dir('c'), file('c/three', 'x'.repeat(300_000))],
      ],
    });
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${join(work, 'layout')}:latest`, `docker://${reg.host}/img/leased:1`]);
  });
  afterAll(async () => {
    await reg?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a GC during a pull keeps the blobs fetched and the layers unpacked so far', async () => {
    const lastLayer = img.layerDigests[2]!;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const proxy = await startProxy(reg.host, (req, seen) => (req.method === 'GET' && req.url?.includes(`/blobs/${lastLayer}`) && seen === 0 ? gate : 'forward'));
    const env = makeEnv('lease');
    try {
      const c = env.local.content;
      let duringUnpack: GcResult | undefined;
      let committedAtThatPoint: string[] = [];
      const pulling = env.local.pull('default', `${proxy.host}/img/leased:1`, {
        onProgress: (p) => {
          // The first layer is unpacked: run GC before the image exists.
          if (p.status === 'Pull complete' && !duringUnpack) {
            committedAtThatPoint = env.local.snapshots.list().filter((s) => s.kind === 'committed').map((s) => s.name);
            duringUnpack = env.local.gc();
          }
        },
      });
      pulling.catch(() => {}); // awaited below
      const fetched = [img.manifestDigest, img.configDigest, img.layerDigests[0]!, img.layerDigests[1]!];
      await until('the other blobs', () => fetched.every((d) => c.has(d)));
      expect(env.local.images.list('default')).toEqual([]);
      const leases = env.local.leases.list();
      expect(leases).toHaveLength(1);
      expect(leases[0]!.content).toEqual(expect.arrayContaining([...fetched, lastLayer]));

      const during = env.local.gc();
      expect(during).toEqual({ blobs: [], snapshots: [], leases: [] });
      for (const d of fetched) expect(c.has(d)).toBe(true);

      release();
      const pulled = await pulling;
      expect(duringUnpack).toEqual({ blobs: [], snapshots: [], leases: [] });
      expect(committedAtThatPoint).toHaveLength(1);
      expect(env.local.snapshots.exists(committedAtThatPoint[0]!)).toBe(true);
      // The pull ended: its lease is gone, and the image is whole.
      expect(env.local.leases.list()).toEqual([]);
      const root = mountAt(env, await env.local.prepareRootfs('default', pulled.name, 'img-lease-rootfs'), 'lease');
      expect(readFileSync(join(root, 'b', 'two'), 'utf8')).toBe('layer two\n');
      expect(readFileSync(join(root, 'c', 'three'), 'utf8')).toHaveLength(300_000);

      // Without the image (and the lease), the same GC takes everything.
      for (const m of env.mounts.splice(0).reverse()) unmount(m);
      env.local.snapshots.remove('img-lease-rootfs');
      env.local.deleteImage('default', pulled.name);
      const after = env.local.gc();
      expect(after.blobs.sort()).toEqual([...fetched, lastLayer].sort());
      expect(after.snapshots).toHaveLength(3);
    } finally {
      release();
      env.cleanup();
      await proxy.stop();
    }
  });

  it('a live lease holds content and snapshots; a released or expired one holds nothing', async () => {
    const env = makeEnv('lease-unit');
    try {
      const c = env.local.content;
      const blob = c.writeBlob(Buffer.from('img-lease held blob'));
      const other = c.writeBlob(Buffer.from('img-lease expired blob'));
      env.local.snapshots.prepare('img-lease-extract', undefined);
      env.local.snapshots.commit('img-lease-layer', 'img-lease-extract');

      const live = env.local.leases.create();
      live.addContent(blob);
      live.addSnapshot('img-lease-layer');
      const expired = env.local.leases.create({ expiresInMs: 1 });
      expired.addContent(other);
      await new Promise((r) => setTimeout(r, 20));

      const r1 = env.local.gc();
      expect(r1).toEqual({ blobs: [other], snapshots: [], leases: [expired.id] });
      expect(c.has(blob)).toBe(true);
      expect(env.local.snapshots.exists('img-lease-layer')).toBe(true);
      expect(env.local.leases.list().map((l) => l.id)).toEqual([live.id]);

      live.release();
      const r2 = env.local.gc();
      expect(r2).toEqual({ blobs: [blob], snapshots: ['img-lease-layer'], leases: [] });
      expect(() => env.local.leases.create({ id: '../escape' })).toThrow(/lease id/);
      expect(env.local.leases.list()).toEqual([]);
    } finally {
      env.cleanup();
    }
  });
});
