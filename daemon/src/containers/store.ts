// Persists container records (one config.v2.json per container, written atomically)
// and keeps the name and ID-prefix indexes.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, invalid, notFound } from '../errors.js';
import type { ContainerRecord } from './model.js';

const NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export class ContainerStore {
  private readonly byId = new Map<string, ContainerRecord>();
  private readonly byName = new Map<string, string>();

  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o710 });
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  load(): ContainerRecord[] {
    for (const id of readdirSync(this.root)) {
      try {
        const c = JSON.parse(readFileSync(join(this.root, id, 'config.v2.json'), 'utf8')) as ContainerRecord;
        this.byId.set(c.ID, c);
        this.byName.set(c.Name, c.ID);
      } catch {
        // A directory without a complete record is a create that never finished.
        rmSync(join(this.root, id), { recursive: true, force: true });
      }
    }
    return [...this.byId.values()];
  }

  all(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  /** Finds by full ID, name (with or without '/'), or unique ID prefix, as dockerd does. */
  find(ref: string): ContainerRecord | undefined {
    if (!ref) return undefined;
    const direct = this.byId.get(ref);
    if (direct) return direct;
    const byName = this.byName.get(ref.startsWith('/') ? ref : `/${ref}`);
    if (byName) return this.byId.get(byName);
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    const matches = [...this.byId.keys()].filter((id) => id.startsWith(ref));
    if (matches.length > 1) throw invalid(`multiple IDs found with provided prefix: ${ref}`);
    return matches.length ? this.byId.get(matches[0]!) : undefined;
  }

  get(ref: string): ContainerRecord {
    const c = this.find(ref);
    if (!c) throw notFound(`No such container: ${ref}`);
    return c;
  }

  /** Reserves a name for an ID; Docker's conflict message when taken. */
  reserveName(name: string, id: string): string {
    if (!NAME.test(name)) throw invalid(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const full = name.startsWith('/') ? name : `/${name}`;
    const holder = this.byName.get(full);
    if (holder && holder !== id) {
      throw conflict(
        `Conflict. The container name "${full}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    this.byName.set(full, id);
    return full;
  }

  releaseName(name: string): void {
    this.byName.delete(name);
  }

  hasName(name: string): boolean {
    return this.byName.has(name.startsWith('/') ? name : `/${name}`);
  }

  save(c: ContainerRecord): void {
    this.byId.set(c.ID, c);
    this.byName.set(c.Name, c.ID);
    const dir = this.dir(c.ID);
    mkdirSync(dir, { recursive: true, mode: 0o710 });
    const tmp = join(dir, '.config.v2.json.tmp');
    writeFileSync(tmp, JSON.stringify(c));
    renameSync(tmp, join(dir, 'config.v2.json'));
  }

  delete(c: ContainerRecord): void {
    this.byId.delete(c.ID);
    if (this.byName.get(c.Name) === c.ID) this.byName.delete(c.Name);
    rmSync(this.dir(c.ID), { recursive: true, force: true });
  }
}
