// ImageBackend over berth-shimd's Images, Content and Snapshots services
// (proto/images.proto). Archives travel as files: shimd runs on the same host, and
// Import/Export take paths.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImageBackend, PullProgress, StoredImage } from '../images/backend.js';
import { isNotFound, type ShimdClient } from './client.js';

interface ProtoImage {
  name: string;
  target: { media_type: string; digest: string; size: number };
  labels: Record<string, string>;
  created_at: string;
}

function fromProto(i: ProtoImage): StoredImage {
  return {
    name: i.name,
    target: { mediaType: i.target?.media_type ?? '', digest: i.target?.digest ?? '', size: Number(i.target?.size ?? 0) },
    labels: i.labels ?? {},
    createdAt: i.created_at,
  };
}

export class ShimdImages implements ImageBackend {
  constructor(
    private readonly shimd: ShimdClient,
    private readonly tmpDir: string,
  ) {}

  async list(): Promise<StoredImage[]> {
    const res = await this.shimd.call<{ images: ProtoImage[] }>('Images', 'List', { filters: [] });
    return res.images.map(fromProto);
  }

  async get(name: string): Promise<StoredImage | undefined> {
    try {
      return fromProto((await this.shimd.call<{ image: ProtoImage }>('Images', 'Get', { name })).image);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async put(image: StoredImage): Promise<void> {
    const proto = {
      name: image.name,
      target: { media_type: image.target.mediaType, digest: image.target.digest, size: image.target.size },
      labels: image.labels,
    };
    try {
      await this.shimd.call('Images', 'Create', { image: proto });
    } catch (e) {
      if ((e as { kind?: string }).kind !== 'conflict') throw e;
      await this.shimd.call('Images', 'Update', { image: proto, update_mask: ['target'] });
    }
  }

  async delete(name: string): Promise<void> {
    await this.shimd.call('Images', 'Delete', { name, sync: false });
  }

  async readJson(digest: string): Promise<any> {
    const parts = await this.shimd.stream<{ data: Buffer }>('Content', 'Read', { digest, offset: 0, size: 0 });
    return JSON.parse(Buffer.concat(parts.map((p) => p.data)).toString('utf8'));
  }

  private tmp(suffix: string): string {
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    return join(this.tmpDir, `${randomBytes(8).toString('hex')}${suffix}`);
  }

  async importArchive(tar: Readable, name = ''): Promise<StoredImage[]> {
    const path = this.tmp('.tar');
    try {
      await pipeline(tar, createWriteStream(path));
      const res = await this.shimd.call<{ images: ProtoImage[] }>('Images', 'Import', { path, name, platform: '', no_unpack: false });
      return res.images.map(fromProto);
    } finally {
      rmSync(path, { force: true });
    }
  }

  exportArchive(names: string[]): Readable {
    const out = new PassThrough();
    const path = this.tmp('.tar');
    this.shimd
      .call('Images', 'Export', { names, path, format: 'docker', platform: '' })
      .then(async () => {
        await pipeline(createReadStream(path), out);
      })
      .catch((e) => out.destroy(e))
      .finally(() => rmSync(path, { force: true }));
    return out;
  }

  async prepareSnapshot(key: string, imageName: string): Promise<{ snapshotter: string; snapshotKey: string }> {
    const res = await this.shimd.call<{ snapshotter: string }>('Images', 'PrepareRootfs', {
      image: imageName,
      key,
      platform: '',
      labels: {},
    });
    return { snapshotter: res.snapshotter, snapshotKey: key };
  }

  async removeSnapshot(key: string): Promise<void> {
    try {
      await this.shimd.call('Snapshots', 'Remove', { key });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async snapshotMounts(key: string) {
    const res = await this.shimd.call<{ mounts: { type: string; source: string; target: string; options: string[] }[] }>('Snapshots', 'Mounts', { key });
    return res.mounts;
  }

  async usage(imageName: string): Promise<number> {
    const res = await this.shimd.call<{ content_size: number; snapshot_size: number }>('Images', 'Usage', { name: imageName, platform: '' });
    return Number(res.snapshot_size || res.content_size || 0);
  }

  async pull(ref: string, auth: { username: string; password: string } | undefined, onProgress: (p: PullProgress) => void): Promise<StoredImage> {
    let image: StoredImage | undefined;
    await this.shimd.stream<{ progress?: PullProgress; image?: ProtoImage }>(
      'Images',
      'Pull',
      { ref, platform: '', auth: auth ?? { username: '', password: '' }, no_unpack: false },
      (m) => {
        if (m.progress?.status) onProgress({ ...m.progress, current: Number(m.progress.current), total: Number(m.progress.total) });
        if (m.image?.name) image = fromProto(m.image);
      },
    );
    if (!image) throw new Error(`pull of ${ref} ended without an image`);
    return image;
  }

  async push(name: string, remote: string, auth: { username: string; password: string } | undefined, onProgress: (p: PullProgress) => void): Promise<{ digest: string; size: number }> {
    let pushed = { digest: '', size: 0 };
    await this.shimd.stream<{ progress?: PullProgress; pushed?: { digest: string; size: number } }>(
      'Images',
      'Push',
      { name, remote, platform: '', auth: auth ?? { username: '', password: '' } },
      (m) => {
        if (m.progress?.status) onProgress({ ...m.progress, current: Number(m.progress.current), total: Number(m.progress.total) });
        if (m.pushed?.digest) pushed = { digest: m.pushed.digest, size: Number(m.pushed.size) };
      },
    );
    return pushed;
  }
}

export function shimdImages(shimd: ShimdClient, tmpDir: string): ImageBackend | undefined {
  return shimd.has('Images') ? new ShimdImages(shimd, tmpDir) : undefined;
}
