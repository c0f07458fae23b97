// Crash-safe records: one JSON file per record, written to a temp file, fsynced,
// renamed over the old one, and the directory fsynced, so a crash leaves either the
// old record or the new one, never half of either.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(value));
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDir(dir);
}

export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function removeRecord(path: string): void {
  rmSync(path, { force: true });
  try {
    fsyncDir(dirname(path));
  } catch {}
}

/** A directory of records keyed by name; temp files of an interrupted write are ignored (and swept). */
export class RecordStore<T> {
  constructor(readonly dir: string) {}

  private path(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  get(key: string): T | undefined {
    return readJson<T>(this.path(key));
  }

  put(key: string, value: T): void {
    writeJsonAtomic(this.path(key), value);
  }

  delete(key: string): void {
    removeRecord(this.path(key));
  }

  keys(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const keys: string[] = [];
    for (const n of names) {
      if (n.endsWith('.tmp')) rmSync(join(this.dir, n), { force: true });
      else if (n.endsWith('.json')) keys.push(n.slice(0, -5));
    }
    return keys.sort();
  }

  list(): T[] {
    return this.keys()
      .map((k) => this.get(k))
      .filter((v): v is T => v !== undefined);
  }
}
