// Reads the json-file logs the shim writes (one {"log","stream","time"} object per
// line; rotated files path.1 … path.N older), for `docker logs` and attach: tail,
// since/until and follow. Following polls with fs.watch as a hint, because the
// writer is another process and a rotation replaces the file.
import { type FSWatcher, closeSync, existsSync, openSync, readSync, statSync, watch } from 'node:fs';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  log: string;
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

function parseLine(line: string): LogEntry | undefined {
  if (!line) return undefined;
  try {
    const o = JSON.parse(line);
    if (typeof o.log !== 'string') return undefined;
    return { stream: o.stream === 'stderr' ? 'stderr' : 'stdout', log: o.log, time: o.time ?? '' };
  } catch {
    return undefined;
  }
}

function timeOf(e: LogEntry): number {
  return Date.parse(e.time) / 1000;
}

function readWhole(path: string): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = statSync(path).size;
      const buf = Buffer.alloc(size);
      let off = 0;
      while (off < size) {
        const n = readSync(fd, buf, off, size - off, off);
        if (n === 0) break;
        off += n;
      }
      return buf.subarray(0, off).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** Existing entries, oldest first, across rotated files. */
function existing(path: string): { entries: LogEntry[]; offset: number; ino: number } {
  const files: string[] = [];
  for (let i = 9; i >= 1; i--) if (existsSync(`${path}.${i}`)) files.push(`${path}.${i}`);
  const entries: LogEntry[] = [];
  for (const f of files) for (const l of readWhole(f).split('\n')) {
    const e = parseLine(l);
    if (e) entries.push(e);
  }
  let offset = 0;
  let ino = 0;
  try {
    const st = statSync(path);
    ino = st.ino;
    const text = readWhole(path);
    const complete = text.lastIndexOf('\n') + 1;
    offset = Buffer.byteLength(text.slice(0, complete));
    for (const l of text.slice(0, complete).split('\n')) {
      const e = parseLine(l);
      if (e) entries.push(e);
    }
  } catch {}
  return { entries, offset, ino };
}

function currentEnd(path: string): { offset: number; ino: number } {
  try {
    const st = statSync(path);
    return { offset: st.size, ino: st.ino };
  } catch {
    return { offset: 0, ino: 0 };
  }
}

export async function* readLogs(path: string, opts: ReadOptions = {}): AsyncGenerator<LogEntry> {
  const keep = (e: LogEntry) =>
    (opts.since === undefined || timeOf(e) >= opts.since) && (opts.until === undefined || timeOf(e) <= opts.until);
  let offset: number;
  let ino: number;
  if (opts.fromEnd) {
    ({ offset, ino } = currentEnd(path));
  } else {
    const ex = existing(path);
    offset = ex.offset;
    ino = ex.ino;
    let entries = ex.entries.filter(keep);
    if (opts.tail !== undefined && opts.tail >= 0) entries = opts.tail === 0 ? [] : entries.slice(-opts.tail);
    for (const e of entries) yield e;
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
  let partial = '';
  try {
    for (;;) {
      // Read whatever was appended; a new inode (rotation) starts over at 0.
      const st = currentEnd(path);
      if (st.ino !== ino && st.ino !== 0) {
        ino = st.ino;
        offset = 0;
        partial = '';
      }
      if (st.offset > offset) {
        const fd = openSync(path, 'r');
        try {
          const buf = Buffer.alloc(st.offset - offset);
          const n = readSync(fd, buf, 0, buf.length, offset);
          offset += n;
          const text = partial + buf.subarray(0, n).toString('utf8');
          const lines = text.split('\n');
          partial = lines.pop() ?? '';
          for (const l of lines) {
            const e = parseLine(l);
            if (e && keep(e)) yield e;
          }
        } finally {
          closeSync(fd);
        }
        continue;
      }
      if (finished || opts.signal?.aborted) {
        // One last look: the writer may have flushed between our read and its exit.
        const last = currentEnd(path);
        if (last.offset > offset || (last.ino !== ino && last.ino !== 0)) continue;
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
