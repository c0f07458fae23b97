// The Images, Content and Snapshots gRPC services, served by a grpc.Server started
// here through registerImageServices (what berth-shimd does), driven by a client of
// proto/images.proto: import, list, spec, resumable content writes, snapshots, GC.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { registerImageServices } from '../../shimd/src/images/service.js';
import { grpc, loadProto, namespaceMetadata } from '../../shimd/src/images/testing.js';
import { sha, tempDir } from './helpers.js';

type Client = InstanceType<typeof grpc.Client> & Record<string, (...a: any[]) => any>;

describe('image services over gRPC', () => {
  let dir: string;
  let server: grpc.Server;
  let images: Client;
  let content: Client;
  let snapshots: Client;
  const events: Array<[string, string, object]> = [];
  const md = namespaceMetadata('img-grpc');

  const call = <T = any>(c: Client, m: string, req: object): Promise<T> =>
    new Promise((res, rej) => c[m](req, md, (e: grpc.ServiceError | null, r: T) => (e ? rej(e) : res(r))));

  beforeAll(async () => {
    dir = tempDir('grpc');
    server = new grpc.Server();
    registerImageServices(server, { root: join(dir, 'root'), publish: (t, ns, e) => events.push([t, ns, e]) });
    const sock = join(dir, 'images.sock');
    await new Promise<void>((res, rej) => server.bindAsync(`unix://${sock}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    const v1 = (loadProto('images') as any).berth.images.v1;
    const creds = grpc.credentials.createInsecure();
    images = new v1.Images(`unix://${sock}`, creds);
    content = new v1.Content(`unix://${sock}`, creds);
    snapshots = new v1.Snapshots(`unix://${sock}`, creds);
  });

  afterAll(async () => {
    images?.close();
    content?.close();
    snapshots?.close();
    await new Promise<void>((r) => (server ? server.tryShutdown(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports, lists, tags, generates a spec and deletes images', async () => {
    const f = fixtures();
    const imp = await call(images, 'Import', { path: f.dockerArchive });
    expect(imp.images.map((i: any) => i.name)).toEqual(['docker.io/library/busybox:latest']);
    expect(events.some(([t, ns]) => t === '/images/create' && ns === 'img-grpc')).toBe(true);
    const got = await call(images, 'Get', { name: 'busybox' });
    expect(got.image.target.media_type).toBe('application/vnd.docker.distribution.manifest.v2+json');
    await call(images, 'Tag', { source: 'busybox', target: 'example.com/bb:v1' });
    const list = await call(images, 'List', { filters: ['name~=example'] });
    expect(list.images.map((i: any) => i.name)).toEqual(['example.com/bb:v1']);
    // Images are per namespace.
    const other = await new Promise<any>((res, rej) => images.List({}, namespaceMetadata('img-grpc-other'), (e: any, r: any) => (e ? rej(e) : res(r))));
    expect(other.images).toEqual([]);

    const spec = JSON.parse((await call(images, 'GenerateSpec', { image: 'busybox', container_id: 'img-c1', overrides_json: JSON.stringify({ user: 'user' }) })).spec_json);
    expect(spec.process.args).toEqual(['sh']);
    expect(spec.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [100] });
    expect(spec.process.env).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(spec.process.capabilities.bounding).toContain('CAP_NET_RAW');
    expect(spec.linux.maskedPaths).toContain('/proc/kcore');
    expect(spec.linux.cgroupsPath).toBe('/berth/img-grpc/img-c1');
    expect(spec.annotations['org.berth.fixture']).toBe('busybox');
    await expect(call(images, 'GenerateSpec', { image: 'busybox', container_id: 'img-c1', overrides_json: '{"user":"nosuch"}' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/unable to find user nosuch/),
    });

    const mounts = await call(images, 'PrepareRootfs', { image: 'busybox', key: 'img-grpc-rootfs' });
    expect(mounts.snapshotter).toBe('overlayfs');
    expect(mounts.mounts).toHaveLength(1);
    expect(mounts.mounts[0].type).toBe('overlay');
    expect(mounts.mounts[0].options.find((o: string) => o.startsWith('lowerdir='))).toMatch(/^lowerdir=[^:]+$/);

    await call(images, 'Delete', { name: 'example.com/bb:v1' });
    await expect(call(images, 'Get', { name: 'example.com/bb:v1' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    expect(events.some(([t, , e]) => t === '/images/delete' && (e as { name: string }).name === 'example.com/bb:v1')).toBe(true);
  });

  it('answers NOT_FOUND and INVALID_ARGUMENT with messages naming the thing', async () => {
    await expect(call(images, 'Get', { name: 'nosuch' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: expect.stringMatching(/nosuch/) });
    const pullErr = await new Promise<any>((res) => {
      const s = images.Pull({ ref: 'Bad/Name:tag' }, md);
      s.on('data', () => {});
      s.on('error', res);
      s.on('end', () => res(undefined));
    });
    expect(pullErr).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/invalid reference format "Bad\/Name:tag": repository name must be lowercase/) });
    await expect(call(content, 'Info', { digest: 'sha256:xyz' })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/invalid digest/) });
    await expect(call(snapshots, 'Remove', { key: 'nosuch' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('writes content resumably and verifies the digest', async () => {
    const data = Buffer.from('hello berth content store\n'.repeat(1000));
    const digest = sha(data);
    const write = (msgs: object[]) =>
      new Promise<any[]>((res, rej) => {
        const s = content.Write(md);
        const out: any[] = [];
        s.on('data', (m: any) => out.push(m));
        s.on('error', rej);
        s.on('end', () => res(out));
        for (const m of msgs) s.write(m);
        s.end();
      });
    // First session writes half and goes away.
    const r1 = await write([{ action: 'WRITE', ref: 'img-ref-1', total: data.length, expected: digest, offset: 0, data: data.subarray(0, 10000) }]);
    expect(r1[0].offset).toBe(10000);
    const st = await call(content, 'ListStatuses', {});
    expect(st.statuses.find((s: any) => s.ref === 'img-ref-1').offset).toBe(10000);
    // The second resumes where the data ends.
    const r2 = await write([
      { action: 'STAT', ref: 'img-ref-1' },
      { action: 'WRITE', offset: 10000, data: data.subarray(10000) },
      { action: 'COMMIT', total: data.length, expected: digest },
    ]);
    expect(r2[0].offset).toBe(10000);
    expect(r2[2].digest).toBe(digest);
    const info = await call(content, 'Info', { digest });
    expect(info.info.size).toBe(data.length);
    const chunks: Buffer[] = [];
    await new Promise<void>((res, rej) => {
      const s = content.Read({ digest, offset: 6, size: 0 }, md);
      s.on('data', (m: any) => chunks.push(m.data));
      s.on('error', rej);
      s.on('end', res);
    });
    expect(Buffer.concat(chunks).equals(data.subarray(6))).toBe(true);
    // A wrong digest is refused and nothing lands in the store.
    await expect(write([{ action: 'COMMIT', ref: 'img-ref-2', expected: sha('other'), offset: 0, data: Buffer.from('not other') }])).rejects.toMatchObject({
      code: grpc.status.DATA_LOSS,
    });
    await expect(call(content, 'Info', { digest: sha('not other') })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('prepares, commits and removes snapshots, and garbage-collects', async () => {
    const p = await call(snapshots, 'Prepare', { key: 'img-s1' });
    expect(p.mounts[0].type).toBe('bind');
    await call(snapshots, 'Commit', { name: 'img-s1-c', key: 'img-s1' });
    const v = await call(snapshots, 'View', { key: 'img-s2', parent: 'img-s1-c' });
    expect(v.mounts[0].options).toContain('ro');
    await expect(call(snapshots, 'Remove', { key: 'img-s1-c' })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    const list = await call(snapshots, 'List', {});
    expect(list.infos.map((s: any) => [s.name, s.kind])).toEqual(
      expect.arrayContaining([
        ['img-s1-c', 'committed'],
        ['img-s2', 'view'],
      ]),
    );
    await call(snapshots, 'Remove', { key: 'img-s2' });
    // The snapshot of the image's layer is kept (the image and the rootfs use it); the
    // stray committed one and the unreferenced blob go.
    const gc = await call(images, 'GC', {});
    expect(gc.removed_snapshots).toEqual(['img-s1-c']);
    expect(gc.removed_blobs).toHaveLength(1);
    const f = fixtures();
    await call(content, 'Info', { digest: f.configDigest });
    void readFileSync;
  });
});
