// Digests, descriptors and media types from the OCI image-spec and Docker's schema2.
import { createHash } from 'node:crypto';
import { invalidArgument } from './errors.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, object>;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, object>;
    WorkingDir?: string;
    Labels?: Record<string, string>;
    StopSignal?: string;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: object[];
}

export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export const isIndexType = (t: string | undefined) => t === MediaType.ociIndex || t === MediaType.dockerManifestList;
export const isManifestType = (t: string | undefined) => t === MediaType.ociManifest || t === MediaType.dockerManifest;

export type Compression = 'gzip' | 'zstd' | 'none';

export function layerCompression(mediaType: string): Compression {
  if (mediaType.endsWith('+zstd') || mediaType.endsWith('.zstd')) return 'zstd';
  if (mediaType.endsWith('gzip')) return 'gzip';
  if (mediaType.endsWith('.tar') || mediaType.endsWith('+tar')) return 'none';
  throw invalidArgument(`unsupported layer media type ${mediaType}`);
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** Checks a digest string; only sha256 is supported, as by most registries. */
export function parseDigest(digest: string): string {
  if (!DIGEST_RE.test(digest)) {
    if (!digest.startsWith('sha256:') && /^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(digest)) {
      throw invalidArgument(`unsupported digest algorithm in ${JSON.stringify(digest)}: only sha256 is supported`);
    }
    throw invalidArgument(`invalid digest ${JSON.stringify(digest)}`);
  }
  return digest.slice(7);
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** containerd's chain IDs: ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  }
  return out;
}
