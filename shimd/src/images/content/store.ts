// The content store: blobs addressed by sha256, shared by every namespace. Writes go
// to an ingest dir named by the writer's ref, are hashed as they arrive, verified
// against the expected digest and size, and renamed into blobs/ only when complete,
// so a blob that exists is always whole. An interrupted ingest keeps its data and
// resumes at its current offset.
import { createHash, type Hash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  fstatSync,
  ftruncateSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseDigest, sha256 } from '../digest.js';
import { ImageError, failedPrecondition, invalidArgument, isErrno, notFound } from '../errors.js';
import { syncDir, writeFileAtomic } from '../fsutil.js';

export interface ContentInfo {
  digest: string;
  size: number;
  createdAt: string;
  updatedAt: string;
  labels: Record<string, string>;
}

export interface IngestStatus {
  ref: string;
  offset: number;
  total: number;
  expected: string;
  startedAt: string;
  updatedAt: string;
}

export interface Expected {
  digest?: string;
  size?: number;
}

export class ContentWriter {
  private fd: number;
  private hash: Hash;
  offset: number;
  private closed = false;
  constructor(
    private readonly store: ContentStore,
    readonly ref: string,
    private readonly dir: string,
    readonly expected: Expected,
  ) {
    const data = join(dir, 'data');
    this.fd = openSync(data, existsSync(data) ? 'r+' : 'w+');
    this.hash = createHash('sha256');
    // Resume: re-hash what is already there.
    const size = fstatSync(this.fd).size;
    const buf = Buffer.alloc(1 << 20);
    let pos = 0;
    while (pos < size) {
      const n = readSync(this.fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      this.hash.update(buf.subarray(0, n));
      pos += n;
    }
    this.offset = pos;
  }

  write(chunk: Buffer): void {
    if (this.closed) throw failedPrecondition(`ingest ${this.ref} is closed`);
    let off = 0;
    while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off, this.offset + off);
    this.hash.update(chunk);
    this.offset += chunk.length;
    if (this.expected.size !== undefined && this.offset > this.expected.size) {
      throw invalidArgument(`ingest ${this.ref}: ${this.offset} bytes written, more than the expected ${this.expected.size}`);
    }
  }

  /** Discards what was written so far (a source that cannot resume). */
  truncate(): void {
    ftruncateSync(this.fd, 0);
    this.hash = createHash('sha256');
    this.offset = 0;
  }

  /** Verifies and moves the data into the store; returns the digest. */
  commit(opts: { size?: number; digest?: string; labels?: Record<string, string> } = {}): string {
    const size = opts.size ?? this.expected.size;
    const want = opts.digest ?? this.expected.digest;
    const digest = `sha256:${this.hash.copy().digest('hex')}`;
    if (size !== undefined && size > 0 && this.offset !== size) {
      throw new ImageError('FailedPrecondition', `ingest ${this.ref}: got ${this.offset} bytes, expected ${size}`);
    }
    if (want && want !== digest) {
      this.abort();
      throw new ImageError('DataLoss', `ingest ${this.ref}: digest mismatch: expected ${want}, got ${digest}`);
    }
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.closed = true;
    const target = this.store.blobPath(digest);
    if (existsSync(target)) {
      // Someone else committed the same bytes first: the blob is whole either way.
      rmSync(this.dir, { recursive: true, force: true });
      if (opts.labels && Object.keys(opts.labels).length) this.store.setLabels(digest, opts.labels);
      return digest;
    }
    renameSync(join(this.dir, 'data'), target);
    syncDir(join(target, '..'));
    rmSync(this.dir, { recursive: true, force: true });
    if (opts.labels && Object.keys(opts.labels).length) this.store.setLabels(digest, opts.labels);
    return digest;
  }

  close(): void {
    if (!this.closed) {
      closeSync(this.fd);
      this.closed = true;
    }
  }

  abort(): void {
    this.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}


export class ContentStore {
  readonly root: string;
  constructor(root: string) {
    this.root = root;
    mkdirSync(join(root, 'blobs', 'sha256'), { recursive: true });
    mkdirSync(join(root, 'ingest'), { recursive: true });
    mkdirSync(join(root, 'labels'), { recursive: true });
  }

  blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', parseDigest(digest));
  }

  has(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  info(digest: string): ContentInfo {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(this.blobPath(digest));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw notFound(`content ${digest}: not found`);
      throw e;
    }
    return {
      digest,
      size: st.size,
      createdAt: st.birthtime.getTime() ? st.birthtime.toISOString() : st.ctime.toISOString(),
      updatedAt: st.mtime.toISOString(),
      labels: this.labels(digest),
    };
  }

  list(): ContentInfo[] {
    return readdirSync(join(this.root, 'blobs', 'sha256'))
      .filter((n) => /^[a-f0-9]{64}$/.test(n))
      .sort()
      .map((n) => this.info(`sha256:${n}`));
  }

  private labelPath(digest: string): string {
    return join(this.root, 'labels', `${parseDigest(digest)}.json`);
  }

  labels(digest: string): Record<string, string> {
    try {
      return JSON.parse(readFileSync(this.labelPath(digest), 'utf8'));
    } catch {
      return {};
    }
  }

  /** Merges labels; an empty value removes a label. */
  setLabels(digest: string, labels: Record<string, string>): Record<string, string> {
    if (!this.has(digest)) throw notFound(`content ${digest}: not found`);
    const cur = { ...this.labels(digest), ...labels };
    for (const [k, v] of Object.entries(cur)) if (v === '') delete cur[k];
    writeFileAtomic(this.labelPath(digest), JSON.stringify(cur));
    return cur;
  }

  delete(digest: string): void {
    const p = this.blobPath(digest);
    if (!existsSync(p)) throw notFound(`content ${digest}: not found`);
    rmSync(p);
    rmSync(this.labelPath(digest), { force: true });
  }

  readStream(digest: string, offset = 0, length?: number): Readable {
    const p = this.blobPath(digest);
    if (!existsSync(p)) throw notFound(`content ${digest}: not found`);
    return createReadStream(p, {
      start: offset,
      end: length !== undefined && length > 0 ? offset + length - 1 : undefined,
      highWaterMark: 1 << 20,
    });
  }

  readBytes(digest: string): Buffer {
    try {
      return readFileSync(this.blobPath(digest));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw notFound(`content ${digest}: not found`);
      throw e;
    }
  }

  readJson<T>(digest: string): T {
    const b = this.readBytes(digest);
    try {
      return JSON.parse(b.toString('utf8')) as T;
    } catch {
      throw invalidArgument(`content ${digest} is not valid JSON`);
    }
  }

  private ingestDir(ref: string): string {
    return join(this.root, 'ingest', sha256(ref).slice(7, 39));
  }

  /** Opens (or resumes) the ingest named ref. */
  writer(ref: string, expected: Expected = {}): ContentWriter {
    if (!ref) throw invalidArgument('ingest ref must not be empty');
    if (expected.digest) parseDigest(expected.digest);
    const dir = this.ingestDir(ref);
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, 'ref'), JSON.stringify({ ref, expected: expected.digest ?? '', total: expected.size ?? 0, startedAt: new Date().toISOString() }));
    return new ContentWriter(this, ref, dir, expected);
  }

  ingests(): IngestStatus[] {
    const out: IngestStatus[] = [];
    for (const n of readdirSync(join(this.root, 'ingest'))) {
      try {
        const meta = JSON.parse(readFileSync(join(this.root, 'ingest', n, 'ref'), 'utf8'));
        const st = statSync(join(this.root, 'ingest', n, 'data'));
        out.push({ ref: meta.ref, offset: st.size, total: meta.total, expected: meta.expected, startedAt: meta.startedAt, updatedAt: st.mtime.toISOString() });
      } catch {
        // a half-created ingest dir: ignore
      }
    }
    return out;
  }

  abortIngest(ref: string): void {
    const dir = this.ingestDir(ref);
    if (!existsSync(dir)) throw notFound(`ingest ${ref}: not found`);
    rmSync(dir, { recursive: true, force: true });
  }

  /** Writes a whole blob (verified if a digest is given); an existing blob is fine. */
  writeBlob(data: Buffer, expected: Expected = {}, labels?: Record<string, string>): string {
    const digest = sha256(data);
    if (expected.digest && expected.digest !== digest) {
      throw new ImageError('DataLoss', `content digest mismatch: expected ${expected.digest}, got ${digest}`);
    }
    if (expected.size !== undefined && expected.size !== data.length) {
      throw new ImageError('DataLoss', `content ${digest}: size ${data.length}, expected ${expected.size}`);
    }
    if (!this.has(digest)) {
      const w = this.writer(`write-${digest}-${process.pid}-${Math.random()}`, { digest, size: data.length });
      w.truncate();
      w.write(data);
      w.commit();
    }
    if (labels) this.setLabels(digest, labels);
    return digest;
  }

  /** Offset of an unfinished ingest (0 if none). */
  ingestOffset(ref: string): number {
    try {
      return statSync(join(this.ingestDir(ref), 'data')).size;
    } catch {
      return 0;
    }
  }

  /** Streams a source into the store, verified against expected. */
  /**
   * With keepOnSourceError, a failing source (a connection reset mid-body) leaves what
   * arrived in the ingest so the next attempt resumes at its offset; bad data (digest
   * or size) always discards it.
   */
  async writeFrom(
    ref: string,
    source: AsyncIterable<Buffer | Uint8Array>,
    expected: Expected,
    onBytes?: (n: number) => void,
    resumeAt?: number,
    opts: { keepOnSourceError?: boolean } = {},
  ): Promise<string> {
    if (expected.digest && this.has(expected.digest)) return expected.digest;
    const w = this.writer(ref, expected);
    // Continue an interrupted ingest only when the source starts where the data ends.
    if (resumeAt === undefined || resumeAt !== w.offset) w.truncate();
    try {
      for await (const c of source) {
        const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
        w.write(b);
        onBytes?.(w.offset);
      }
    } catch (e) {
      // Our own checks (too many bytes) fail as ImageErrors of other kinds; timeouts are Unavailable.
      if (opts.keepOnSourceError && (!(e instanceof ImageError) || e.kind === 'Unavailable')) w.close();
      else w.abort();
      throw e;
    }
    try {
      return w.commit();
    } catch (e) {
      w.abort();
      throw e;
    }
  }
}
