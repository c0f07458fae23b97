// Retries: a small HTTP proxy in front of Debian's docker-registry fails requests on
// purpose (503, or the connection cut halfway through a blob's body). A pull through it
// still succeeds, resuming a cut blob with a Range request; a registry that always
// fails gives a clear error after a fixed number of attempts and leaves nothing behind.
import { readFileSync, rmSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import type { Progress } from '../../shimd/src/images/registry/transfer.js';
import { makeEnv, tempDir } from './helpers.js';
import { type Registry, skopeo, startProxy, startRegistry } from './registry.js';

const isBlobGet = (req: http.IncomingMessage) => req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');

describe('registry retries', () => {
  let work: string;
  let reg: Registry;
  let layer: { digest: string; size: number };
  let config: { digest: string; size: number };

  beforeAll(async () => {
    work = tempDir('retry');
    reg = await startRegistry(work);
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${fixtures().ociLayout}:latest`, `docker://${reg.host}/img/busybox:1`]);
    const f = fixtures();
    const manifest = JSON.parse(readFileSync(join(f.ociLayout, 'blobs', 'sha256', f.manifestDigest.slice(7)), 'utf8'));
    layer = manifest.layers[0];
    config = manifest.config;
  });
  afterAll(async () => {
    await reg?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('pulls through failures: a 503 on the manifest and config, the connection cut mid-body on the layer, resumed with Range', async () => {
    const proxy = await startProxy(reg.host, (req, seen) => {
      if (seen > 0) return 'forward';
      if (req.method === 'GET' && /\/manifests\//.test(req.url ?? '')) return '503';
      if (isBlobGet(req)) return req.url?.includes(layer.digest) ? 'reset' : '503';
      return 'forward';
    });
    const env = makeEnv('retry');
    try {
      const events: Progress[] = [];
      const img = await env.local.pull('default', `${proxy.host}/img/busybox:1`, { onProgress: (p) => events.push(p) });
      expect(img.target.digest).toBe(fixtures().manifestDigest);
      // The layer's progress says it is retrying, then resuming where the data ended.
      const mine = events.filter((e) => e.id === layer.digest.slice(7, 19)).map((e) => e.status);
      expect(mine).toContain('Retrying in 1 second');
      expect(mine.indexOf('Resuming')).toBeGreaterThan(mine.indexOf('Retrying in 1 second'));
      const bytes = readFileSync(join(fixtures().ociLayout, 'blobs', 'sha256', layer.digest.slice(7)));
      expect(env.local.content.readBytes(layer.digest).equals(bytes)).toBe(true);
      expect(env.local.content.ingests()).toEqual([]);
      // What the proxy saw: each failure, then the retry.
      const forPath = (s: string) => proxy.log.filter((l) => l.method === 'GET' && l.path.includes(s));
      expect(forPath('/manifests/1').map((l) => l.outcome)).toEqual(['503', 'forwarded']);
      expect(forPath(config.digest).map((l) => l.outcome)).toEqual(['503', 'forwarded']);
      const layerReqs = forPath(layer.digest);
      expect(layerReqs.map((l) => l.outcome)).toEqual(['reset', 'forwarded']);
      expect(layerReqs[0]!.range).toBeUndefined();
      // The second request asks only for what is missing.
      const start = Number(/^bytes=(\d+)-$/.exec(layerReqs[1]!.range ?? '')?.[1]);
      expect(start).toBeGreaterThan(0);
      expect(start).toBe(layerReqs[0]!.bytes);
    } finally {
      env.cleanup();
      await proxy.stop();
    }
  });

  it('pushes through failures: a 503 on the first blob upload and on the first manifest put', async () => {
    let putFailed = false;
    const proxy = await startProxy(reg.host, (req, seen) => {
      if (req.method === 'PUT' && /\/blobs\/uploads\//.test(req.url ?? '') && !putFailed) {
        putFailed = true;
        return '503';
      }
      if (req.method === 'PUT' && /\/manifests\//.test(req.url ?? '') && seen === 0) return '503';
      return 'forward';
    });
    const env = makeEnv('retry-push');
    try {
      await env.local.importArchive('default', fixtures().ociArchive);
      const pushed = await env.local.push('default', 'busybox', { remote: `${proxy.host}/img/pushed:1` });
      expect(pushed.digest).toBe(fixtures().manifestDigest);
      const puts = proxy.log.filter((l) => l.method === 'PUT');
      expect(puts.filter((l) => l.outcome === '503')).toHaveLength(2);
      // skopeo reads back what was pushed, straight from the registry.
      const inspect = JSON.parse(await skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/img/pushed:1`]));
      expect(inspect.Digest).toBe(fixtures().manifestDigest);
    } finally {
      env.cleanup();
      await proxy.stop();
    }
  });

  it('gives up on a registry that always fails, after 4 attempts, leaving nothing behind', async () => {
    const proxy = await startProxy(reg.host, (req) => (isBlobGet(req) ? '503' : 'forward'));
    const env = makeEnv('retry-fail');
    try {
      const err = await env.local.pull('default', `${proxy.host}/img/busybox:1`).catch((e) => e);
      expect(err).toMatchObject({ kind: 'Unavailable' });
      expect(err.message).toMatch(/blob sha256:[a-f0-9]{64}: giving up after 4 attempts: .*HTTP 503.*UNAVAILABLE: img-test proxy: try again/);
      const tries = proxy.log.filter((l) => l.path.includes(layer.digest));
      expect(tries).toHaveLength(4);
      expect(tries.every((l) => l.outcome === '503')).toBe(true);
      expect(env.local.images.list('default')).toEqual([]);
      expect(env.local.content.ingests()).toEqual([]);
      expect(env.local.content.has(layer.digest)).toBe(false);
      expect(env.local.snapshots.list()).toEqual([]);
    } finally {
      env.cleanup();
      await proxy.stop();
    }
  });

  it('does not retry what cannot change: an image the registry does not have fails at once', async () => {
    const proxy = await startProxy(reg.host, () => 'forward');
    const env = makeEnv('retry-404');
    try {
      await expect(env.local.pull('default', `${proxy.host}/img/nosuch:1`)).rejects.toMatchObject({ kind: 'NotFound' });
      expect(proxy.log.filter((l) => l.path.includes('/manifests/'))).toHaveLength(1);
    } finally {
      env.cleanup();
      await proxy.stop();
    }
  });
});
