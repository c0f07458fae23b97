// Export of images as an OCI image layout tar or a docker-archive tar. The tar is
// written beside the destination and renamed into place when complete.
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ContentStore } from '../content/store.js';
import { type Descriptor, type Index, isIndexType, layerCompression, type Manifest, MediaType, type Platform, sha256 } from '../digest.js';
import { invalidArgument } from '../errors.js';
import { children, resolveImage, walk } from '../manifest.js';
import { familiarName, parseReference } from '../reference.js';
import type { Image } from '../store/images.js';
import { padding, TAR_END, tarHeader, type WriteEntry } from '../tar/writer.js';
import { decompress } from '../unpack/apply.js';

export type ExportFormat = 'oci' | 'docker';

class TarFile {
  private pos = 0;
  private readonly dirs = new Set<string>();
  constructor(private readonly fh: FileHandle) {}
  async write(b: Buffer): Promise<void> {
    let off = 0;
    while (off < b.length) {
      const { bytesWritten } = await this.fh.write(b, off, b.length - off, this.pos);
      off += bytesWritten;
      this.pos += bytesWritten;
    }
  }
  async dir(path: string): Promise<void> {
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (this.dirs.has(p)) continue;
      this.dirs.add(p);
      await this.write(tarHeader({ path: `${p}/`, type: 'dir', mode: 0o755 }));
    }
  }
  async file(e: Omit<WriteEntry, 'type'>, data: Buffer): Promise<void> {
    await this.write(tarHeader({ mode: 0o644, ...e, type: 'file', size: data.length }));
    await this.write(data);
    await this.write(padding(data.length));
  }
  async fileFrom(path: string, e: Partial<Omit<WriteEntry, 'type' | 'size' | 'path'>>, source: string): Promise<void> {
    const size = (await stat(source)).size;
    await this.write(tarHeader({ mode: 0o644, ...e, path, type: 'file', size }));
    let n = 0;
    for await (const c of createReadStream(source, { highWaterMark: 1 << 20 })) {
      await this.write(c as Buffer);
      n += (c as Buffer).length;
    }
    if (n !== size) throw new Error(`${source} changed size while exporting`);
    await this.write(padding(size));
  }
  async end(): Promise<void> {
    await this.write(TAR_END);
  }
}

/** The top descriptor to export: the image's index if every child is present, else the platform's manifest. */
function exportTarget(content: ContentStore, img: Image, platform?: Platform): Descriptor {
  if (isIndexType(img.target.mediaType) && children(content, img.target).every((c) => content.has(c.digest))) {
    return img.target;
  }
  const r = resolveImage(content, img.target, platform);
  return { mediaType: r.manifestDesc.mediaType, digest: r.manifestDesc.digest, size: r.manifestDesc.size, platform: r.manifestDesc.platform };
}

export async function exportArchive(content: ContentStore, imgs: Image[], out: string, format: ExportFormat, opts: { platform?: Platform } = {}): Promise<void> {
  if (imgs.length === 0) throw invalidArgument('nothing to export: no images given');
  if (format !== 'oci' && format !== 'docker') throw invalidArgument(`unknown export format ${JSON.stringify(format)}: oci or docker`);
  const tmp = join(dirname(out), `.${process.pid}-${Date.now()}.export.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  const tar = new TarFile(fh);
  const scratch = format === 'docker' ? await mkdtemp(join(tmpdir(), 'berth-export-')) : undefined;
  try {
    if (format === 'oci') await writeOci(content, imgs, tar, opts.platform);
    else await writeDocker(content, imgs, tar, scratch!, opts.platform);
    await tar.end();
    await fh.sync();
    await fh.close();
    await rename(tmp, out);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

const OCI_LAYER: Record<string, string> = {
  [MediaType.dockerLayer]: MediaType.ociLayer,
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.dockerForeignLayerGzip]: MediaType.ociLayerNondistGzip,
};

/**
 * OCI layouts hold OCI media types (skopeo and umoci look for them): Docker schema2
 * manifests and manifest lists are rewritten as OCI ones; configs and layers keep
 * their bytes, so diff IDs and the config digest (the image ID) do not change.
 */
function toOci(content: ContentStore, d: Descriptor, out: Map<string, Buffer>): Descriptor {
  if (d.mediaType === MediaType.dockerManifest) {
    const m = content.readJson<Manifest>(d.digest);
    const oci: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { ...m.config, mediaType: MediaType.ociConfig },
      layers: m.layers.map((l) => ({ ...l, mediaType: OCI_LAYER[l.mediaType] ?? l.mediaType })),
      ...(m.annotations ? { annotations: m.annotations } : {}),
    };
    const b = Buffer.from(JSON.stringify(oci));
    out.set(sha256(b), b);
    return { ...d, mediaType: MediaType.ociManifest, digest: sha256(b), size: b.length };
  }
  if (d.mediaType === MediaType.dockerManifestList) {
    const idx = content.readJson<Index>(d.digest);
    const oci: Index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: idx.manifests.map((c) => toOci(content, c, out)) };
    const b = Buffer.from(JSON.stringify(oci));
    out.set(sha256(b), b);
    return { ...d, mediaType: MediaType.ociIndex, digest: sha256(b), size: b.length };
  }
  if (d.mediaType === MediaType.ociIndex) {
    const idx = content.readJson<Index>(d.digest);
    if (idx.manifests.some((c) => c.mediaType === MediaType.dockerManifest)) {
      const oci: Index = { ...idx, manifests: idx.manifests.map((c) => toOci(content, c, out)) };
      const b = Buffer.from(JSON.stringify(oci));
      out.set(sha256(b), b);
      return { ...d, digest: sha256(b), size: b.length };
    }
  }
  return d;
}

async function writeOci(content: ContentStore, imgs: Image[], tar: TarFile, platform?: Platform): Promise<void> {
  await tar.file({ path: 'oci-layout' }, Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  const manifests: Descriptor[] = [];
  const seen = new Set<string>();
  await tar.dir('blobs/sha256');
  for (const img of imgs) {
    const converted = new Map<string, Buffer>();
    const original = exportTarget(content, img, platform);
    const top = toOci(content, original, converted);
    const ref = parseReference(img.name);
    manifests.push({
      ...top,
      annotations: { 'io.containerd.image.name': img.name, ...(ref.tag ? { 'org.opencontainers.image.ref.name': ref.tag } : {}) },
    });
    for (const [digest, data] of converted) {
      if (seen.has(digest)) continue;
      seen.add(digest);
      await tar.file({ path: `blobs/sha256/${digest.slice(7)}` }, data);
    }
    for (const d of walk(content, original)) {
      if (seen.has(d.digest) || d.mediaType === MediaType.dockerManifest || d.mediaType === MediaType.dockerManifestList) continue;
      if (converted.size && isIndexType(d.mediaType) && d.digest === original.digest) continue;
      seen.add(d.digest);
      await tar.fileFrom(`blobs/sha256/${d.digest.slice(7)}`, {}, content.blobPath(d.digest));
    }
  }
  await tar.file({ path: 'index.json' }, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests })));
}

async function writeDocker(content: ContentStore, imgs: Image[], tar: TarFile, scratch: string, platform?: Platform): Promise<void> {
  const manifest: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
  const repositories: Record<string, Record<string, string>> = {};
  const written = new Set<string>();
  const byConfig = new Map<string, { Config: string; RepoTags: string[]; Layers: string[] }>();
  for (const img of imgs) {
    const r = resolveImage(content, img.target, platform);
    const diffIds = r.config.rootfs.diff_ids;
    const configName = `${r.configDesc.digest.slice(7)}.json`;
    const tagged = parseReference(img.name).tag ? familiarName(img.name) : undefined;
    const existing = byConfig.get(r.configDesc.digest);
    if (existing) {
      if (tagged) existing.RepoTags.push(tagged);
      continue;
    }
    if (!written.has(configName)) {
      written.add(configName);
      await tar.file({ path: configName }, content.readBytes(r.configDesc.digest));
    }
    const layers: string[] = [];
    for (let i = 0; i < r.manifest.layers.length; i++) {
      const l = r.manifest.layers[i];
      const name = `${diffIds[i].slice(7)}/layer.tar`;
      layers.push(name);
      if (written.has(name)) continue;
      written.add(name);
      await tar.dir(diffIds[i].slice(7));
      if (layerCompression(l.mediaType) === 'none') {
        await tar.fileFrom(name, {}, content.blobPath(l.digest));
      } else {
        // docker load wants the uncompressed tar, whose size must be known for the header.
        const file = join(scratch, 'layer.tar');
        const d = decompress(content.readStream(l.digest), layerCompression(l.mediaType));
        const fh = await open(file, 'w');
        for await (const c of d.stream) await fh.write(c as Buffer);
        await fh.close();
        await d.done;
        if (d.result().digest !== diffIds[i]) throw invalidArgument(`layer ${l.digest} does not match its diff ID ${diffIds[i]}`);
        await tar.fileFrom(name, {}, file);
        await rm(file);
      }
    }
    const entry = { Config: configName, RepoTags: tagged ? [tagged] : [], Layers: layers };
    byConfig.set(r.configDesc.digest, entry);
    manifest.push(entry);
    if (tagged) {
      const ref = parseReference(img.name);
      const repo = familiarName(img.name).slice(0, -(ref.tag!.length + 1));
      repositories[repo] = { ...(repositories[repo] ?? {}), [ref.tag!]: diffIds[diffIds.length - 1]?.slice(7) ?? '' };
    }
  }
  await tar.file({ path: 'manifest.json' }, Buffer.from(JSON.stringify(manifest)));
  await tar.file({ path: 'repositories' }, Buffer.from(JSON.stringify(repositories)));
}
