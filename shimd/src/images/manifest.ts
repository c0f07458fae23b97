// Reading manifests out of the content store: resolve an image target (index or
// manifest) to the manifest and config for one platform, and walk children (for GC,
// export and push).
import type { ContentStore } from './content/store.js';
import { type Descriptor, type ImageConfig, type Index, isIndexType, isManifestType, type Manifest, type Platform } from './digest.js';
import { invalidArgument } from './errors.js';
import { DEFAULT_PLATFORM, platformMatches, selectManifest } from './platform.js';

export interface Resolved {
  manifestDesc: Descriptor;
  manifest: Manifest;
  configDesc: Descriptor;
  config: ImageConfig;
}

/** Media type of a JSON blob, from the field or the shape (OCI allows it to be absent). */
export function sniffMediaType(doc: { mediaType?: string; manifests?: unknown; config?: unknown }): string {
  if (doc.mediaType) return doc.mediaType;
  if (Array.isArray(doc.manifests)) return 'application/vnd.oci.image.index.v1+json';
  if (doc.config) return 'application/vnd.oci.image.manifest.v1+json';
  throw invalidArgument('JSON blob is neither an index nor a manifest');
}

export function resolveImage(content: ContentStore, target: Descriptor, platform: Platform = DEFAULT_PLATFORM): Resolved {
  let desc = target;
  for (let depth = 0; depth < 4; depth++) {
    if (isIndexType(desc.mediaType)) {
      const idx = content.readJson<Index>(desc.digest);
      const present = idx.manifests.filter((m) => content.has(m.digest));
      const pick = selectManifest(present.length ? present : idx.manifests, platform);
      desc = pick;
      continue;
    }
    if (isManifestType(desc.mediaType)) {
      const manifest = content.readJson<Manifest>(desc.digest);
      const config = content.readJson<ImageConfig>(manifest.config.digest);
      if (!config.rootfs || !Array.isArray(config.rootfs.diff_ids)) throw invalidArgument(`image config ${manifest.config.digest} has no rootfs.diff_ids`);
      if (config.rootfs.diff_ids.length !== manifest.layers.length) {
        throw invalidArgument(`manifest ${desc.digest} has ${manifest.layers.length} layers but its config lists ${config.rootfs.diff_ids.length} diff IDs`);
      }
      return { manifestDesc: desc, manifest, configDesc: manifest.config, config };
    }
    throw invalidArgument(`unsupported image media type ${desc.mediaType}`);
  }
  throw invalidArgument('image indexes nested too deep');
}

/** Children of a descriptor whose blob is present; missing blobs of other platforms are skipped. */
export function children(content: ContentStore, desc: Descriptor): Descriptor[] {
  if (isIndexType(desc.mediaType)) return content.readJson<Index>(desc.digest).manifests;
  if (isManifestType(desc.mediaType)) {
    const m = content.readJson<Manifest>(desc.digest);
    return [m.config, ...m.layers];
  }
  return [];
}

/** Every descriptor reachable from root whose content is present (root first). */
export function walk(content: ContentStore, root: Descriptor, opts: { platform?: Platform } = {}): Descriptor[] {
  const out: Descriptor[] = [];
  const seen = new Set<string>();
  const visit = (d: Descriptor) => {
    if (seen.has(d.digest) || !content.has(d.digest)) return;
    seen.add(d.digest);
    out.push(d);
    let kids = children(content, d);
    if (opts.platform && isIndexType(d.mediaType)) kids = kids.filter((k) => !k.platform || platformMatches(opts.platform!, k.platform));
    for (const c of kids) visit(c);
  };
  visit(root);
  return out;
}
