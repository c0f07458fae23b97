// A streaming tar reader (ustar, pax and GNU long names). Written here rather than
// taken from the `tar` package because unpacking needs every field exactly as
// stored: binary xattr values in pax records (SCHILY.xattr.*), device numbers, and
// paths untouched so unsafe ones can be rejected instead of silently rewritten.
import { invalidArgument } from '../errors.js';

export type EntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarEntry {
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch (pax mtimes may have a fraction). */
  mtime: number;
  linkpath: string;
  devmajor: number;
  devminor: number;
  uname: string;
  gname: string;
  xattrs: Record<string, Buffer>;
}

class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer | string | Uint8Array>;
  constructor(source: AsyncIterable<Buffer | string | Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }
  async fill(n: number): Promise<number> {
    while (this.buffered < n && !this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
      if (b.length) {
        this.chunks.push(b);
        this.buffered += b.length;
      }
    }
    return Math.min(n, this.buffered);
  }
  /** Takes up to n buffered bytes (call fill first). */
  take(n: number): Buffer {
    const out: Buffer[] = [];
    let need = n;
    while (need > 0 && this.chunks.length) {
      const c = this.chunks[0];
      if (c.length <= need) {
        out.push(c);
        this.chunks.shift();
        need -= c.length;
      } else {
        out.push(c.subarray(0, need));
        this.chunks[0] = c.subarray(need);
        need = 0;
      }
    }
    const got = n - need;
    this.buffered -= got;
    return out.length === 1 ? out[0] : Buffer.concat(out, got);
  }
  async exact(n: number, what: string): Promise<Buffer> {
    if ((await this.fill(n)) < n) throw invalidArgument(`tar: unexpected end of archive in ${what}`);
    return this.take(n);
  }
  /** Yields the next n bytes in chunks as they arrive. */
  async *stream(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && (await this.fill(1)) === 0) throw invalidArgument(`tar: unexpected end of archive in ${what}`);
      const c = this.take(Math.min(left, this.buffered));
      left -= c.length;
      yield c;
    }
  }
  async skip(n: number, what: string): Promise<void> {
    for await (const _ of this.stream(n, what)) {
      // discard
    }
  }
}

function cstr(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return (z >= 0 ? s.subarray(0, z) : s).toString('utf8');
}

function num(b: Buffer, off: number, len: number): number {
  const f = b.subarray(off, off + len);
  if (f[0] & 0x80) {
    // GNU base-256: big-endian two's complement, top bit marks the format.
    let v = BigInt(f[0] & 0x7f);
    for (let i = 1; i < f.length; i++) v = (v << 8n) | BigInt(f[i]);
    return Number(v);
  }
  const s = cstr(b, off, len).trim();
  return s ? Number.parseInt(s, 8) : 0;
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Parses pax records: `<len> <key>=<value>\n`, lengths in bytes, values may be binary. */
export function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let i = 0;
  while (i < buf.length) {
    if (buf[i] === 0) break;
    const sp = buf.indexOf(0x20, i);
    if (sp < 0) throw invalidArgument('tar: malformed pax record');
    const len = Number.parseInt(buf.subarray(i, sp).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= sp - i || i + len > buf.length) throw invalidArgument('tar: malformed pax record length');
    const rec = buf.subarray(sp + 1, i + len - 1); // without the trailing newline
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw invalidArgument('tar: malformed pax record (no "=")');
    out.set(rec.subarray(0, eq).toString('utf8'), rec.subarray(eq + 1));
    i += len;
  }
  return out;
}

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

export interface TarItem {
  entry: TarEntry;
  /** The entry's data; if not consumed it is skipped when the next entry is read. */
  body: AsyncIterable<Buffer>;
}

/** Reads a tar stream entry by entry. */
export async function* readTar(source: AsyncIterable<Buffer | string | Uint8Array>): AsyncGenerator<TarItem> {
  const r = new ByteReader(source);
  let global = new Map<string, Buffer>();
  let pax: Map<string, Buffer> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const got = await r.fill(512);
    if (got === 0) return; // tolerate archives without the two zero blocks
    if (got < 512) throw invalidArgument('tar: truncated header block');
    const h = r.take(512);
    if (isZero(h)) return;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
    if (sum !== num(h, 148, 8)) throw invalidArgument('tar: header checksum mismatch (not a tar archive, or corrupt)');
    const flag = String.fromCharCode(h[156]);
    const size = num(h, 124, 12);
    const padded = Math.ceil(size / 512) * 512;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      const data = await r.exact(padded, 'extended header');
      const body = data.subarray(0, size);
      if (flag === 'x') pax = parsePax(body);
      else if (flag === 'g') global = new Map([...global, ...parsePax(body)]);
      else if (flag === 'L') longName = cstr(body, 0, body.length);
      else longLink = cstr(body, 0, body.length);
      continue;
    }
    const type = TYPES[flag];
    const ext = new Map([...global, ...(pax ?? [])]);
    pax = undefined;
    const magic = h.subarray(257, 263).toString('latin1');
    const prefix = magic === 'ustar\u000000' || magic.startsWith('ustar\0') ? cstr(h, 345, 155) : '';
    let path = longName ?? (prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100));
    let linkpath = longLink ?? cstr(h, 157, 100);
    longName = undefined;
    longLink = undefined;
    const str = (k: string) => ext.get(k)?.toString('utf8');
    if (ext.has('path')) path = str('path')!;
    if (ext.has('linkpath')) linkpath = str('linkpath')!;
    const entrySize = ext.has('size') ? Number(str('size')) : size;
    const xattrs: Record<string, Buffer> = {};
    for (const [k, v] of ext) {
      if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice(13)] = v;
    }
    if (!type) {
      throw invalidArgument(`tar: unsupported entry type ${JSON.stringify(flag)} for ${JSON.stringify(path)}`);
    }
    const entry: TarEntry = {
      path,
      type,
      mode: num(h, 100, 8) & 0o7777,
      uid: ext.has('uid') ? Number(str('uid')) : num(h, 108, 8),
      gid: ext.has('gid') ? Number(str('gid')) : num(h, 116, 8),
      size: type === 'file' ? entrySize : 0,
      mtime: ext.has('mtime') ? Number(str('mtime')) : num(h, 136, 12),
      linkpath,
      devmajor: num(h, 329, 8),
      devminor: num(h, 337, 8),
      uname: str('uname') ?? cstr(h, 265, 32),
      gname: str('gname') ?? cstr(h, 297, 32),
      xattrs,
    };
    // Hard links and others may carry a size in their header; the data is still there.
    const dataSize = type === 'file' ? entrySize : size;
    const dataPadded = Math.ceil(dataSize / 512) * 512;
    let consumed = false;
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => {
        if (consumed) throw new Error('tar: entry body read twice');
        consumed = true;
        return r.stream(dataSize, path)[Symbol.asyncIterator]();
      },
    };
    yield { entry, body };
    if (!consumed) await r.skip(dataSize, path);
    await r.skip(dataPadded - dataSize, path);
  }
}
