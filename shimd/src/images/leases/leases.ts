// Leases, as containerd's: a lease names content and snapshots that garbage collection
// must keep although no image refers to them yet, e.g. the blobs a pull has fetched and
// the layers it has unpacked before it creates the image. A lease ends when its holder
// releases it or when it expires (a holder that crashed). Leases are files under
// <root>/leases so that one left by a crashed shimd still protects until it expires.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument, notFound } from '../errors.js';

export interface LeaseRecord {
  id: string;
  createdAt: string;
  /** RFC 3339; absent: never expires. */
  expiresAt?: string;
  labels: Record<string, string>;
  /** The lifetime each addition renews; absent in older records (then expiresAt - createdAt). */
  ttlMs?: number;
  /** Digests of blobs held. */
  content: string[];
  /** Snapshot keys held (for image layers, chain IDs). */
  snapshots: string[];
}

/** Default lifetime of a lease: long enough for any pull, short enough to clean up after a crash. */
export const DEFAULT_LEASE_MS = 60 * 60 * 1000;

export class Lease {
  private readonly content = new Set<string>();
  private readonly snapshots = new Set<string>();
  private released = false;

  constructor(
    private readonly manager: LeaseManager,
    private readonly rec: LeaseRecord,
  ) {
    for (const d of rec.content) this.content.add(d);
    for (const k of rec.snapshots) this.snapshots.add(k);
  }

  get id(): string {
    return this.rec.id;
  }

  /** Holds a blob; call it before checking for or writing the blob. */
  addContent(digest: string): void {
    if (this.released || this.content.has(digest)) return;
    this.content.add(digest);
    this.save();
  }

  /** Holds a snapshot (by key); call it before checking for or preparing it. */
  addSnapshot(key: string): void {
    if (this.released || this.snapshots.has(key)) return;
    this.snapshots.add(key);
    this.save();
  }

  /** Each addition also renews the expiry: a lease lives while its holder makes progress. */
  private save(): void {
    const ttl = this.rec.ttlMs ?? (this.rec.expiresAt ? Date.parse(this.rec.expiresAt) - Date.parse(this.rec.createdAt) : 0);
    const expiresAt = ttl > 0 ? new Date(Date.now() + ttl).toISOString() : undefined;
    this.manager.write({ ...this.rec, expiresAt, content: [...this.content], snapshots: [...this.snapshots] });
  }

  /** Ends the lease: what it held is collectable again unless something else refers to it. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.manager.delete(this.rec.id);
  }
}

export class LeaseManager {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private path(id: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) throw invalidArgument(`lease id ${JSON.stringify(id)}: use letters, digits, '.', '_' and '-'`);
    return join(this.dir, `${id}.json`);
  }

  create(opts: { id?: string; expiresInMs?: number; labels?: Record<string, string> } = {}): Lease {
    const id = opts.id ?? `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const ms = opts.expiresInMs ?? DEFAULT_LEASE_MS;
    const rec: LeaseRecord = {
      id,
      createdAt: new Date().toISOString(),
      expiresAt: ms > 0 ? new Date(Date.now() + ms).toISOString() : undefined,
      labels: opts.labels ?? {},
      ttlMs: ms > 0 ? ms : undefined,
      content: [],
      snapshots: [],
    };
    this.write(rec);
    return new Lease(this, rec);
  }

  /**
   * The lease `id`, created if it does not exist (or has expired): how a gRPC client
   * names the lease its content writes go under (metadata `berth-lease`), as with
   * containerd's `containerd-lease`. It lives until released or until it expires.
   */
  hold(id: string, expiresInMs = DEFAULT_LEASE_MS): Lease {
    let rec: LeaseRecord | undefined;
    try {
      rec = JSON.parse(readFileSync(this.path(id), 'utf8')) as LeaseRecord;
    } catch {
      rec = undefined;
    }
    if (!rec || (rec.expiresAt && Date.parse(rec.expiresAt) <= Date.now())) return this.create({ id, expiresInMs });
    return new Lease(this, rec);
  }

  /**
   * Atomic (rename) but not fsynced: a lease lost to a machine crash only protects a
   * pull that was interrupted anyway, whose partial ingests GC does not touch.
   */
  write(rec: LeaseRecord): void {
    const p = this.path(rec.id);
    const tmp = `${p}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(rec));
    renameSync(tmp, p);
  }

  delete(id: string): void {
    const p = this.path(id);
    try {
      rmSync(p);
    } catch {
      throw notFound(`lease ${id}: not found`);
    }
  }

  list(): LeaseRecord[] {
    const out: LeaseRecord[] = [];
    for (const n of readdirSync(this.dir)) {
      if (!n.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(readFileSync(join(this.dir, n), 'utf8')) as LeaseRecord);
      } catch {
        // a lease file being replaced: its new version is read by the next GC
      }
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** GC roots held by live leases; expired leases are removed on the way. */
  roots(now = Date.now()): { content: Set<string>; snapshots: Set<string>; expired: string[] } {
    const content = new Set<string>();
    const snapshots = new Set<string>();
    const expired: string[] = [];
    for (const l of this.list()) {
      if (l.expiresAt && Date.parse(l.expiresAt) <= now) {
        rmSync(join(this.dir, `${l.id}.json`), { force: true });
        expired.push(l.id);
        continue;
      }
      for (const d of l.content) content.add(d);
      for (const s of l.snapshots) snapshots.add(s);
    }
    return { content, snapshots, expired };
  }
}
