// Unpacks an image's layers into committed snapshots named by chain ID. A layer
// already unpacked (by this or any other image) is not unpacked again.
import { randomBytes } from 'node:crypto';
import type { ContentStore } from '../content/store.js';
import { chainIds, layerCompression } from '../digest.js';
import { ImageError, isKind } from '../errors.js';
import type { Resolved } from '../manifest.js';
import type { Snapshotter } from '../snapshots/overlay.js';
import type { Sys } from '../sys.js';
import { applyLayer } from './apply.js';

export interface UnpackOptions {
  allowDevices?: boolean;
  sys?: Sys;
  onLayer?: (digest: string, status: 'extracting' | 'already exists' | 'pull complete') => void;
  /** Called with each layer's chain ID before it is checked or unpacked (a GC lease). */
  hold?: (chainId: string) => void;
}

/** Returns the chain ID of the top layer (the parent for a container's snapshot). */
export async function unpackImage(content: ContentStore, snapshots: Snapshotter, img: Resolved, opts: UnpackOptions = {}): Promise<string> {
  const diffIds = img.config.rootfs.diff_ids;
  const chain = chainIds(diffIds);
  for (let i = 0; i < chain.length; i++) {
    const layer = img.manifest.layers[i];
    opts.hold?.(chain[i]);
    if (snapshots.exists(chain[i])) {
      opts.onLayer?.(layer.digest, 'already exists');
      continue;
    }
    opts.onLayer?.(layer.digest, 'extracting');
    const key = `extract-${randomBytes(6).toString('hex')}-${chain[i]}`;
    const target = snapshots.prepareDir(key, i > 0 ? chain[i - 1] : undefined, { 'berth.io/snapshot.unpacking': layer.digest });
    try {
      const res = await applyLayer(target, content.readStream(layer.digest), layerCompression(layer.mediaType), {
        whiteouts: snapshots.mode === 'overlay' ? 'overlay' : 'delete',
        allowDevices: opts.allowDevices,
        sys: opts.sys,
      });
      if (res.diffId !== diffIds[i]) {
        throw new ImageError('DataLoss', `layer ${layer.digest}: uncompressed digest ${res.diffId} does not match the config's diff ID ${diffIds[i]}`);
      }
      try {
        snapshots.commit(chain[i], key, { 'berth.io/diff-id': diffIds[i], 'berth.io/layer': layer.digest });
      } catch (e) {
        if (!isKind(e, 'AlreadyExists')) throw e; // unpacked concurrently by someone else: fine
        snapshots.remove(key);
      }
    } catch (e) {
      if (snapshots.exists(key)) snapshots.remove(key);
      throw e;
    }
    opts.onLayer?.(layer.digest, 'pull complete');
  }
  return chain[chain.length - 1] ?? '';
}
