// Reads the json-file logs the shim writes (one {"log","stream","time"} object per
// line; rotated files path.1 … path.N older), for `docker logs` and attach: tail,
// since/until and follow. Following polls with fs.watch as a hint, because the
// writer is another process and a rotation replaces the file.
//
// Large logs are the common case (`docker logs` of a chatty container), so the
// reader works on bytes: files are read in big chunks, lines are cut at '\n', and
// the shim's own line layout is taken apart without JSON.parse; the log text stays
// a Buffer (a view into the chunk) unless it holds escapes. --tail seeks from the
// end instead of reading everything.
import { type FSWatcher, closeSync, existsSync, openSync, readSync, statSync, watch } from 'node:fs';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  log: string;
  time: string;
}

/**
 * One line. The log text is kept as a "binary" string (latin1: one char per byte),
 * so it is cut out of the chunk without decoding and written back byte for byte.
 */
export interface RawEntry {
  stream: 'stdout' | 'stderr';
  /** The log text's bytes, one char per byte. */
  bytes: string;
  /** The RFC 3339 time as written. */
  time: string;
}

export interface ReadOptions {
  /** Only the last N entries (of the existing content). */
  tail?: number;
  /** Unix seconds (fractional); entries at or after. */
  since?: number;
  until?: number;
  follow?: boolean;
  /** Start at the current end instead of the beginning (attach). */
  fromEnd?: boolean;
  /** Resolves when no more output can come (the container stopped). */
  done?: Promise<void>;
  signal?: AbortSignal;
}

const CHUNK = 4 << 20;
const NL = 0x0a;
const PREFIX = '{"log":"';
const STREAM_KEY = '","stream":"';
const TIME_KEY = '","time":"';
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f' };

function slowParse(line: string): RawEntry | undefined {
  try {
    const o = JSON.parse(Buffer.from(line, 'latin1').toString('utf8'));
    if (typeof o.log !== 'string') return undefined;
    return { stream: o.stream === 'stderr' ? 'stderr' : 'stdout', bytes: Buffer.from(o.log, 'utf8').toString('latin1'), time: String(o.time ?? '') };
  } catch {
    return undefined;
  }
}

/** JSON string escapes in a binary string; \uXXXX is encoded back to UTF-8 bytes. */
function unescapeJsonText(s: string): string | undefined {
  let out = '';
  let from = 0;
  for (let i = s.indexOf('\\'); i >= 0; i = s.indexOf('\\', from)) {
    out += s.slice(from, i);
    const c = s[i + 1];
    if (c === undefined) return undefined;
    if (c === 'u') {
      const code = Number.parseInt(s.slice(i + 2, i + 6), 16);
      if (Number.isNaN(code)) return undefined;
      out += code < 0x80 ? String.fromCharCode(code) : Buffer.from(String.fromCharCode(code), 'utf8').toString('latin1');
      from = i + 6;
    } else {
      const r = ESCAPES[c];
      if (r === undefined) return undefined;
      out += r;
      from = i + 2;
    }
  }
  return out + s.slice(from);
}

/**
 * Parses line [from, to) of a binary string: the shim's layout directly, anything
 * else through JSON.parse.
 */
export function parseLine(str: string, from: number, to: number): RawEntry | undefined {
  if (to <= from) return undefined;
  if (!str.startsWith(PREFIX, from) || str.charCodeAt(to - 1) !== 0x7d || str.charCodeAt(to - 2) !== 0x22) return slowParse(str.slice(from, to));
  // The log text cannot contain an unescaped `"`, so the last `","stream":"` ends it.
  const s = str.lastIndexOf(STREAM_KEY, to);
  if (s < from + PREFIX.length) return slowParse(str.slice(from, to));
  const v = s + STREAM_KEY.length;
  const stream = str.startsWith('stdout', v) ? 'stdout' : str.startsWith('stderr', v) ? 'stderr' : undefined;
  if (!stream || !str.startsWith(TIME_KEY, v + 6)) return slowParse(str.slice(from, to));
  let bytes = str.slice(from + PREFIX.length, s);
  if (bytes.includes('\\')) {
    const u = unescapeJsonText(bytes);
    if (u === undefined) return slowParse(str.slice(from, to));
    bytes = u;
  }
  return { stream, bytes, time: str.slice(v + 6 + TIME_KEY.length, to - 2) };
}

/** One line given alone (tests, tools). */
export function parseRaw(line: Buffer): RawEntry | undefined {
  const s = line.toString('latin1');
  return parseLine(s, 0, s.length);
}

function timeOf(e: RawEntry): number {
  return Date.parse(e.time) / 1000;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}

/** The log's files, oldest first, with where reading starts in each. */
function logFiles(path: string): { path: string; start: number }[] {
  const files: { path: string; start: number }[] = [];
  for (let i = 9; i >= 1; i--) if (existsSync(`${path}.${i}`)) files.push({ path: `${path}.${i}`, start: 0 });
  files.push({ path, start: 0 });
  return files;
}

/** Where the last `n` complete lines begin: scans each file backwards from its end. */
function seekTail(files: { path: string; start: number }[], ends: number[], n: number): number {
  let need = n;
  for (let i = files.length - 1; i >= 0; i--) {
    const end = ends[i]!;
    if (end <= 0) continue;
    const fd = openSync(files[i]!.path, 'r');
    try {
      const buf = Buffer.alloc(Math.min(CHUNK, end));
      let pos = end;
      // The last '\n' ends the last complete line: the k-th last line starts after the (k+1)-th.
      let skipFirst = true;
      while (pos > 0) {
        const len = Math.min(buf.length, pos);
        pos -= len;
        readSync(fd, buf, 0, len, pos);
        for (let j = len - 1; j >= 0; j--) {
          if (buf[j] !== NL) continue;
          if (skipFirst) {
            skipFirst = false;
            continue;
          }
          if (--need === 0) {
            files[i]!.start = pos + j + 1;
            return i;
          }
        }
      }
    } finally {
      closeSync(fd);
    }
    // The whole file's lines count; the line at offset 0 had no '\n' before it.
    if (--need === 0) return i;
  }
  return 0;
}

/**
 * Complete lines of [start, end) of a file, in batches; returns how far it got
 * (the start of a trailing partial line).
 */
function* readRange(path: string, start: number, end: number): Generator<RawEntry[], number> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return start;
  }
  try {
    let pos = start;
    let carry = '';
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(0, end - start)));
    while (pos < end) {
      const want = Math.min(chunk.length, end - pos);
      const n = readSync(fd, chunk, 0, want, pos);
      if (n === 0) break;
      pos += n;
      // latin1: one char per byte, the cheapest decoding, and lines cut as strings.
      const str = carry + chunk.toString('latin1', 0, n);
      const batch: RawEntry[] = [];
      let from = 0;
      for (let nl = str.indexOf('\n'); nl >= 0; nl = str.indexOf('\n', from)) {
        const e = parseLine(str, from, nl);
        if (e) batch.push(e);
        from = nl + 1;
      }
      carry = str.slice(from);
      if (batch.length) yield batch;
    }
    return pos - carry.length;
  } finally {
    closeSync(fd);
  }
}

/** Entries in batches: the existing content (tail, since, until), then, with follow, what is appended. */
export async function* readLogBatches(path: string, opts: ReadOptions = {}): AsyncGenerator<RawEntry[]> {
  const timed = opts.since !== undefined || opts.until !== undefined;
  const keep = (e: RawEntry) => {
    const t = timeOf(e);
    return (opts.since === undefined || t >= opts.since) && (opts.until === undefined || t <= opts.until);
  };
  let offset = 0;
  let ino = 0;
  try {
    ino = statSync(path).ino;
  } catch {}
  if (opts.fromEnd) {
    offset = Math.max(0, fileSize(path));
  } else {
    const files = logFiles(path);
    const ends = files.map((f) => fileSize(f.path));
    let first = 0;
    if (opts.tail !== undefined && opts.tail >= 0) {
      if (opts.tail === 0) first = files.length;
      else if (!timed) first = seekTail(files, ends, opts.tail);
    }
    if (opts.tail !== undefined && opts.tail > 0 && timed) {
      // since/until with tail: the last N of the entries that match.
      let all: RawEntry[] = [];
      for (let i = 0; i < files.length; i++) {
        const it = readRange(files[i]!.path, 0, ends[i]!);
        for (let r = it.next(); !r.done; r = it.next()) all.push(...r.value.filter(keep));
        if (i === files.length - 1) offset = Math.max(0, ends[i]!);
      }
      all = all.slice(-opts.tail);
      if (all.length) yield all;
      first = files.length;
    }
    for (let i = first; i < files.length; i++) {
      const it = readRange(files[i]!.path, files[i]!.start, Math.max(0, ends[i]!));
      let r = it.next();
      for (; !r.done; r = it.next()) {
        const batch = timed ? r.value.filter(keep) : r.value;
        if (batch.length) yield batch;
      }
      if (i === files.length - 1) offset = r.value;
    }
    if (first >= files.length) offset = Math.max(0, ends[files.length - 1]!);
  }
  if (!opts.follow) return;

  let finished = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  opts.done?.then(() => {
    finished = true;
    poke();
  });
  opts.signal?.addEventListener('abort', () => {
    finished = true;
    poke();
  });
  let watcher: FSWatcher | undefined;
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  try {
    watcher = watch(dir, { persistent: false }, poke);
  } catch {}
  try {
    for (;;) {
      // Read whatever was appended; a new inode (rotation) starts over at 0.
      let st = { size: -1, ino: 0 };
      try {
        st = statSync(path);
      } catch {}
      if (st.ino !== ino && st.ino !== 0) {
        ino = st.ino;
        offset = 0;
      }
      if (st.size > offset) {
        const it = readRange(path, offset, st.size);
        let r = it.next();
        for (; !r.done; r = it.next()) {
          const batch = timed ? r.value.filter(keep) : r.value;
          if (batch.length) yield batch;
        }
        const moved = r.value !== offset;
        offset = r.value;
        if (moved) continue;
      }
      if (finished || opts.signal?.aborted) {
        // One last look: the writer may have flushed between our read and its exit.
        let last = { size: -1, ino: 0 };
        try {
          last = statSync(path);
        } catch {}
        if ((last.size > offset && last.size !== st.size) || (last.ino !== ino && last.ino !== 0)) continue;
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(poke, 250).unref();
      });
    }
  } finally {
    watcher?.close();
  }
}

/** Entry by entry, with the text decoded (attach, tests). */
export async function* readLogs(path: string, opts: ReadOptions = {}): AsyncGenerator<LogEntry> {
  for await (const batch of readLogBatches(path, opts)) {
    for (const e of batch) yield { stream: e.stream, log: Buffer.from(e.bytes, 'latin1').toString('utf8'), time: e.time };
  }
}
