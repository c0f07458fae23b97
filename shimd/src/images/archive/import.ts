// Import of image archives: OCI image layout tars and docker-archive tars (`docker
// save`, both the classic layout and docker 25+'s OCI layout with manifest.json).
// Blobs are streamed into the content store and verified against their names; small
// metadata files are kept in memory until the whole archive is read.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ContentStore } from '../content/store.js';
import { type Descriptor, type Index, MediaType, type Manifest, sha256 } from '../digest.js';
import { ImageError, invalidArgument, isErrno, notFound } from '../errors.js';
import { resolveImage, sniffMediaType } from '../manifest.js';
import type { Platform } from '../digest.js';
import { normalizeReference } from '../reference.js';
import type { Image, ImageStore } from '../store/images.js';
import { safeComponents } from '../unpack/apply.js';
import { readTar } from '../tar/reader.js';

const SMALL = 4 << 20;

export interface ImportOptions {
  /** Name for an unnamed image, or the base name for OCI ref.name tags. */
  name?: string;
  platform?: Platform;
  labels?: Record<string, string>;
  /** Called with each blob before it is written (a GC lease, until the images exist). */
  hold?: (digest: string) => void;
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/**
 * Opens the archive as one stream, so a pipe or FIFO (`import /dev/stdin`, a tar being
 * written by another process) works as well as a file: the first bytes are peeked from
 * that stream, not re-read from the path.
 */
async function openArchive(path: string): Promise<{ stream: Readable; close(): void }> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw notFound(`archive ${path}: no such file`);
    throw e;
  }
  if (st.isDirectory()) throw invalidArgument(`archive ${path} is a directory: give a tar file (an OCI layout or docker-archive tar)`);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const it = file[Symbol.asyncIterator]();
  let first = Buffer.alloc(0);
  while (first.length < 2) {
    const r = await it.next();
    if (r.done) break;
    first = Buffer.concat([first, r.value as Buffer]);
  }
  const whole = Readable.from(
    (async function* () {
      if (first.length) yield first;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value as Buffer;
    })(),
    { objectMode: false },
  );
  const stream = first[0] === 0x1f && first[1] === 0x8b ? whole.pipe(createGunzip()) : whole;
  // Closing the file also tells a writer at the other end of a pipe that nobody reads.
  const close = () => {
    for (const x of [file, whole, stream]) x.destroy();
  };
  return { stream, close };
}

function layerMediaType(head: Buffer, oci: boolean): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return oci ? MediaType.ociLayerGzip : MediaType.dockerLayerGzip;
  if (head.readUInt32LE(0) === 0xfd2fb528) return MediaType.ociLayerZstd;
  return oci ? MediaType.ociLayer : MediaType.dockerLayer;
}

export async function importArchive(content: ContentStore, images: ImageStore, ns: string, path: string, opts: ImportOptions = {}): Promise<Image[]> {
  const small = new Map<string, Buffer>();
  const large = new Map<string, { digest: string; size: number; head: Buffer }>();
  const blobs = new Set<string>();
  const archive = await openArchive(path);
  try {
    for await (const { entry, body } of readTar(archive.stream)) {
      if (entry.type !== 'file') continue;
      const name = safeComponents(entry.path).join('/');
      const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
      if (m) {
        const digest = `sha256:${m[1]}`;
        opts.hold?.(digest);
        await content.writeFrom(`import-${digest}`, body, { digest, size: entry.size });
        blobs.add(digest);
        continue;
      }
      if (entry.size <= SMALL) {
        const parts: Buffer[] = [];
        for await (const c of body) parts.push(c);
        small.set(name, Buffer.concat(parts));
        continue;
      }
      let head = Buffer.alloc(0);
      const hash = createHash('sha256');
      const tee = (async function* () {
        for await (const c of body) {
          if (head.length < 8) head = Buffer.concat([head, c.subarray(0, 8)]);
          hash.update(c);
          yield c;
        }
        // Held before the store commits the blob, so a GC in between cannot take it.
        opts.hold?.(`sha256:${hash.digest('hex')}`);
      })();
      const digest = await content.writeFrom(`import-${path}-${name}-${process.pid}`, tee, { size: entry.size });
      large.set(name, { digest, size: entry.size, head });
    }
  } finally {
    archive.close();
  }
  const labels = opts.labels ?? {};
  const created: Image[] = [];
  if (small.has('index.json')) {
    const idx = JSON.parse(small.get('index.json')!.toString('utf8')) as Index;
    const dockerTags = new Map<string, string[]>();
    if (small.has('manifest.json')) {
      // docker 25+: an OCI layout plus the classic manifest.json carrying the names.
      for (const e of JSON.parse(small.get('manifest.json')!.toString('utf8')) as DockerManifestEntry[]) {
        const cfg = /([a-f0-9]{64})(\.json)?$/.exec(e.Config)?.[1];
        if (cfg) dockerTags.set(`sha256:${cfg}`, e.RepoTags ?? []);
      }
    }
    for (const desc of idx.manifests ?? []) {
      if (!content.has(desc.digest)) throw invalidArgument(`archive ${path}: index.json names ${desc.digest}, which is not in blobs/`);
      const resolved = resolveImage(content, desc, opts.platform);
      for (const l of [resolved.configDesc, ...resolved.manifest.layers]) {
        if (!content.has(l.digest)) throw invalidArgument(`archive ${path}: blob ${l.digest} is missing`);
      }
      const names: string[] = [];
      const ann = desc.annotations ?? {};
      if (ann['io.containerd.image.name']) names.push(ann['io.containerd.image.name']);
      else if (ann['org.opencontainers.image.ref.name']) {
        const ref = ann['org.opencontainers.image.ref.name'];
        if (ref.includes('/') || ref.includes(':') || ref.includes('@')) names.push(ref);
        else if (opts.name) names.push(`${opts.name.replace(/:[^/:]*$/, '')}:${ref}`);
      }
      for (const t of dockerTags.get(resolved.configDesc.digest) ?? []) names.push(t);
      if (names.length === 0 && opts.name) names.push(opts.name);
      if (names.length === 0) throw invalidArgument(`archive ${path}: image ${desc.digest} has no name; give one (--name)`);
      for (const n of new Set(names.map(normalizeReference))) {
        created.push(images.put(ns, { name: n, target: { mediaType: desc.mediaType ?? sniffMediaType(content.readJson(desc.digest)), digest: desc.digest, size: desc.size }, labels }));
      }
    }
    return created;
  }
  if (small.has('manifest.json')) {
    const entries = JSON.parse(small.get('manifest.json')!.toString('utf8')) as DockerManifestEntry[];
    if (!Array.isArray(entries)) throw invalidArgument(`archive ${path}: manifest.json is not a list`);
    const blobOf = (name: string): Descriptor & { head: Buffer } => {
      const key = safeComponents(name).join('/');
      const b = small.get(key);
      if (b) {
        opts.hold?.(sha256(b));
        return { digest: content.writeBlob(b), size: b.length, mediaType: '', head: b.subarray(0, 8) };
      }
      const l = large.get(key);
      if (l) return { digest: l.digest, size: l.size, mediaType: '', head: l.head };
      const bm = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(key);
      if (bm && blobs.has(`sha256:${bm[1]}`)) {
        const d = `sha256:${bm[1]}`;
        const head = Buffer.alloc(8);
        const fd = openSync(content.blobPath(d), 'r');
        try {
          readSync(fd, head, 0, 8, 0);
        } finally {
          closeSync(fd);
        }
        return { digest: d, size: content.info(d).size, mediaType: '', head };
      }
      throw invalidArgument(`archive ${path}: manifest.json names ${JSON.stringify(name)}, which is not in the archive`);
    };
    for (const e of entries) {
      const cfg = blobOf(e.Config);
      const layers = e.Layers.map((l) => {
        const b = blobOf(l);
        return { mediaType: layerMediaType(b.head.length >= 4 ? b.head : Buffer.alloc(8), false), digest: b.digest, size: b.size };
      });
      const manifest: Manifest = {
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config: { mediaType: MediaType.dockerConfig, digest: cfg.digest, size: cfg.size },
        layers,
      };
      const mjson = Buffer.from(JSON.stringify(manifest));
      opts.hold?.(sha256(mjson));
      const mdigest = content.writeBlob(mjson);
      if (sha256(mjson) !== mdigest) throw new ImageError('Internal', 'manifest digest changed while writing');
      const target = { mediaType: MediaType.dockerManifest, digest: mdigest, size: mjson.length };
      resolveImage(content, target, opts.platform); // checks diff IDs against layers
      const names = (e.RepoTags ?? []).length ? e.RepoTags! : opts.name ? [opts.name] : [];
      if (names.length === 0) throw invalidArgument(`archive ${path}: image ${cfg.digest} has no RepoTags; give a name (--name)`);
      for (const n of names) created.push(images.put(ns, { name: normalizeReference(n), target, labels }));
    }
    return created;
  }
  throw invalidArgument(`archive ${path}: neither an OCI layout (index.json) nor a docker archive (manifest.json)`);
}
