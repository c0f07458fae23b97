// Helpers for the image e2e suites: a fresh data root per test, mounts that are
// always undone, and small image builders (layers as tars, OCI layouts on disk).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ImagesLocal } from '../../shimd/src/images/local.js';
import { type Mount, mountAll, unmount } from '../../shimd/src/images/snapshots/overlay.js';
import { buildTar, type WriteEntry } from '../../shimd/src/images/tar/writer.js';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `img-${prefix}-`));
}

export interface Env {
  dir: string;
  local: ImagesLocal;
  mounts: string[];
  cleanup(): void;
}

export function makeEnv(prefix: string, snapshotter: 'overlay' | 'copy' | 'auto' = 'auto'): Env {
  const dir = tempDir(prefix);
  const mounts: string[] = [];
  const local = new ImagesLocal({ root: join(dir, 'root'), snapshotter });
  return {
    dir,
    local,
    mounts,
    cleanup() {
      for (const m of mounts.reverse()) {
        try {
          unmount(m);
        } catch {
          // already gone
        }
      }
      local.snapshots.removeLinks();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Mounts specs at a new dir under env.dir, remembered for cleanup. */
export function mountAt(env: Env, mounts: Mount[], name: string): string {
  const target = join(env.dir, 'mnt', name);
  mkdirSync(target, { recursive: true });
  mountAll(mounts, target);
  env.mounts.push(target);
  return target;
}

export const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export type LayerEntry = WriteEntry & { data?: Buffer | string };

export interface BuiltImage {
  layout: string;
  manifestDigest: string;
  configDigest: string;
  diffIds: string[];
  layerDigests: string[];
}

export interface ImageSpec {
  layers: LayerEntry[][];
  config?: Record<string, unknown>;
  platform?: { os: string; architecture: string; variant?: string };
  compression?: 'gzip' | 'zstd' | 'none';
}

export function writeBlob(layout: string, data: Buffer): { digest: string; size: number } {
  const digest = sha(data);
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), data);
  return { digest, size: data.length };
}

/** Writes one image's blobs into an OCI layout dir; returns the manifest descriptor. */
export function addImage(layout: string, spec: ImageSpec): BuiltImage & { descriptor: Record<string, unknown> } {
  const diffIds: string[] = [];
  const layers: Array<Record<string, unknown>> = [];
  const layerDigests: string[] = [];
  for (const entries of spec.layers) {
    const tar = buildTar(entries);
    diffIds.push(sha(tar));
    const c = spec.compression ?? 'gzip';
    const blob = c === 'gzip' ? gzipSync(tar) : c === 'zstd' ? execFileSync('zstd', ['-q', '-c'], { input: tar }) : tar;
    const d = writeBlob(layout, blob);
    layerDigests.push(d.digest);
    layers.push({ mediaType: `application/vnd.oci.image.layer.v1.tar${c === 'none' ? '' : `+${c}`}`, ...d });
  }
  const platform = spec.platform ?? { os: 'linux', architecture: 'amd64' };
  const config = Buffer.from(
    JSON.stringify({ ...platform, config: { Cmd: ['sh'], ...(spec.config ?? {}) }, rootfs: { type: 'layers', diff_ids: diffIds } }),
  );
  const cfg = writeBlob(layout, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
      layers,
    }),
  );
  const m = writeBlob(layout, manifest);
  return {
    layout,
    manifestDigest: m.digest,
    configDigest: cfg.digest,
    diffIds,
    layerDigests,
    descriptor: { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, platform },
  };
}

export function writeIndex(layout: string, manifests: Array<Record<string, unknown>>): string {
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  writeFileSync(join(layout, 'index.json'), index);
  return sha(index);
}

/** A single-image OCI layout with ref.name `tag`. */
export function buildLayout(dir: string, spec: ImageSpec, tag = 'latest'): BuiltImage {
  const img = addImage(dir, spec);
  writeIndex(dir, [{ ...img.descriptor, annotations: { 'org.opencontainers.image.ref.name': tag } }]);
  return img;
}

export function tarLayout(layout: string, out: string): string {
  execFileSync('tar', ['-C', layout, '-cf', out, '.']);
  return out;
}

export const dir = (path: string, mode = 0o755): LayerEntry => ({ path, type: 'dir', mode });
export const file = (path: string, data: string, mode = 0o644, extra: Partial<WriteEntry> = {}): LayerEntry => ({ path, type: 'file', mode, data, ...extra });
