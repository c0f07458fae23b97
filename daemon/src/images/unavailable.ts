// The image backend used while berth-shimd offers no image services: every call
// fails with a clear 503 naming what is missing.
import { Readable } from 'node:stream';
import { unavailable } from '../errors.js';
import type { ImageBackend, StoredImage } from './backend.js';

const why = () => unavailable('berth-shimd does not offer image services (proto/images.proto) yet');

export class UnavailableImages implements ImageBackend {
  async list(): Promise<StoredImage[]> {
    return [];
  }
  async get(): Promise<StoredImage | undefined> {
    return undefined;
  }
  async put(): Promise<void> {
    throw why();
  }
  async delete(): Promise<void> {
    throw why();
  }
  async readJson(): Promise<any> {
    throw why();
  }
  async importArchive(tar: Readable): Promise<StoredImage[]> {
    tar.resume();
    throw why();
  }
  exportArchive(): Readable {
    return Readable.from([]).on('data', () => {
      throw why();
    });
  }
  async prepareSnapshot(): Promise<{ snapshotter: string; snapshotKey: string }> {
    throw why();
  }
  async removeSnapshot(): Promise<void> {}
  async snapshotMounts(): Promise<never[]> {
    throw why();
  }
  async usage(): Promise<number> {
    return 0;
  }
}
