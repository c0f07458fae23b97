// Types for the OCI image-spec (v1.1): descriptors, image index, image manifest,
// image config and the image layout, plus the media types berth meets, Docker's
// schema2 ones included (docker-archive tars and registries still serve them).

type Extra = { [extension: string]: unknown };

export const MediaType = {
  Descriptor: 'application/vnd.oci.descriptor.v1+json',
  LayoutHeader: 'application/vnd.oci.layout.header.v1+json',
  ImageIndex: 'application/vnd.oci.image.index.v1+json',
  ImageManifest: 'application/vnd.oci.image.manifest.v1+json',
  ImageConfig: 'application/vnd.oci.image.config.v1+json',
  Layer: 'application/vnd.oci.image.layer.v1.tar',
  LayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  LayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  LayerNonDistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  LayerNonDistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  LayerNonDistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  Empty: 'application/vnd.oci.empty.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerImageConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DockerPluginConfig: 'application/vnd.docker.plugin.v1+json',
} as const;
export type MediaTypeValue = (typeof MediaType)[keyof typeof MediaType];

/** Media types that name an index (OCI) or a manifest list (Docker). */
export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.ImageIndex, MediaType.DockerManifestList];
/** Media types that name a single-platform manifest. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.ImageManifest, MediaType.DockerManifest];
/** Media types of layer blobs an unpacker must handle. */
export const LAYER_MEDIA_TYPES: readonly string[] = [
  MediaType.Layer,
  MediaType.LayerGzip,
  MediaType.LayerZstd,
  MediaType.LayerNonDistributable,
  MediaType.LayerNonDistributableGzip,
  MediaType.LayerNonDistributableZstd,
  MediaType.DockerLayerGzip,
  MediaType.DockerForeignLayerGzip,
];

/** Annotation keys from image-spec annotations.md that tooling reads. */
export const Annotation = {
  RefName: 'org.opencontainers.image.ref.name',
  Created: 'org.opencontainers.image.created',
  Title: 'org.opencontainers.image.title',
  BaseDigest: 'org.opencontainers.image.base.digest',
  BaseName: 'org.opencontainers.image.base.name',
} as const;

/** `algorithm:encoded`, e.g. `sha256:` + 64 lowercase hex digits. */
export type Digest = string;

export interface Platform extends Extra {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

export interface Descriptor extends Extra {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** Base64 of the blob itself, when embedded. */
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

export interface ImageIndex extends Extra {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageManifest extends Extra {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface HealthConfig extends Extra {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The execution parameters in an image config (`config`), Docker's field names. */
export interface ImageExecConfig extends Extra {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
  Shell?: string[];
  Memory?: number;
  MemorySwap?: number;
  CpuShares?: number;
}

export interface RootFS extends Extra {
  type: 'layers';
  diff_ids: Digest[];
}

export interface History extends Extra {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig extends Extra {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ImageExecConfig;
  rootfs: RootFS;
  history?: History[];
}

/** The `oci-layout` file at the root of an image layout. */
export interface ImageLayout extends Extra {
  imageLayoutVersion: string;
}

export const IMAGE_LAYOUT_VERSION = '1.0.0';
/** File names inside an OCI image layout directory. */
export const ImageLayoutFile = { Layout: 'oci-layout', Index: 'index.json', Blobs: 'blobs' } as const;
