// What the Docker image service needs from berth-shimd's image store (images.proto):
// named image records pointing at a manifest (or index) in the content store,
// content reads, archive import/export and rootfs snapshots.
import type { Readable } from 'node:stream';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface StoredImage {
  /** Fully qualified name: docker.io/library/busybox:latest */
  name: string;
  target: Descriptor;
  createdAt: string;
  labels: Record<string, string>;
}

export interface Mount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

export interface PullProgress {
  id: string;
  status: string;
  current: number;
  total: number;
}

export type RegistryAuth = { username: string; password: string };

export interface ImageBackend {
  list(): Promise<StoredImage[]>;
  get(name: string): Promise<StoredImage | undefined>;
  /** Creates or re-points a name. */
  put(image: StoredImage): Promise<void>;
  delete(name: string): Promise<void>;
  /** A blob of the content store, parsed as JSON (manifests, indexes, configs). */
  readJson(digest: string): Promise<any>;
  /** Imports a docker-archive or OCI-archive tar; returns the images it named. `name` names an image the archive leaves untagged. */
  importArchive(tar: Readable, name?: string): Promise<StoredImage[]>;
  /** Writes a docker-archive of the named images. */
  exportArchive(names: string[]): Readable;
  /** Unpacks (if needed) and prepares a writable snapshot over the image's layers. */
  prepareSnapshot(key: string, imageName: string): Promise<{ snapshotter: string; snapshotKey: string }>;
  removeSnapshot(key: string): Promise<void>;
  /** The mounts of a prepared snapshot, for Tasks.Create. */
  snapshotMounts(key: string): Promise<Mount[]>;
  /** Bytes the image's unpacked layers take. */
  usage(imageName: string): Promise<number>;
  pull?(ref: string, auth: RegistryAuth | undefined, onProgress: (p: PullProgress) => void): Promise<StoredImage>;
  push?(name: string, remote: string, auth: RegistryAuth | undefined, onProgress: (p: PullProgress) => void): Promise<{ digest: string; size: number }>;
}
