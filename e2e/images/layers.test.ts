// Multi-layer images with whiteouts and opaque directories, shared base layers,
// gzip/zstd/uncompressed layers, ownership and modes, on both snapshotters.
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chainIds } from '../../shimd/src/images/digest.js';
import { linuxSys } from '../../shimd/src/images/sys.js';
import { buildLayout, dir, type Env, file, makeEnv, mountAt, tarLayout } from './helpers.js';

const base = [
  dir('etc/'),
  file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234::/home/app:/bin/sh\n'),
  file('etc/group', 'root:x:0:\napp:x:1234:\nstaff:x:50:app\n'),
  dir('a/'),
  file('a/x', 'x from base\n'),
  file('a/y', 'y from base\n'),
  dir('b/'),
  file('b/old', 'old\n'),
  dir('b/sub/'),
  file('b/sub/deep', 'deep\n'),
  file('suid', '#!/bin/sh\n', 0o4755, { uid: 1234, gid: 50 }),
  { path: 'link', type: 'symlink' as const, linkpath: 'a/y' },
  { path: 'hard', type: 'hardlink' as const, linkpath: 'a/y' },
  file('xattr', 'has one\n', 0o644, { xattrs: { 'user.berth': 'value-1' } }),
  file('old-mtime', 'then\n', 0o600, { mtime: 1_000_000_000 }),
];
const top = [
  dir('a/'),
  { path: 'a/.wh.x', type: 'file' as const, data: '' },
  dir('b/'),
  { path: 'b/.wh..wh..opq', type: 'file' as const, data: '' },
  file('b/new', 'new\n'),
  file('c', 'c\n'),
];

describe('layers', () => {
  let env: Env | undefined;
  afterEach(() => {
    env?.cleanup();
    env = undefined;
  });

  for (const mode of ['overlay', 'copy'] as const) {
    for (const compression of ['gzip', 'zstd', 'none'] as const) {
      it(`applies whiteouts and opaque dirs (${mode}, ${compression})`, async () => {
        env = makeEnv(`layers-${mode}`, mode);
        const layout = join(env.dir, 'layout');
        const img = buildLayout(layout, { layers: [base, top], compression });
        const archive = tarLayout(layout, join(env.dir, 'img.tar'));
        await env.local.importArchive('default', archive, { name: 'example.com/layers' });
        const root = mountAt(env, await env.local.prepareRootfs('default', 'example.com/layers:latest', 'img-layers'), 'root');
        expect(readdirSync(join(root, 'a'))).toEqual(['y']);
        expect(readdirSync(join(root, 'b'))).toEqual(['new']);
        expect(readFileSync(join(root, 'c'), 'utf8')).toBe('c\n');
        expect(readFileSync(join(root, 'link'), 'utf8')).toBe('y from base\n');
        expect(lstatSync(join(root, 'link')).isSymbolicLink()).toBe(true);
        const s = statSync(join(root, 'suid'));
        expect([s.mode & 0o7777, s.uid, s.gid]).toEqual([0o4755, 1234, 50]);
        expect(statSync(join(root, 'old-mtime')).mtimeMs).toBe(1_000_000_000_000);
        expect(linuxSys.lgetxattr(join(root, 'xattr'), 'user.berth')?.toString()).toBe('value-1');
        if (mode === 'overlay') {
          // The lower layer keeps what the upper one hides, stored once.
          const chain = chainIds(img.diffIds);
          const lower = env.local.snapshots.dir(chain[0]);
          expect(readFileSync(join(lower, 'a', 'x'), 'utf8')).toBe('x from base\n');
          const wh = lstatSync(join(env.local.snapshots.dir(chain[1]), 'a', 'x'));
          expect([wh.isCharacterDevice(), wh.rdev]).toEqual([true, 0]);
          expect(statSync(join(lower, 'hard')).ino).toBe(statSync(join(lower, 'a', 'y')).ino);
        }
        // The spec resolves users from the image's own /etc/passwd and /etc/group.
        const spec = (await env.local.generateSpec('default', 'example.com/layers:latest', 'img-c', { user: 'app' })) as any;
        expect(spec.process.user).toEqual({ uid: 1234, gid: 1234, additionalGids: [50] });
      });
    }
  }

  it('shares base layers between images and unpacks each once', async () => {
    env = makeEnv('layers-shared', 'overlay');
    const l1 = join(env.dir, 'l1');
    const l2 = join(env.dir, 'l2');
    const one = buildLayout(l1, { layers: [base, top] });
    const two = buildLayout(l2, { layers: [base, [file('other', 'other\n')]] });
    expect(one.diffIds[0]).toBe(two.diffIds[0]);
    await env.local.importArchive('default', tarLayout(l1, join(env.dir, '1.tar')), { name: 'example.com/one' });
    await env.local.importArchive('default', tarLayout(l2, join(env.dir, '2.tar')), { name: 'example.com/two' });
    const committed = env.local.snapshots.list().filter((s) => s.kind === 'committed');
    expect(committed).toHaveLength(3);
    const c1 = chainIds(one.diffIds);
    const c2 = chainIds(two.diffIds);
    expect(c1[0]).toBe(c2[0]);
    expect(env.local.snapshots.stat(c2[1]).parent).toBe(c1[0]);
  });

  it('rejects a layer whose content does not match the diff ID, leaving no snapshot', async () => {
    env = makeEnv('layers-bad', 'overlay');
    const layout = join(env.dir, 'layout');
    buildLayout(layout, { layers: [base] });
    // Rewrite the config with a wrong diff ID (and the manifest and index to match).
    const { writeBlob, writeIndex } = await import('./helpers.js');
    const idx = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const m = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', idx.manifests[0].digest.slice(7)), 'utf8'));
    const cfg = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', m.config.digest.slice(7)), 'utf8'));
    cfg.rootfs.diff_ids = [`sha256:${'1'.repeat(64)}`];
    m.config = { ...m.config, ...writeBlob(layout, Buffer.from(JSON.stringify(cfg))) };
    const md = writeBlob(layout, Buffer.from(JSON.stringify(m)));
    writeIndex(layout, [{ ...idx.manifests[0], ...md }]);
    await expect(env.local.importArchive('default', tarLayout(layout, join(env.dir, 'bad.tar')), { name: 'example.com/bad' })).rejects.toThrow(
      /does not match the config's diff ID/,
    );
    expect(env.local.snapshots.list()).toEqual([]);
    expect(env.local.images.list('default')).toEqual([]);
  });
});
