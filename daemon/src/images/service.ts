// Docker's view of images over berth-shimd's image store: an image is identified by
// its config digest (sha256:…), carries every name pointing at it as RepoTags, and
// references resolve like Docker's (name, name:tag, ID, ID prefix).
import type { Readable } from 'node:stream';
import { conflict, invalid, notFound, notImplemented } from '../errors.js';
import type { ImageProvider, ResolvedImage, RootfsSource } from '../containers/backend.js';
import type { ImageBackend, PullProgress, RegistryAuth, StoredImage } from './backend.js';
import { familiarName, normalizeReference, parseReference } from './reference.js';
import { archiveStream, buildImportArchive, DANGLING_REPO } from './import.js';
import { rmSync } from 'node:fs';

const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];

export interface ImageSummary {
  id: string;
  names: StoredImage[];
  config: any;
  manifestDigest: string;
  size: number;
  created: string;
}

export class ImageService implements ImageProvider {
  /** Image IDs that containers use: removal is refused while in use. */
  inUse: (imageId: string) => string | undefined = () => undefined;
  /** Where image events go (load, tag, untag, delete, pull, push). */
  events: (action: string, id: string, name?: string, extra?: Record<string, string>) => void = () => {};

  constructor(private readonly backend: ImageBackend) {}

  private async manifestOf(target: StoredImage['target']): Promise<{ manifest: any; digest: string }> {
    let desc = target;
    for (let depth = 0; depth < 3; depth++) {
      const doc = await this.backend.readJson(desc.digest);
      if (MANIFEST_TYPES.includes(desc.mediaType) || (doc.config && doc.layers)) return { manifest: doc, digest: desc.digest };
      const m = (doc.manifests ?? []).find(
        (x: any) => (x.platform?.os ?? 'linux') === 'linux' && ['amd64', undefined].includes(x.platform?.architecture),
      ) ?? doc.manifests?.[0];
      if (!m) break;
      desc = m;
    }
    throw invalid(`image ${target.digest} has no manifest for linux/amd64`);
  }

  async all(): Promise<ImageSummary[]> {
    const byId = new Map<string, ImageSummary>();
    for (const img of await this.backend.list()) {
      const { manifest, digest } = await this.manifestOf(img.target).catch(() => ({ manifest: undefined, digest: '' }));
      if (!manifest) continue;
      const id = manifest.config.digest as string;
      const existing = byId.get(id);
      if (existing) {
        existing.names.push(img);
        continue;
      }
      const config = await this.backend.readJson(id);
      const size = (manifest.layers ?? []).reduce((n: number, l: any) => n + (l.size ?? 0), 0);
      byId.set(id, { id, names: [img], config, manifestDigest: digest, size, created: config.created ?? img.createdAt });
    }
    return [...byId.values()];
  }

  /** Finds an image by reference, ID or ID prefix; 404 with Docker's message otherwise. */
  async find(ref: string): Promise<{ summary: ImageSummary; name?: string }> {
    const all = await this.all();
    const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
    if (/^[0-9a-f]{64}$/.test(hex)) {
      const s = all.find((i) => i.id === `sha256:${hex}`);
      if (s) return { summary: s };
    }
    let full: string | undefined;
    try {
      full = normalizeReference(ref);
    } catch {}
    if (full) {
      for (const s of all) {
        const n = s.names.find((x) => x.name === full);
        if (n) return { summary: s, name: n.name };
      }
      // name@digest matches the manifest digest of any name of that repository
      const r = parseReference(ref);
      if (r.digest) {
        const s = all.find((i) => i.manifestDigest === r.digest || i.names.some((n) => n.target.digest === r.digest));
        if (s) return { summary: s };
      }
    }
    if (/^[0-9a-f]{4,63}$/.test(hex)) {
      const found = all.filter((i) => i.id.slice(7).startsWith(hex));
      if (found.length === 1) return { summary: found[0]! };
    }
    throw notFound(`No such image: ${full ? familiarName(full) : ref}`);
  }

  async resolve(ref: string): Promise<ResolvedImage> {
    const { summary, name } = await this.find(ref);
    return { id: summary.id, ref: name ?? summary.names[0]?.name ?? summary.id, config: summary.config.config ?? {} };
  }

  async prepareRootfs(key: string, imageId: string): Promise<RootfsSource> {
    const { summary } = await this.find(imageId);
    const name = summary.names[0]?.name;
    if (!name) throw notFound(`No such image: ${imageId}`);
    return this.backend.prepareSnapshot(key, name);
  }

  rootfsMounts(key: string) {
    return this.backend.snapshotMounts(key);
  }

  async removeRootfs(key: string): Promise<void> {
    await this.backend.removeSnapshot(key);
  }

  async load(tar: Readable): Promise<string[]> {
    const imported = await this.backend.importArchive(tar);
    for (const i of imported) this.events('load', familiarName(i.name), familiarName(i.name));
    return imported.map((i) => familiarName(i.name));
  }

  save(refs: string[]): Promise<Readable> {
    return (async () => {
      const names: string[] = [];
      for (const r of refs) {
        const { summary, name } = await this.find(r);
        names.push(...(name ? [name] : summary.names.map((n) => n.name)));
        this.events('save', summary.id, name ? familiarName(name) : undefined);
      }
      return this.backend.exportArchive(names);
    })();
  }

  async tag(source: string, repo: string, tag: string | undefined): Promise<void> {
    const { summary, name } = await this.find(source);
    const from = summary.names.find((n) => n.name === name) ?? summary.names[0];
    if (!from) throw notFound(`No such image: ${source}`);
    const r = parseReference(tag ? `${repo}:${tag}` : repo);
    if (r.digest) throw invalid('refusing to create a tag with a digest reference');
    const target = normalizeReference(tag ? `${repo}:${tag}` : repo);
    await this.backend.put({ ...from, name: target, createdAt: new Date().toISOString() });
    this.events('tag', summary.id, familiarName(target));
  }

  /** Untags or deletes; Docker's list of {Untagged}/{Deleted} results. */
  async remove(ref: string, force: boolean): Promise<object[]> {
    const { summary, name } = await this.find(ref);
    const user = this.inUse(summary.id);
    const out: object[] = [];
    const byName = name !== undefined && !/^(sha256:)?[0-9a-f]+$/.test(ref);
    if (byName && summary.names.length > 1) {
      await this.backend.delete(name!);
      this.events('untag', summary.id, familiarName(name!));
      return [{ Untagged: familiarName(name!) }];
    }
    if (user && !force) {
      const short = summary.id.slice(7, 19);
      throw conflict(
        byName
          ? `conflict: unable to remove repository reference "${ref}" (must force) - container ${user.slice(0, 12)} is using its referenced image ${short}`
          : `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${user.slice(0, 12)}`,
      );
    }
    if (!byName && summary.names.length > 1 && !force) {
      throw conflict(`conflict: unable to delete ${summary.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
    }
    for (const n of summary.names) {
      await this.backend.delete(n.name);
      out.push({ Untagged: familiarName(n.name) });
      this.events('untag', summary.id, familiarName(n.name));
    }
    out.push({ Deleted: summary.id });
    this.events('delete', summary.id);
    return out;
  }

  /** Pulls `ref`, reporting Docker's JSON progress messages; returns the familiar name. */
  async pull(ref: string, auth: RegistryAuth | undefined, report: (msg: object) => void): Promise<string> {
    if (!this.backend.pull) throw notImplemented('berth-shimd cannot pull images');
    const full = normalizeReference(ref);
    const r = parseReference(full);
    const familiar = familiarName(full);
    const before = await this.backend.get(full).catch(() => undefined);
    let announced = false;
    const image = await this.backend.pull(full, auth, (p: PullProgress) => {
      if (!announced) {
        announced = true;
        report({ status: `Pulling from ${familiarName(`${r.domain}/${r.path}`)}`, id: r.tag ?? r.digest ?? 'latest' });
      }
      const msg: Record<string, unknown> = { status: p.status, progressDetail: {}, id: p.id };
      if (p.total > 0 && (p.status === 'Downloading' || p.status === 'Extracting' || p.status === 'Pushing')) {
        msg.progressDetail = { current: p.current, total: p.total };
        msg.progress = progressBar(p.current, p.total);
      }
      if (!p.id) delete msg.id;
      report(msg);
    });
    if (!announced) report({ status: `Pulling from ${familiarName(`${r.domain}/${r.path}`)}`, id: r.tag ?? 'latest' });
    report({ status: `Digest: ${image.target.digest}` });
    this.events('pull', familiar, familiar);
    report({
      status:
        before && before.target.digest === image.target.digest
          ? `Status: Image is up to date for ${familiar}`
          : `Status: Downloaded newer image for ${familiar}`,
    });
    return familiar;
  }

  async push(ref: string, auth: RegistryAuth | undefined, report: (msg: object) => void): Promise<void> {
    if (!this.backend.push) throw notImplemented('berth-shimd cannot push images');
    const full = normalizeReference(ref);
    const { summary, name } = await this.find(ref);
    const r = parseReference(full);
    report({ status: `The push refers to repository [${r.domain === 'docker.io' ? 'docker.io/' : ''}${r.domain === 'docker.io' ? r.path : `${r.domain}/${r.path}`}]` });
    const pushed = await this.backend.push(name ?? summary.names[0]!.name, full, auth, (p) => {
      const msg: Record<string, unknown> = { status: p.status, progressDetail: {}, id: p.id };
      if (p.total > 0 && p.status === 'Pushing') {
        msg.progressDetail = { current: p.current, total: p.total };
        msg.progress = progressBar(p.current, p.total);
      }
      report(msg);
    });
    report({ status: `${r.tag ?? 'latest'}: digest: ${pushed.digest} size: ${pushed.size}` });
    this.events('push', familiarName(full), familiarName(full));
    report({ progressDetail: {}, aux: { Tag: r.tag ?? 'latest', Digest: pushed.digest, Size: pushed.size } });
  }

  /**
   * docker import (fromSrc): a rootfs tar into a one-layer image, named `repo[:tag]`
   * or left untagged (dangling). Returns the image ID.
   */
  async import(req: { source: Readable; repo?: string; tag?: string; message?: string; changes: string[]; tmpDir: string }): Promise<string> {
    let name: string | undefined;
    if (req.repo) {
      const r = parseReference(req.tag ? `${req.repo}:${req.tag}` : req.repo);
      if (r.digest) throw invalid(`cannot import digest reference "${req.repo}"`);
      name = normalizeReference(req.tag ? `${req.repo}:${req.tag}` : req.repo);
    }
    const built = await buildImportArchive({ source: req.source, name: name ? familiarName(name) : undefined, message: req.message, changes: req.changes, tmpDir: req.tmpDir });
    try {
      await this.backend.importArchive(archiveStream(built.archive), name ? undefined : `${DANGLING_REPO}@${built.id}`);
    } finally {
      rmSync(built.dir, { recursive: true, force: true });
    }
    this.events('import', built.id, name ? familiarName(name) : undefined);
    return built.id;
  }

  /** docker image prune: dangling images (all unused ones with `all`) not used by a container. */
  async prune(all: boolean): Promise<{ ImagesDeleted: object[] | null; SpaceReclaimed: number }> {
    const deleted: object[] = [];
    let reclaimed = 0;
    for (const s of await this.all()) {
      const tagged = s.names.filter((n) => !n.name.includes('@'));
      if ((!all && tagged.length) || this.inUse(s.id)) continue;
      for (const n of tagged) deleted.push({ Untagged: familiarName(n.name) });
      for (const n of s.names) await this.backend.delete(n.name);
      deleted.push({ Deleted: s.id });
      reclaimed += s.size;
      this.events('delete', s.id);
    }
    this.events('prune', '', undefined, { reclaimed: String(reclaimed) });
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  usage(name: string): Promise<number> {
    return this.backend.usage(name);
  }
}

function progressBar(current: number, total: number): string {
  const width = 50;
  const n = Math.max(0, Math.min(width, Math.floor((current / total) * width)));
  const bar = `${'='.repeat(Math.max(0, n - 1))}${n > 0 ? '>' : ''}${' '.repeat(width - n)}`;
  return `[${bar}] ${human(current)}/${human(total)}`;
}

function human(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(2)}${units[i]}`;
}
