// Applies one layer (a tar stream, possibly compressed) to a directory.
//
// Safety: every entry path is checked before anything is written: absolute paths,
// `..` components, paths that pass through a symlink, hard links whose source is
// outside the layer root, relative symlinks that climb above the root and (unless
// allowed) device nodes reject the whole layer with an ImageError naming the entry.
// Because parents are checked with lstat and files are opened O_NOFOLLOW, nothing is
// ever written outside `root`.
//
// Whiteouts (image-spec layer.md): `.wh.<name>` deletes <name> from lower layers and
// `.wh..wh..opq` makes its directory opaque. For overlay snapshots they become what
// overlayfs reads (a 0:0 character device, trusted.overlay.opaque=y); for the copying
// snapshotter they are applied by deleting from the copied parent.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  chmodSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Compression } from '../digest.js';
import { ImageError, isErrno } from '../errors.js';
import { type Sys, linuxSys, S_IFBLK, S_IFCHR, S_IFIFO, SysError } from '../sys.js';
import { readTar, type TarEntry } from '../tar/reader.js';

export interface ApplyOptions {
  /** 'overlay': write overlayfs whiteouts; 'delete': remove from the (copied) lower tree. */
  whiteouts: 'overlay' | 'delete';
  /** Device nodes (char/block) are created only when allowed. */
  allowDevices?: boolean;
  /** Restore ownership (needs root); default true when running as root. */
  chown?: boolean;
  sys?: Sys;
}

export interface ApplyResult {
  /** sha256 of the uncompressed tar (the layer's diff ID). */
  diffId: string;
  /** Bytes of uncompressed tar read. */
  size: number;
  entries: number;
}

const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';

function reject(entry: string, why: string): ImageError {
  return new ImageError('InvalidArgument', `unsafe layer: entry ${JSON.stringify(entry)}: ${why}`);
}

/** Normalises an archive path to root-relative components, or rejects it. */
export function safeComponents(name: string, what = name): string[] {
  if (name.startsWith('/')) throw reject(what, 'absolute path');
  if (name.includes('\0')) throw reject(what, 'NUL in path');
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw reject(what, 'path contains ".."');
    parts.push(c);
  }
  return parts;
}

/** Decompresses a layer stream and hashes the uncompressed bytes. */
export function decompress(source: Readable, compression: Compression): { stream: Readable; result: () => { digest: string; size: number }; done: Promise<void> } {
  const hash = createHash('sha256');
  let size = 0;
  let out: Readable;
  let done: Promise<void> = Promise.resolve();
  if (compression === 'gzip') {
    out = source.pipe(createGunzip());
    source.on('error', (e) => out.destroy(e));
  } else if (compression === 'zstd') {
    // Node 20's zlib has no zstd; Debian's zstd tool decompresses in a pipe.
    const child = spawn('zstd', ['-dcq'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    source.pipe(child.stdin);
    source.on('error', (e) => child.kill() && child.stdout.destroy(e));
    child.stdin.on('error', () => {});
    out = child.stdout;
    done = new Promise((resolve, rejectP) => {
      child.on('error', (e) => rejectP(new ImageError('Unavailable', `zstd layer: cannot run zstd: ${e.message}`)));
      child.on('close', (code) => (code === 0 || code === null ? resolve() : rejectP(new ImageError('InvalidArgument', `zstd layer: ${err.trim() || `exit ${code}`}`))));
    });
  } else {
    out = source;
  }
  const tee = new PassThrough({ highWaterMark: 1 << 20 });
  out.on('data', (c: Buffer) => {
    hash.update(c);
    size += c.length;
  });
  out.on('error', (e) => tee.destroy(e));
  out.pipe(tee);
  return { stream: tee, result: () => ({ digest: `sha256:${hash.digest('hex')}`, size }), done };
}

class Applier {
  private readonly sys: Sys;
  private readonly chown: boolean;
  private readonly dirTimes: Array<[string, number]> = [];
  /** Paths (root-relative) this layer wrote, for opaque dirs in delete mode. */
  private readonly written = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly opts: ApplyOptions,
  ) {
    this.sys = opts.sys ?? linuxSys;
    this.chown = opts.chown ?? process.getuid?.() === 0;
  }

  /** Makes sure every parent of parts is a real directory inside root (creating missing ones). */
  private parents(parts: string[], what: string): string {
    let p = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      p = join(p, parts[i]);
      let st: ReturnType<typeof lstatSync> | undefined;
      try {
        st = lstatSync(p);
      } catch (e) {
        if (!isErrno(e, 'ENOENT')) throw e;
      }
      if (!st) {
        mkdirSync(p, { mode: 0o755 });
      } else if (st.isSymbolicLink()) {
        throw reject(what, `parent ${JSON.stringify(parts.slice(0, i + 1).join('/'))} is a symlink`);
      } else if (!st.isDirectory()) {
        throw reject(what, `parent ${JSON.stringify(parts.slice(0, i + 1).join('/'))} is not a directory`);
      }
    }
    return join(this.root, ...parts);
  }

  private exists(p: string): ReturnType<typeof lstatSync> | undefined {
    try {
      return lstatSync(p);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
  }

  private markWritten(parts: string[]): void {
    for (let i = 1; i <= parts.length; i++) this.written.add(parts.slice(0, i).join('/'));
  }

  private whiteout(entry: TarEntry, parts: string[]): void {
    const base = parts[parts.length - 1];
    const dirParts = parts.slice(0, -1);
    if (base === WH_OPAQUE) {
      const dir = dirParts.length ? this.parents([...dirParts, 'x'], entry.path).slice(0, -2) : this.root;
      if (dirParts.length && !this.exists(dir)) mkdirSync(dir, { mode: 0o755 });
      if (this.opts.whiteouts === 'overlay') {
        this.sys.lsetxattr(dir, 'trusted.overlay.opaque', Buffer.from('y'));
      } else {
        const prefix = dirParts.join('/');
        for (const child of readdirSync(dir)) {
          const rel = prefix ? `${prefix}/${child}` : child;
          if (!this.written.has(rel)) rmSync(join(dir, child), { recursive: true, force: true });
        }
      }
      this.markWritten(dirParts);
      return;
    }
    const name = base.slice(WH_PREFIX.length);
    if (!name || name === '.' || name === '..') throw reject(entry.path, 'bad whiteout name');
    const target = this.parents([...dirParts, name], entry.path);
    if (this.opts.whiteouts === 'overlay') {
      if (this.exists(target)) rmSync(target, { recursive: true, force: true });
      this.sys.mknod(target, S_IFCHR, 0, 0);
      if (this.chown) lchownSync(target, 0, 0);
      this.markWritten([...dirParts, name]);
    } else {
      rmSync(target, { recursive: true, force: true });
    }
  }

  private setXattrs(p: string, entry: TarEntry): void {
    for (const [k, v] of Object.entries(entry.xattrs)) {
      // Overlay's own attributes from an image would change how the snapshot is read.
      if (k.startsWith('trusted.overlay.')) continue;
      try {
        this.sys.lsetxattr(p, k, v);
      } catch (e) {
        if (e instanceof SysError && e.errno === 95) continue; // filesystem without xattrs
        throw e;
      }
    }
  }

  async entry(entry: TarEntry, body: AsyncIterable<Buffer>): Promise<void> {
    const parts = safeComponents(entry.path);
    const what = entry.path;
    if (parts.length === 0) {
      // The root itself ("./"): take its metadata.
      if (entry.type === 'dir') {
        if (this.chown) lchownSync(this.root, entry.uid, entry.gid);
        chmodSync(this.root, entry.mode);
        this.dirTimes.push([this.root, entry.mtime]);
        return;
      }
      throw reject(what, 'the layer root must be a directory');
    }
    const base = parts[parts.length - 1];
    if (base.startsWith(WH_PREFIX)) {
      this.whiteout(entry, parts);
      return;
    }
    if ((entry.type === 'char' || entry.type === 'block') && !this.opts.allowDevices) {
      throw reject(what, `device nodes are not allowed here (${entry.type} ${entry.devmajor}:${entry.devminor})`);
    }
    if (entry.type === 'symlink') {
      const target = entry.linkpath;
      if (!target) throw reject(what, 'symlink without a target');
      if (!target.startsWith('/')) {
        // Lexically resolve against the link's directory; climbing above the root means
        // the link points outside the snapshot.
        let depth = parts.length - 1;
        for (const c of target.split('/')) {
          if (c === '..') depth--;
          else if (c !== '' && c !== '.') depth++;
          if (depth < 0) throw reject(what, `symlink target ${JSON.stringify(target)} points outside the layer`);
        }
      }
    }
    let linkSource: string | undefined;
    if (entry.type === 'hardlink') {
      if (entry.linkpath.startsWith('/')) throw reject(what, `hard link to absolute path ${JSON.stringify(entry.linkpath)}`);
      const src = safeComponents(entry.linkpath, what);
      if (src.length === 0) throw reject(what, 'hard link to the layer root');
      linkSource = this.parents(src, what);
      const st = this.exists(linkSource);
      if (!st) throw reject(what, `hard link to ${JSON.stringify(entry.linkpath)}, which is not in the layer`);
      if (st.isDirectory()) throw reject(what, 'hard link to a directory');
    }
    const p = this.parents(parts, what);
    const cur = this.exists(p);
    if (cur && !(entry.type === 'dir' && cur.isDirectory())) rmSync(p, { recursive: true, force: true });
    this.markWritten(parts);
    switch (entry.type) {
      case 'dir': {
        if (!cur?.isDirectory()) mkdirSync(p, { mode: 0o700 });
        this.meta(p, entry, false);
        this.dirTimes.push([p, entry.mtime]);
        return;
      }
      case 'file': {
        const fd = openSync(p, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          let pos = 0;
          for await (const chunk of body) {
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off, pos + off);
            pos += chunk.length;
          }
          if (this.chown) fchownSync(fd, entry.uid, entry.gid);
          fchmodSync(fd, entry.mode); // after chown, which clears setuid/setgid
          this.setXattrs(p, entry);
          futimesSync(fd, entry.mtime, entry.mtime);
        } finally {
          closeSync(fd);
        }
        return;
      }
      case 'symlink':
        symlinkSync(entry.linkpath, p);
        this.meta(p, entry, true);
        return;
      case 'hardlink':
        linkSync(linkSource!, p);
        return;
      case 'char':
      case 'block':
      case 'fifo': {
        const kind = entry.type === 'char' ? S_IFCHR : entry.type === 'block' ? S_IFBLK : S_IFIFO;
        this.sys.mknod(p, kind | entry.mode, entry.devmajor, entry.devminor);
        this.meta(p, entry, false);
        return;
      }
    }
  }

  private meta(p: string, entry: TarEntry, symlink: boolean): void {
    if (this.chown) lchownSync(p, entry.uid, entry.gid);
    if (!symlink) chmodSync(p, entry.mode);
    this.setXattrs(p, entry);
    lutimesSync(p, entry.mtime, entry.mtime);
  }

  finish(): void {
    // Directory mtimes last: creating children changes them.
    for (const [p, t] of this.dirTimes.reverse()) lutimesSync(p, t, t);
  }
}

/** Applies an (already decompressed) tar stream to root. */
export async function applyTar(root: string, tar: AsyncIterable<Buffer>, opts: ApplyOptions): Promise<number> {
  const a = new Applier(root, opts);
  let n = 0;
  for await (const { entry, body } of readTar(tar)) {
    await a.entry(entry, body);
    n++;
  }
  a.finish();
  return n;
}

/** Decompresses, applies and returns the diff ID of a layer. */
export async function applyLayer(root: string, source: Readable, compression: Compression, opts: ApplyOptions): Promise<ApplyResult> {
  const d = decompress(source, compression);
  let entries: number;
  // One iterator for both the tar reader and the drain after it: the digest must cover
  // the padding after the end-of-archive blocks too.
  const it = d.stream[Symbol.asyncIterator]();
  try {
    entries = await applyTar(root, { [Symbol.asyncIterator]: () => it }, opts);
    while (!(await it.next()).done) {
      // discard
    }
    await d.done;
  } catch (e) {
    d.stream.destroy();
    source.destroy();
    if (e instanceof Error && 'code' in e && (e as NodeJS.ErrnoException).code === 'Z_DATA_ERROR') {
      throw new ImageError('InvalidArgument', `layer is not valid gzip: ${e.message}`);
    }
    throw e;
  }
  const r = d.result();
  return { diffId: r.digest, size: r.size, entries };
}
