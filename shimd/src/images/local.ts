// The image layer's local implementation: what the gRPC services (service.ts) call,
// and what berth-shimd's own code can call in-process. Images are per namespace;
// content and snapshots are shared by all namespaces, as in containerd.
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportArchive, type ExportFormat } from './archive/export.js';
import { importArchive } from './archive/import.js';
import { ContentStore } from './content/store.js';
import { chainIds, type Descriptor, type Platform } from './digest.js';
import { invalidArgument, isKind, notFound } from './errors.js';
import { type Lease, LeaseManager } from './leases/leases.js';
import { resolveImage, type Resolved, walk } from './manifest.js';
import { DEFAULT_PLATFORM } from './platform.js';
import { normalizeReference, parseReference } from './reference.js';
import { type Credentials, RegistryClient } from './registry/client.js';
import { type Progress, pullImage, pushImage } from './registry/transfer.js';
import { generateSpec, type SpecOverrides } from './spec/generate.js';
import { type Image, ImageStore } from './store/images.js';
import { type Mount, overlaySupported, type SnapshotMode, Snapshotter } from './snapshots/overlay.js';
import { linuxSys, type Sys } from './sys.js';
import { unpackImage } from './unpack/unpack.js';

export interface ImagesLocalOptions {
  /** shimd's data root: <root>/content, <root>/snapshots, <root>/images. */
  root: string;
  publish?: (topic: string, namespace: string, event: object) => void;
  /** 'overlay', 'copy', or 'auto' (overlay if a test mount works; default). */
  snapshotter?: SnapshotMode | 'auto';
  /** Registries reached over plain http besides loopback ones. */
  insecureRegistries?: string[];
  /** Whether layers may create device nodes (default: yes when root). */
  allowDevices?: boolean;
  /** Concurrent layer downloads (default 3). */
  concurrency?: number;
  sys?: Sys;
}

export interface GcResult {
  blobs: string[];
  snapshots: string[];
  /** Leases that had expired and were removed. */
  leases: string[];
}

export class ImagesLocal {
  readonly content: ContentStore;
  readonly images: ImageStore;
  readonly snapshots: Snapshotter;
  /** GC leases: what pulls and imports hold until their images exist. */
  readonly leases: LeaseManager;
  private readonly publish: NonNullable<ImagesLocalOptions['publish']>;
  private readonly sys: Sys;

  constructor(readonly opts: ImagesLocalOptions) {
    this.content = new ContentStore(join(opts.root, 'content'));
    this.images = new ImageStore(join(opts.root, 'images'));
    this.leases = new LeaseManager(join(opts.root, 'leases'));
    const snapRoot = join(opts.root, 'snapshots');
    this.sys = opts.sys ?? linuxSys;
    let mode = opts.snapshotter ?? 'auto';
    if (mode === 'auto') mode = overlaySupported(snapRoot, this.sys) ? 'overlay' : 'copy';
    this.snapshots = new Snapshotter(snapRoot, mode);
    this.publish = opts.publish ?? (() => {});
  }

  // Images
  getImage(ns: string, name: string): Image {
    return this.images.get(ns, this.lookupName(ns, name));
  }

  /** Accepts a full name, a familiar one (`busybox`) or a digest prefix of the target. */
  lookupName(ns: string, name: string): string {
    if (this.images.find(ns, name)) return name;
    try {
      const n = normalizeReference(name);
      if (this.images.find(ns, n)) return n;
    } catch {
      // not a reference: maybe a digest
    }
    const hex = name.replace(/^sha256:/, '');
    if (/^[a-f0-9]{6,64}$/.test(hex)) {
      const hits = this.images.list(ns, (i) => i.target.digest.slice(7).startsWith(hex));
      if (hits.length === 1) return hits[0].name;
    }
    throw notFound(`image ${JSON.stringify(name)}: not found`);
  }

  createImage(ns: string, img: { name: string; target: Descriptor; labels?: Record<string, string> }): Image {
    const r = this.images.create(ns, img);
    this.publish('/images/create', ns, { name: r.name, labels: r.labels });
    return r;
  }

  updateImage(ns: string, name: string, patch: { target?: Descriptor; labels?: Record<string, string> }): Image {
    const r = this.images.update(ns, name, patch);
    this.publish('/images/update', ns, { name: r.name, labels: r.labels });
    return r;
  }

  deleteImage(ns: string, name: string): void {
    const n = this.lookupName(ns, name);
    this.images.delete(ns, n);
    this.publish('/images/delete', ns, { name: n });
  }

  /** Another name for an existing image (`ctr images tag`). */
  tagImage(ns: string, source: string, target: string): Image {
    const src = this.getImage(ns, source);
    const name = normalizeReference(target);
    const r = this.images.put(ns, { name, target: src.target, labels: src.labels });
    this.publish('/images/create', ns, { name });
    return r;
  }

  resolve(ns: string, name: string, platform?: Platform): Resolved {
    return resolveImage(this.content, this.getImage(ns, name).target, platform ?? DEFAULT_PLATFORM);
  }

  /** Unpacks an image's layers; returns the chain ID to prepare a container snapshot on. */
  async unpack(ns: string, name: string, platform?: Platform, onProgress?: (p: Progress) => void, lease?: Lease): Promise<string> {
    return this.unpackResolved(this.resolve(ns, name, platform), onProgress, lease);
  }

  private unpackResolved(r: Resolved, onProgress?: (p: Progress) => void, lease?: Lease): Promise<string> {
    return unpackImage(this.content, this.snapshots, r, {
      allowDevices: this.opts.allowDevices ?? process.getuid?.() === 0,
      sys: this.sys,
      hold: lease ? (c) => lease.addSnapshot(c) : undefined,
      onLayer: (digest, status) =>
        onProgress?.({ id: digest.slice(7, 19), status: status === 'extracting' ? 'Extracting' : status === 'pull complete' ? 'Pull complete' : 'Already exists', current: 0, total: 0 }),
    });
  }

  /** The chain ID of an image's top layer (its rootfs snapshot's parent). */
  topChainId(ns: string, name: string, platform?: Platform): string {
    const ids = chainIds(this.resolve(ns, name, platform).config.rootfs.diff_ids);
    return ids[ids.length - 1] ?? '';
  }

  async importArchive(ns: string, path: string, opts: { name?: string; platform?: Platform; unpack?: boolean } = {}): Promise<Image[]> {
    const before = new Map(this.images.list(ns).map((i) => [i.name, i]));
    const lease = this.leases.create({ labels: { 'berth.io/lease.for': `import ${path}` } });
    try {
      return await this.importHeld(ns, path, opts, before, lease);
    } finally {
      lease.release();
    }
  }

  private async importHeld(ns: string, path: string, opts: { name?: string; platform?: Platform; unpack?: boolean }, before: Map<string, Image>, lease: Lease): Promise<Image[]> {
    const imgs = await importArchive(this.content, this.images, ns, path, { ...opts, hold: (d) => lease.addContent(d) });
    try {
      if (opts.unpack !== false) for (const i of imgs) await this.unpack(ns, i.name, opts.platform, undefined, lease);
    } catch (e) {
      // An image that cannot be unpacked is not imported: restore the names it took.
      for (const i of imgs) {
        const old = before.get(i.name);
        if (old) this.images.update(ns, i.name, { target: old.target, labels: old.labels });
        else if (this.images.find(ns, i.name)) this.images.delete(ns, i.name);
      }
      throw e;
    }
    for (const i of imgs) this.publish('/images/create', ns, { name: i.name });
    return imgs;
  }

  async exportArchive(ns: string, names: string[], path: string, format: ExportFormat, platform?: Platform): Promise<void> {
    const imgs = names.map((n) => this.getImage(ns, n));
    await exportArchive(this.content, imgs, path, format, { platform });
  }

  private client(host: string, credentials?: Credentials): RegistryClient {
    return new RegistryClient(host, { insecure: this.opts.insecureRegistries, credentials });
  }

  async pull(
    ns: string,
    name: string,
    opts: { platform?: Platform; credentials?: Credentials; unpack?: boolean; onProgress?: (p: Progress) => void } = {},
  ): Promise<Image> {
    const ref = parseReference(name);
    const full = normalizeReference(name);
    // As containerd: everything is fetched and unpacked under a lease, and the image is
    // created last, so the name only ever points at a complete image and a GC meanwhile
    // keeps what the pull has written.
    const lease = this.leases.create({ labels: { 'berth.io/lease.for': `pull ${full}` } });
    try {
      const res = await pullImage(this.client(ref.domain, opts.credentials), ref, this.content, {
        platform: opts.platform,
        concurrency: this.opts.concurrency,
        onProgress: opts.onProgress,
        hold: (d) => lease.addContent(d),
      });
      if (opts.unpack !== false) {
        await this.unpackResolved(resolveImage(this.content, res.target, opts.platform ?? DEFAULT_PLATFORM), opts.onProgress, lease);
      }
      const img = this.images.put(ns, { name: full, target: res.target });
      this.publish('/images/create', ns, { name: full });
      opts.onProgress?.({ id: full, status: `Digest: ${res.target.digest}`, current: 0, total: 0 });
      return img;
    } finally {
      lease.release();
    }
  }

  async push(
    ns: string,
    name: string,
    opts: { remote?: string; platform?: Platform; credentials?: Credentials; onProgress?: (p: Progress) => void } = {},
  ): Promise<Descriptor> {
    const img = this.getImage(ns, name);
    const ref = parseReference(opts.remote ?? img.name);
    return pushImage(this.client(ref.domain, opts.credentials), ref, this.content, img.target, {
      platform: opts.platform,
      concurrency: this.opts.concurrency,
      onProgress: opts.onProgress,
    });
  }

  /** Reads a file from an image's unpacked layers, top layer first, honouring whiteouts. */
  readImageFile(chain: string[], path: string): string | undefined {
    const parts = path.split('/').filter(Boolean);
    for (let i = chain.length - 1; i >= 0; i--) {
      if (!this.snapshots.exists(chain[i])) throw invalidArgument(`image is not unpacked (missing snapshot ${chain[i]})`);
      const dir = this.snapshots.committedDir(chain[i]);
      let p = dir;
      for (let j = 0; j < parts.length; j++) {
        p = join(p, parts[j]);
        let st: ReturnType<typeof lstatSync> | undefined;
        try {
          st = lstatSync(p);
        } catch {
          st = undefined;
        }
        if (st?.isCharacterDevice() && st.rdev === 0) return undefined; // whiteout
        if (!st) {
          if (this.snapshots.mode === 'copy') return undefined;
          // An opaque parent hides lower layers.
          const parent = join(dir, ...parts.slice(0, j));
          if (j > 0 && this.sys.lgetxattr(parent, 'trusted.overlay.opaque')?.toString() === 'y') return undefined;
          break;
        }
        if (j === parts.length - 1) return st.isFile() ? readFileSync(p, 'utf8') : undefined;
      }
      if (this.snapshots.mode === 'copy') return undefined;
    }
    return undefined;
  }

  async generateSpec(ns: string, name: string, id: string, overrides: SpecOverrides = {}, platform?: Platform): Promise<Record<string, unknown>> {
    if (!id) throw invalidArgument('container id must not be empty');
    const img = this.getImage(ns, name);
    const r = this.resolve(ns, name, platform);
    const chain = chainIds(r.config.rootfs.diff_ids);
    if (chain.length && !this.snapshots.exists(chain[chain.length - 1])) await this.unpack(ns, name, platform);
    return generateSpec({ config: r.config, id, namespace: ns, imageName: img.name, readFile: (p) => this.readImageFile(chain, p), overrides });
  }

  /** Prepares a writable snapshot for a container on top of an image. */
  async prepareRootfs(ns: string, name: string, key: string, platform?: Platform): Promise<Mount[]> {
    await this.unpack(ns, name, platform);
    return this.snapshots.prepare(key, this.topChainId(ns, name, platform) || undefined, { 'berth.io/image': this.getImage(ns, name).name, 'berth.io/namespace': ns });
  }

  /**
   * Removes blobs and committed snapshots nothing refers to. Roots: every image target
   * in every namespace, every active/view snapshot (containers) and the chain below it,
   * and what unexpired leases hold (pulls and imports in progress).
   */
  gc(): GcResult {
    const held = this.leases.roots();
    const keepBlobs = new Set<string>(held.content);
    const keepSnaps = new Set<string>(held.snapshots);
    for (const ns of this.images.namespaces()) {
      for (const img of this.images.list(ns)) {
        for (const d of walk(this.content, img.target)) {
          keepBlobs.add(d.digest);
          if (d.mediaType.includes('config')) {
            try {
              const cfg = this.content.readJson<{ rootfs?: { diff_ids?: string[] } }>(d.digest);
              for (const c of chainIds(cfg.rootfs?.diff_ids ?? [])) keepSnaps.add(c);
            } catch {
              // not an image config
            }
          }
        }
      }
    }
    const snaps = this.snapshots.list();
    const byName = new Map(snaps.map((s) => [s.name, s]));
    for (const s of snaps) {
      if (s.kind === 'committed') continue;
      for (let p: string | undefined = s.name; p; p = byName.get(p)?.parent) keepSnaps.add(p);
    }
    // A kept snapshot keeps its parents.
    for (const k of [...keepSnaps]) for (let p = byName.get(k)?.parent; p; p = byName.get(p)?.parent) keepSnaps.add(p);
    const removedSnaps: string[] = [];
    // Children before parents: repeat until nothing more can go.
    for (let changed = true; changed; ) {
      changed = false;
      for (const s of this.snapshots.list()) {
        if (keepSnaps.has(s.name)) continue;
        try {
          this.snapshots.remove(s.name);
          removedSnaps.push(s.name);
          changed = true;
        } catch (e) {
          if (!isKind(e, 'FailedPrecondition')) throw e;
        }
      }
    }
    this.snapshots.cleanupOrphans();
    const removedBlobs: string[] = [];
    for (const c of this.content.list()) {
      if (keepBlobs.has(c.digest)) continue;
      this.content.delete(c.digest);
      removedBlobs.push(c.digest);
    }
    for (const d of removedBlobs) this.publish('/content/delete', '', { digest: d });
    for (const s of removedSnaps) this.publish('/snapshot/remove', '', { key: s });
    return { blobs: removedBlobs, snapshots: removedSnaps, leases: held.expired };
  }
}
