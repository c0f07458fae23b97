// GC racing an import: the archive reaches the gRPC Import through a FIFO that the test
// writes, so the import is held at a known point of the tar (mid-way through a layer
// blob, or after the blobs but before the file that names the image) while GC runs.
// What the import has written must survive; after it, the image is whole and its lease
// gone; once the image is deleted, GC collects everything.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { chainIds } from '../../shimd/src/images/digest.js';
import type { ImagesLocal } from '../../shimd/src/images/local.js';
import { registerImageServices } from '../../shimd/src/images/service.js';
import { mountAll, unmount } from '../../shimd/src/images/snapshots/overlay.js';
import { buildTar } from '../../shimd/src/images/tar/writer.js';
import { grpc, loadProto, namespaceMetadata } from '../../shimd/src/images/testing.js';
import { dir, file, sha, tempDir } from './helpers.js';

type Client = InstanceType<typeof grpc.Client> & Record<string, (...a: any[]) => any>;

interface TarSpan {
  name: string;
  /** Offset of the entry's data, and of the byte after its padded data. */
  data: number;
  end: number;
}

/** The entries of a plain ustar archive with their byte ranges. */
function tarSpans(buf: Buffer): TarSpan[] {
  const out: TarSpan[] = [];
  for (let off = 0; off + 512 <= buf.length; ) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, b: number) => h.subarray(a, b).toString('latin1').replace(/\0.*$/s, '');
    const size = Number.parseInt(str(124, 136).trim() || '0', 8);
    const prefix = str(345, 500);
    const name = (prefix ? `${prefix}/` : '') + str(0, 100);
    const data = off + 512;
    const end = data + Math.ceil(size / 512) * 512;
    out.push({ name: name.replace(/^\.\//, ''), data, end });
    off = end;
  }
  return out;
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 1000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Rig {
  dir: string;
  local: ImagesLocal;
  images: Client;
  content: Client;
  mounts: string[];
  call<T = any>(c: Client, m: string, req: object): Promise<T>;
  cleanup(): Promise<void>;
}

async function startRig(prefix: string): Promise<Rig> {
  const d = tempDir(prefix);
  const server = new grpc.Server();
  const local = registerImageServices(server, { root: join(d, 'root'), snapshotter: 'overlay', publish: () => {} });
  const sock = join(d, 'images.sock');
  await new Promise<void>((res, rej) => server.bindAsync(`unix://${sock}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
  const v1 = (loadProto('images') as any).berth.images.v1;
  const creds = grpc.credentials.createInsecure();
  const images: Client = new v1.Images(`unix://${sock}`, creds);
  const content: Client = new v1.Content(`unix://${sock}`, creds);
  const md = namespaceMetadata('img-igc');
  const mounts: string[] = [];
  return {
    dir: d,
    local,
    images,
    content,
    mounts,
    call: (c, m, req) => new Promise((res, rej) => c[m](req, md, (e: grpc.ServiceError | null, r: any) => (e ? rej(e) : res(r)))),
    async cleanup() {
      for (const m of mounts.reverse()) {
        try {
          unmount(m);
        } catch {
          // already gone
        }
      }
      images.close();
      content.close();
      await new Promise<void>((r) => server.tryShutdown(() => r()));
      local.snapshots.removeLinks();
      rmSync(d, { recursive: true, force: true });
    },
  };
}

/** A FIFO the import reads; the test writes the archive into it piece by piece. */
async function feeder(path: string) {
  const fh = await open(path, 'w'); // resolves once the import has opened it for reading
  return {
    async send(b: Buffer) {
      for (let o = 0; o < b.length; o += 1 << 16) await fh.write(b.subarray(o, Math.min(b.length, o + (1 << 16))));
    },
    close: () => fh.close(),
  };
}

/** Mounts a read-only View on the image's top layer and returns where. */
function viewAt(rig: Rig, top: string, name: string): string {
  const target = join(rig.dir, 'mnt', name);
  mkdirSync(target, { recursive: true });
  mountAll(rig.local.snapshots.view(name, top), target);
  rig.mounts.push(target);
  return target;
}

const NONE = { removed_blobs: [], removed_snapshots: [] };

describe('GC during an import', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.cleanup();
    rig = undefined;
  });

  it('keeps an OCI archive’s blobs while it streams in; the image is whole after it', async () => {
    const f = fixtures();
    rig = await startRig('igc-oci');
    const r = rig;
    const tar = readFileSync(f.ociArchive);
    const spans = tarSpans(tar);
    const blobs = spans.filter((s) => s.name.startsWith('blobs/sha256/') && s.end > s.data);
    const layer = blobs.reduce((a, b) => (b.end - b.data > a.end - a.data ? b : a));
    const index = spans.find((s) => s.name === 'index.json')!;
    expect(index.data).toBeGreaterThan(Math.max(...blobs.map((b) => b.data)));

    const fifo = join(r.dir, 'in.tar');
    execFileSync('mkfifo', [fifo]);
    const importDone = r.call(r.images, 'Import', { path: fifo });
    importDone.catch(() => {}); // awaited below
    const feed = await feeder(fifo);
    try {
      // Held mid-way through the layer blob: its ingest is in progress, no image exists.
      const mid = layer.data + Math.floor((layer.end - layer.data) / 2);
      await feed.send(tar.subarray(0, mid));
      await until('the layer ingest', () => r.local.content.ingests().some((i) => i.offset > 0));
      const written = blobs.filter((b) => b.end <= mid).map((b) => `sha256:${b.name.slice(13)}`);
      await until('the blobs before the layer', () => written.every((d) => r.local.content.has(d)));
      expect(await r.call(r.images, 'List', {})).toEqual({ images: [] });
      expect(await r.call(r.images, 'GC', {})).toEqual(NONE);
      for (const d of written) expect(r.local.content.has(d)).toBe(true);
      expect(r.local.content.ingests()).toHaveLength(1);

      // Held after every blob, before index.json: the blobs are held by the lease alone.
      await feed.send(tar.subarray(mid, index.data - 512));
      const all = blobs.map((b) => `sha256:${b.name.slice(13)}`);
      await until('every blob', () => all.every((d) => r.local.content.has(d)));
      const leases = r.local.leases.list();
      expect(leases).toHaveLength(1);
      expect(leases[0]!.content).toEqual(expect.arrayContaining(all));
      expect(await r.call(r.images, 'GC', {})).toEqual(NONE);
      for (const d of all) expect(r.local.content.has(d)).toBe(true);

      await feed.send(tar.subarray(index.data - 512));
      await feed.close();
      const imp = await importDone;
      expect(imp.images.map((i: any) => i.name)).toEqual(['docker.io/library/busybox:latest']);
      expect(r.local.leases.list()).toEqual([]);
      for (const d of all) expect(r.local.content.has(d)).toBe(true);
      const [top] = chainIds([f.diffId]);
      expect(r.local.snapshots.stat(top!).kind).toBe('committed');
      const root = viewAt(r, top!, 'img-igc-oci-view');
      expect(readFileSync(join(root, 'bin', 'busybox')).equals(readFileSync(join(f.rootfs, 'bin', 'busybox')))).toBe(true);

      // Nothing held any more: deleting the image lets GC take everything.
      expect(await r.call(r.images, 'GC', {})).toEqual(NONE);
      for (const m of r.mounts.splice(0).reverse()) unmount(m);
      r.local.snapshots.remove('img-igc-oci-view');
      await r.call(r.images, 'Delete', { name: 'busybox' });
      const gc = await r.call(r.images, 'GC', {});
      expect([...gc.removed_blobs].sort()).toEqual([...all].sort());
      expect(gc.removed_snapshots).toEqual([top]);
      expect(r.local.content.list()).toEqual([]);
      expect(r.local.snapshots.list()).toEqual([]);
    } finally {
      await feed.close().catch(() => {});
    }
  });

  it('keeps a docker-archive’s large layer once read, before manifest.json names the image', async () => {
    rig = await startRig('igc-docker');
    const r = rig;
    // A layer over the importer's in-memory limit streams to the content store at once.
    const big = randomBytes(5 << 20);
    const l1 = buildTar([dir('a'), { ...file('a/one', 'layer one\n') }]);
    const l2 = buildTar([dir('big'), { ...file('big/data', ''), data: big }]);
    const config = Buffer.from(
      JSON.stringify({ os: 'linux', architecture: 'amd64', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [sha(l1), sha(l2)] } }),
    );
    const cfgName = `${sha(config).slice(7)}.json`;
    const manifest = Buffer.from(JSON.stringify([{ Config: cfgName, RepoTags: ['img-igc.example/big:1'], Layers: ['l1/layer.tar', 'l2/layer.tar'] }]));
    const tar = buildTar([
      dir('l1'),
      { ...file('l1/layer.tar', ''), data: l1 },
      dir('l2'),
      { ...file('l2/layer.tar', ''), data: l2 },
      { ...file(cfgName, ''), data: config },
      { ...file('manifest.json', ''), data: manifest },
    ]);
    const spans = tarSpans(tar);
    const afterBig = spans.find((s) => s.name === 'l2/layer.tar')!.end;

    const fifo = join(r.dir, 'in.tar');
    execFileSync('mkfifo', [fifo]);
    const importDone = r.call(r.images, 'Import', { path: fifo });
    importDone.catch(() => {});
    const feed = await feeder(fifo);
    try {
      await feed.send(tar.subarray(0, afterBig));
      await until('the large layer', () => r.local.content.has(sha(l2)));
      expect(r.local.leases.list()[0]!.content).toContain(sha(l2));
      expect(await r.call(r.images, 'GC', {})).toEqual(NONE);
      expect(r.local.content.has(sha(l2))).toBe(true);

      await feed.send(tar.subarray(afterBig));
      await feed.close();
      const imp = await importDone;
      expect(imp.images.map((i: any) => i.name)).toEqual(['img-igc.example/big:1']);
      expect(r.local.leases.list()).toEqual([]);
      const chain = chainIds([sha(l1), sha(l2)]);
      const root = viewAt(r, chain[1]!, 'img-igc-docker-view');
      expect(readFileSync(join(root, 'a', 'one'), 'utf8')).toBe('layer one\n');
      expect(readFileSync(join(root, 'big', 'data')).equals(big)).toBe(true);

      for (const m of r.mounts.splice(0).reverse()) unmount(m);
      r.local.snapshots.remove('img-igc-docker-view');
      const blobs = r.local.content.list().map((c) => c.digest);
      expect(blobs).toEqual(expect.arrayContaining([sha(l1), sha(l2), sha(config)]));
      await r.call(r.images, 'Delete', { name: 'img-igc.example/big:1' });
      const gc = await r.call(r.images, 'GC', {});
      expect([...gc.removed_blobs].sort()).toEqual([...blobs].sort());
      expect([...gc.removed_snapshots].sort()).toEqual([...chain].sort());
      expect(r.local.content.list()).toEqual([]);
    } finally {
      await feed.close().catch(() => {});
    }
  });

  it('an archive cut off mid-blob fails clearly, closes the pipe and leaves only what GC takes', async () => {
    const f = fixtures();
    rig = await startRig('igc-cut');
    const r = rig;
    const tar = readFileSync(f.ociArchive);
    const spans = tarSpans(tar);
    const layer = spans.filter((s) => s.name.startsWith('blobs/sha256/')).reduce((a, b) => (b.end - b.data > a.end - a.data ? b : a));
    const fifo = join(r.dir, 'in.tar');
    execFileSync('mkfifo', [fifo]);
    const importDone = r.call(r.images, 'Import', { path: fifo });
    importDone.catch(() => {});
    const feed = await feeder(fifo);
    await feed.send(tar.subarray(0, layer.data + 4096));
    await until('the layer ingest', () => r.local.content.ingests().length === 1);
    await feed.close();
    await expect(importDone).rejects.toThrow(/tar|archive|truncated|unexpected end/i);
    expect(r.local.leases.list()).toEqual([]);
    expect(r.local.content.ingests()).toEqual([]);
    expect(await r.call(r.images, 'List', {})).toEqual({ images: [] });
    const left = r.local.content.list().map((c) => c.digest);
    const gc = await r.call(r.images, 'GC', {});
    expect([...gc.removed_blobs].sort()).toEqual([...left].sort());
    expect(r.local.content.list()).toEqual([]);
    expect(r.local.snapshots.list()).toEqual([]);

    // A reader that gives up closes the FIFO: the writer fails instead of blocking.
    const fifo2 = join(r.dir, 'bad.tar');
    execFileSync('mkfifo', [fifo2]);
    const bad = r.call(r.images, 'Import', { path: fifo2 });
    bad.catch(() => {});
    const feed2 = await feeder(fifo2);
    await feed2.send(Buffer.alloc(1024, 'x'));
    await expect(bad).rejects.toThrow(/tar|archive/i);
    await expect(feed2.send(Buffer.alloc(1 << 20))).rejects.toThrow(/EPIPE/);
    await feed2.close().catch(() => {});
  });

  it('keeps a resumable content ingest across a GC, and collects the blob it commits once nothing holds it', async () => {
    rig = await startRig('igc-ingest');
    const r = rig;
    const data = randomBytes(300_000);
    const digest = sha(data);
    const write = (msgs: object[]) =>
      new Promise<any[]>((res, rej) => {
        const s = r.content.Write(namespaceMetadata('img-igc'));
        const out: any[] = [];
        s.on('data', (m: any) => out.push(m));
        s.on('error', rej);
        s.on('end', () => res(out));
        for (const m of msgs) s.write(m);
        s.end();
      });
    // A writer sends part of the blob and goes away; GC runs while the ingest waits.
    await write([{ action: 'WRITE', ref: 'img-igc-ref', total: data.length, expected: digest, offset: 0, data: data.subarray(0, 100_000) }]);
    expect(await r.call(r.images, 'GC', {})).toEqual(NONE);
    const st = await r.call(r.content, 'ListStatuses', {});
    expect(st.statuses.map((s: any) => [s.ref, Number(s.offset)])).toEqual([['img-igc-ref', 100_000]]);
    // The next writer resumes where the data ends, and GC runs again mid-way.
    const s = r.content.Write(namespaceMetadata('img-igc'));
    const out: any[] = [];
    const ended = new Promise<void>((res, rej) => {
      s.on('data', (m: any) => out.push(m));
      s.on('error', rej);
      s.on('end', () => res());
    });
    s.write({ action: 'STAT', ref: 'img-igc-ref' });
    s.write({ action: 'WRITE', offset: 100_000, data: data.subarray(100_000, 200_000) });
    await until('the second write', () => out.length === 2);
    expect(Number(out[1].offset)).toBe(200_000);
    expect(await r.call(r.images, 'GC', {})).toEqual(NONE);
    s.write({ action: 'WRITE', offset: 200_000, data: data.subarray(200_000) });
    s.write({ action: 'COMMIT', total: data.length, expected: digest });
    s.end();
    await ended;
    expect(out[3].digest).toBe(digest);
    expect((await r.call(r.content, 'ListStatuses', {})).statuses).toEqual([]);
    expect(r.local.content.readBytes(digest).equals(data)).toBe(true);
    // Committed, referenced by no image and held by no lease: the next GC takes it.
    expect(await r.call(r.images, 'GC', {})).toEqual({ removed_blobs: [digest], removed_snapshots: [] });
    expect(r.local.content.has(digest)).toBe(false);

    // Written under a client's lease (metadata berth-lease), it stays until the lease ends.
    const leased = (id: string) => {
      const m = namespaceMetadata('img-igc');
      m.set('berth-lease', id);
      return m;
    };
    const commitUnder = (m: any) =>
      new Promise<any[]>((res, rej) => {
        const w = r.content.Write(m);
        const got: any[] = [];
        w.on('data', (x: any) => got.push(x));
        w.on('error', rej);
        w.on('end', () => res(got));
        w.write({ action: 'WRITE', ref: 'img-igc-ref2', total: data.length, expected: digest, offset: 0, data: data.subarray(0, 1000) });
        w.write({ action: 'COMMIT', offset: 1000, data: data.subarray(1000), total: data.length, expected: digest });
        w.end();
      });
    expect((await commitUnder(leased('img-igc-client')))[1].digest).toBe(digest);
    expect(await r.call(r.images, 'GC', {})).toEqual(NONE);
    expect(r.local.content.has(digest)).toBe(true);
    expect(r.local.leases.list().map((l) => [l.id, l.content])).toEqual([['img-igc-client', [digest]]]);
    await expect(commitUnder(leased('../escape'))).rejects.toThrow(/lease id/);
    expect(r.local.content.ingests()).toEqual([]);
    r.local.leases.delete('img-igc-client');
    expect(await r.call(r.images, 'GC', {})).toEqual({ removed_blobs: [digest], removed_snapshots: [] });
  });
});
