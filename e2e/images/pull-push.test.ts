// Pull and push against Debian's docker-registry on 127.0.0.1: images put there by
// skopeo (a third-party producer) from the fixture's OCI layout and from layouts built
// here; no auth, htpasswd basic auth, and bearer tokens from a token server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import type { Progress } from '../../shimd/src/images/registry/transfer.js';
import { addImage, dir, type Env, file, makeEnv, mountAt, tempDir, writeBlob, writeIndex } from './helpers.js';
import { type Registry, skopeo, startRegistry } from './registry.js';
import { rmSync } from 'node:fs';

describe('pull and push without auth', () => {
  let work: string;
  let reg: Registry;
  let env: Env;

  beforeAll(async () => {
    work = tempDir('reg');
    reg = await startRegistry(work);
    env = makeEnv('pull');
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${fixtures().ociLayout}:latest`, `docker://${reg.host}/img/busybox:1`]);
  });
  afterAll(async () => {
    await reg?.stop();
    env?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('pulls an image skopeo pushed, with per-layer progress, and runs busybox from it', async () => {
    const events: Progress[] = [];
    const img = await env.local.pull('default', `${reg.host}/img/busybox:1`, { onProgress: (p) => events.push(p) });
    expect(img.name).toBe(`${reg.host}/img/busybox:1`);
    const f = fixtures();
    const layer = JSON.parse(readFileSync(join(f.ociLayout, 'blobs', 'sha256', f.manifestDigest.slice(7)), 'utf8')).layers[0];
    const id = layer.digest.slice(7, 19);
    const mine = events.filter((e) => e.id === id).map((e) => e.status);
    expect(mine[0]).toBe('Pulling fs layer');
    expect(mine).toContain('Downloading');
    expect(mine).toContain('Download complete');
    expect(mine).toContain('Pull complete');
    const last = events.filter((e) => e.id === id && e.status === 'Downloading').pop()!;
    expect(last.current).toBe(layer.size);
    expect(last.total).toBe(layer.size);
    const root = mountAt(env, await env.local.prepareRootfs('default', img.name, 'img-pull-1'), 'pull1');
    expect(readFileSync(join(root, 'bin', 'busybox')).equals(readFileSync('/bin/busybox'))).toBe(true);

    // A second pull finds the layer present and does not fetch it.
    const again: Progress[] = [];
    await env.local.pull('other', `${reg.host}/img/busybox:1`, { onProgress: (p) => again.push(p) });
    expect(again.filter((e) => e.id === id).map((e) => e.status)).toEqual(['Already exists', 'Already exists']);
  });

  it('resumes an interrupted layer download with a range request', async () => {
    const f = fixtures();
    const e2 = makeEnv('resume');
    try {
      const manifest = JSON.parse(readFileSync(join(f.ociLayout, 'blobs', 'sha256', f.manifestDigest.slice(7)), 'utf8'));
      const layer = manifest.layers[0];
      const bytes = readFileSync(join(f.ociLayout, 'blobs', 'sha256', layer.digest.slice(7)));
      // What an interrupted pull leaves: the first part of the layer in its ingest.
      const w = e2.local.content.writer(`pull-${layer.digest}`, { digest: layer.digest, size: layer.size });
      w.write(bytes.subarray(0, 100_000));
      w.close();
      const events: Progress[] = [];
      await e2.local.pull('default', `${reg.host}/img/busybox:1`, { onProgress: (p) => events.push(p) });
      expect(events.find((e) => e.status === 'Resuming')).toMatchObject({ current: 100_000, total: layer.size });
      expect(e2.local.content.readBytes(layer.digest).equals(bytes)).toBe(true);
      expect(e2.local.content.ingests()).toEqual([]);
    } finally {
      e2.cleanup();
    }
  });

  it('pulls by digest and refuses a digest the registry does not have', async () => {
    const f = fixtures();
    const img = await env.local.pull('default', `${reg.host}/img/busybox@${f.manifestDigest}`);
    expect(img.target.digest).toBe(f.manifestDigest);
    await expect(env.local.pull('default', `${reg.host}/img/busybox@sha256:${'0'.repeat(64)}`)).rejects.toThrow(/manifest.*(404|MANIFEST_UNKNOWN|unknown)/i);
    await expect(env.local.pull('default', `${reg.host}/img/nosuch:1`)).rejects.toMatchObject({ kind: 'NotFound' });
  });

  it('pushes to a new repository with a cross-repository mount, and skopeo reads it back', async () => {
    await env.local.pull('default', `${reg.host}/img/busybox:1`);
    env.local.tagImage('default', `${reg.host}/img/busybox:1`, `${reg.host}/img/copy:2`);
    const events: Progress[] = [];
    const pushed = await env.local.push('default', `${reg.host}/img/copy:2`, { onProgress: (p) => events.push(p) });
    expect(events.some((e) => e.status === 'Mounted from img/busybox')).toBe(true);
    expect(pushed.digest).toBe(fixtures().manifestDigest);
    const inspect = JSON.parse(await skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/img/copy:2`]));
    expect(inspect.Digest).toBe(fixtures().manifestDigest);
    // Pushing again: every blob is already there.
    const again: Progress[] = [];
    await env.local.push('default', `${reg.host}/img/copy:2`, { onProgress: (p) => again.push(p) });
    expect(again.filter((e) => e.status === 'Pushing')).toEqual([]);
    expect(again.filter((e) => e.status === 'Layer already exists').length).toBe(2);
  });

  it('pushes an imported image with an upload and skopeo copies it out intact', async () => {
    const local2 = makeEnv('push2');
    try {
      await local2.local.importArchive('default', fixtures().dockerArchive, { unpack: false });
      await local2.local.push('default', 'busybox', { remote: `${reg.host}/img/fromarchive:latest` });
      const out = join(local2.dir, 'out');
      await skopeo(['copy', '--src-tls-verify=false', `docker://${reg.host}/img/fromarchive:latest`, `oci:${out}:x`]);
      const idx = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
      expect(idx.manifests).toHaveLength(1);
    } finally {
      local2.cleanup();
    }
  });

  it('selects the platform from an index with two', async () => {
    const layout = join(work, 'multi');
    const amd = addImage(layout, { layers: [[dir('etc/'), file('etc/arch', 'amd64\n')]] });
    const arm = addImage(layout, { layers: [[dir('etc/'), file('etc/arch', 'arm64\n')]], platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    const inner = writeBlob(layout, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [amd.descriptor, arm.descriptor] })));
    writeIndex(layout, [{ mediaType: 'application/vnd.oci.image.index.v1+json', ...inner, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }]);
    await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${layout}:multi`, `docker://${reg.host}/img/multi:1`]);
    const e2 = makeEnv('multi');
    try {
      const def = await e2.local.pull('default', `${reg.host}/img/multi:1`);
      expect(def.target.mediaType).toMatch(/index|manifest.list/);
      const a = mountAt(e2, await e2.local.prepareRootfs('default', def.name, 'img-multi-amd'), 'amd');
      expect(readFileSync(join(a, 'etc', 'arch'), 'utf8')).toBe('amd64\n');
      const p = { os: 'linux', architecture: 'arm64' };
      await e2.local.pull('arm', `${reg.host}/img/multi:1`, { platform: p });
      const b = mountAt(e2, await e2.local.prepareRootfs('arm', def.name, 'img-multi-arm', p), 'arm');
      expect(readFileSync(join(b, 'etc', 'arch'), 'utf8')).toBe('arm64\n');
      await expect(e2.local.pull('s390', `${reg.host}/img/multi:1`, { platform: { os: 'linux', architecture: 's390x' } })).rejects.toThrow(
        /no manifest for platform linux\/s390x \(index has: linux\/amd64, linux\/arm64/,
      );
    } finally {
      e2.cleanup();
    }
  });
});

for (const kind of ['basic', 'token'] as const) {
  describe(`pull and push with ${kind} auth`, () => {
    let work: string;
    let reg: Awaited<ReturnType<typeof startRegistry>>;
    let env: Env;
    const creds = { username: 'img-user', password: 'img-secret-pw' };

    beforeAll(async () => {
      work = tempDir(`reg-${kind}`);
      reg = await startRegistry(work, { kind, ...creds });
      env = makeEnv(`auth-${kind}`);
      await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `${creds.username}:${creds.password}`, `oci:${fixtures().ociLayout}:latest`, `docker://${reg.host}/img/private:1`]);
    });
    afterAll(async () => {
      await reg?.stop();
      env?.cleanup();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('pulls with credentials and pushes with them', async () => {
      const img = await env.local.pull('default', `${reg.host}/img/private:1`, { credentials: creds });
      expect(img.target.digest).toBe(fixtures().manifestDigest);
      await env.local.push('default', img.name, { remote: `${reg.host}/img/pushed:1`, credentials: creds });
      const inspect = JSON.parse(await skopeo(['inspect', '--tls-verify=false', '--creds', `${creds.username}:${creds.password}`, `docker://${reg.host}/img/pushed:1`]));
      expect(inspect.Digest).toBe(fixtures().manifestDigest);
    });

    it('fails clearly with wrong or missing credentials', async () => {
      const e2 = makeEnv(`auth-bad-${kind}`);
      try {
        await expect(e2.local.pull('default', `${reg.host}/img/private:1`, { credentials: { username: 'img-user', password: 'wrong' } })).rejects.toMatchObject({
          kind: 'Unauthenticated',
          message: expect.stringMatching(/img-user/),
        });
        if (kind === 'basic') {
          await expect(e2.local.pull('default', `${reg.host}/img/private:1`)).rejects.toThrow(/authentication required \(basic\): no credentials given/);
        } else {
          // Anonymous tokens may pull but not push.
          const img = await e2.local.pull('default', `${reg.host}/img/private:1`);
          await expect(e2.local.push('default', img.name, { remote: `${reg.host}/img/anon:1` })).rejects.toMatchObject({ kind: 'Unauthenticated' });
          expect(reg.tokensIssued.some((t) => t.startsWith('anonymous repository:img/private:pull'))).toBe(true);
        }
        expect(e2.local.images.list('default').filter((i) => i.name.includes('anon'))).toEqual([]);
      } finally {
        e2.cleanup();
      }
    });
  });
}
