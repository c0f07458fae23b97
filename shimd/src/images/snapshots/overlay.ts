// The snapshotter: committed snapshots are read-only layers keyed by name (for image
// layers, the chain ID), shared by every image and container above them; active
// snapshots are writable; views are read-only. With overlayfs each snapshot's dir
// holds only its own changes and mounts stack the parents as lowerdirs; the copying
// fallback (no overlayfs, or not root) gives every snapshot a full tree copied from
// its parent and mounts it with a bind.
//
// Overlay's mount options must fit in one page (mount(2) copies at most PAGE_SIZE bytes
// of data), so an image with many layers under a long root overflows them (~85 layers
// of <root>/snapshots/<id>/fs). Such mounts name their lower dirs by short symlinks
// instead, /run/berth/l/<root hash>/<id in base 36>, as Docker's overlay2 driver links
// its layers under short names; the kernel follows them when it resolves lowerdir.
// The links live on tmpfs and are made again whenever mounts are asked for.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import { linuxSys, MNT_DETACH, MS_BIND, MS_RDONLY, MS_REMOUNT, type Sys } from '../sys.js';

export type SnapshotKind = 'committed' | 'active' | 'view';

export interface SnapshotInfo {
  name: string;
  parent?: string;
  kind: SnapshotKind;
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export interface Mount {
  type: string;
  source: string;
  options: string[];
}

export interface Usage {
  size: number;
  inodes: number;
}

interface Record_ extends SnapshotInfo {
  id: number;
}

interface Meta {
  nextId: number;
  snapshots: Record<string, Record_>;
}

export type SnapshotMode = 'overlay' | 'copy';

/** Longest overlay option string used as is: a page less room for options a mounter adds. */
export const MAX_OVERLAY_OPTIONS = 3900;

/** Where the short lower-dir links of the snapshotter rooted at root live. */
export function shortLinkDir(root: string, base = '/run/berth/l'): string {
  return join(base, createHash('sha256').update(root).digest('hex').slice(0, 8));
}

export class Snapshotter {
  readonly root: string;
  readonly mode: SnapshotMode;
  /** Dir of short symlinks to snapshot dirs, for mounts with many lower dirs. */
  readonly linkDir: string;

  constructor(root: string, mode: SnapshotMode, opts: { linkBase?: string } = {}) {
    this.root = root;
    this.mode = mode;
    this.linkDir = shortLinkDir(root, opts.linkBase);
    mkdirSync(join(root, 'snapshots'), { recursive: true });
  }

  /** A short path (symlink) to snapshot id's fs dir, made if missing. */
  private shortDir(id: number): string {
    const link = join(this.linkDir, id.toString(36));
    const target = this.fsDir(id);
    try {
      if (readlinkSync(link) === target) return link;
      rmSync(link, { force: true });
    } catch {
      // no link yet
    }
    mkdirSync(this.linkDir, { recursive: true, mode: 0o700 });
    symlinkSync(target, link);
    return link;
  }

  /** Lower dirs for an overlay mount: full paths when they fit, short links when not. */
  private lowerdirOption(m: Meta, parent: string | undefined, other: string[]): string {
    const full = `lowerdir=${this.lowers(m, parent).join(':')}`;
    if ([...other, full].join(',').length <= MAX_OVERLAY_OPTIONS) return full;
    const ids: number[] = [];
    for (let p = parent; p; p = m.snapshots[p]?.parent) ids.push(this.rec(m, p).id);
    const short = `lowerdir=${ids.map((id) => this.shortDir(id)).join(':')}`;
    if ([...other, short].join(',').length > MAX_OVERLAY_OPTIONS) {
      throw failedPrecondition(`snapshot chain of ${ids.length} layers is too deep for one overlay mount (its options exceed ${MAX_OVERLAY_OPTIONS} bytes even with short paths)`);
    }
    return short;
  }

  private load(): Meta {
    const f = join(this.root, 'metadata.json');
    if (!existsSync(f)) return { nextId: 1, snapshots: {} };
    return JSON.parse(readFileSync(f, 'utf8'));
  }

  private save(m: Meta): void {
    writeFileAtomic(join(this.root, 'metadata.json'), JSON.stringify(m));
  }

  private rec(m: Meta, key: string): Record_ {
    const r = m.snapshots[key];
    if (!r) throw notFound(`snapshot ${JSON.stringify(key)}: not found`);
    return r;
  }

  private fsDir(id: number): string {
    return join(this.root, 'snapshots', String(id), 'fs');
  }

  private workDir(id: number): string {
    return join(this.root, 'snapshots', String(id), 'work');
  }

  exists(key: string): boolean {
    return key in this.load().snapshots;
  }

  /** The directory holding this snapshot's files (for unpacking into an active one). */
  dir(key: string): string {
    return this.fsDir(this.rec(this.load(), key).id);
  }

  /** The directory of a committed snapshot (read-only use). */
  committedDir(key: string): string {
    return this.dir(key);
  }

  private create(kind: 'active' | 'view', key: string, parent: string | undefined, labels: Record<string, string>): Mount[] {
    this.createRecord(kind, key, parent, labels);
    try {
      return this.mounts(key);
    } catch (e) {
      // No mount can be given (a chain too deep): the snapshot is not made.
      this.remove(key);
      throw e;
    }
  }

  /** An active snapshot to unpack a layer into: its dir, no mount (deep chains are fine). */
  prepareDir(key: string, parent?: string, labels: Record<string, string> = {}): string {
    this.createRecord('active', key, parent || undefined, labels);
    return this.dir(key);
  }

  private createRecord(kind: 'active' | 'view', key: string, parent: string | undefined, labels: Record<string, string>): void {
    if (!key) throw invalidArgument('snapshot key must not be empty');
    const m = this.load();
    if (m.snapshots[key]) throw alreadyExists(`snapshot ${JSON.stringify(key)}: already exists`);
    if (parent) {
      const p = this.rec(m, parent);
      if (p.kind !== 'committed') throw failedPrecondition(`snapshot parent ${JSON.stringify(parent)} is not committed`);
    }
    const id = m.nextId++;
    const base = join(this.root, 'snapshots', String(id));
    rmSync(base, { recursive: true, force: true });
    mkdirSync(this.fsDir(id), { recursive: true, mode: 0o755 });
    try {
      if (this.mode === 'overlay' && kind === 'active') mkdirSync(this.workDir(id), { mode: 0o700 });
      if (this.mode === 'copy' && parent && kind === 'active') {
        execFileSync('cp', ['-a', '--reflink=auto', `${this.fsDir(this.rec(m, parent).id)}/.`, this.fsDir(id)]);
      }
      const now = new Date().toISOString();
      m.snapshots[key] = { id, name: key, parent, kind, labels, createdAt: now, updatedAt: now };
      this.save(m);
    } catch (e) {
      rmSync(base, { recursive: true, force: true });
      throw e;
    }
  }

  prepare(key: string, parent?: string, labels: Record<string, string> = {}): Mount[] {
    return this.create('active', key, parent || undefined, labels);
  }

  view(key: string, parent?: string, labels: Record<string, string> = {}): Mount[] {
    return this.create('view', key, parent || undefined, labels);
  }

  /** Parent fs dirs, nearest first. */
  private lowers(m: Meta, parent: string | undefined): string[] {
    const out: string[] = [];
    for (let p = parent; p; p = m.snapshots[p]?.parent) out.push(this.fsDir(this.rec(m, p).id));
    return out;
  }

  mounts(key: string): Mount[] {
    const m = this.load();
    const r = this.rec(m, key);
    const bind = (source: string, ro: boolean): Mount[] => [{ type: 'bind', source, options: [ro ? 'ro' : 'rw', 'rbind'] }];
    if (r.kind === 'committed') throw failedPrecondition(`snapshot ${JSON.stringify(key)} is committed: make a view or prepare on it`);
    if (this.mode === 'copy') {
      if (r.kind === 'view' && r.parent) return bind(this.fsDir(this.rec(m, r.parent).id), true);
      return bind(this.fsDir(r.id), r.kind === 'view');
    }
    const lowers = this.lowers(m, r.parent);
    if (r.kind === 'active') {
      if (lowers.length === 0) return bind(this.fsDir(r.id), false);
      const rw = [`workdir=${this.workDir(r.id)}`, `upperdir=${this.fsDir(r.id)}`];
      return [{ type: 'overlay', source: 'overlay', options: [...rw, this.lowerdirOption(m, r.parent, rw)] }];
    }
    if (lowers.length === 0) return bind(this.fsDir(r.id), true);
    if (lowers.length === 1) return bind(lowers[0], true);
    return [{ type: 'overlay', source: 'overlay', options: [this.lowerdirOption(m, r.parent, [])] }];
  }

  commit(name: string, key: string, labels?: Record<string, string>): SnapshotInfo {
    const m = this.load();
    const r = this.rec(m, key);
    if (r.kind !== 'active') throw failedPrecondition(`snapshot ${JSON.stringify(key)} is not active`);
    if (m.snapshots[name]) throw alreadyExists(`snapshot ${JSON.stringify(name)}: already exists`);
    rmSync(this.workDir(r.id), { recursive: true, force: true });
    delete m.snapshots[key];
    const next: Record_ = { ...r, name, kind: 'committed', labels: { ...r.labels, ...(labels ?? {}) }, updatedAt: new Date().toISOString() };
    m.snapshots[name] = next;
    this.save(m);
    return this.info(next);
  }

  remove(key: string): void {
    const m = this.load();
    const r = this.rec(m, key);
    const child = Object.values(m.snapshots).find((s) => s.parent === key);
    if (child) throw failedPrecondition(`snapshot ${JSON.stringify(key)} has a child ${JSON.stringify(child.name)}`);
    delete m.snapshots[key];
    this.save(m);
    rmSync(join(this.root, 'snapshots', String(r.id)), { recursive: true, force: true });
    rmSync(join(this.linkDir, r.id.toString(36)), { force: true });
  }

  /** Removes the short-link dir (when the snapshotter's root goes away). */
  removeLinks(): void {
    rmSync(this.linkDir, { recursive: true, force: true });
  }

  private info(r: Record_): SnapshotInfo {
    return { name: r.name, parent: r.parent, kind: r.kind, labels: r.labels, createdAt: r.createdAt, updatedAt: r.updatedAt };
  }

  stat(key: string): SnapshotInfo {
    return this.info(this.rec(this.load(), key));
  }

  list(): SnapshotInfo[] {
    return Object.values(this.load().snapshots)
      .map((r) => this.info(r))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Disk usage of the snapshot's own dir (its changes, for overlay). */
  usage(key: string): Usage {
    const r = this.rec(this.load(), key);
    const u: Usage = { size: 0, inodes: 0 };
    const seen = new Set<string>();
    const walk = (p: string) => {
      const st = lstatSync(p, { bigint: false });
      const ino = `${st.dev}:${st.ino}`;
      if (seen.has(ino)) return;
      seen.add(ino);
      u.inodes++;
      u.size += st.blocks * 512;
      if (st.isDirectory()) for (const c of readdirSync(p)) walk(join(p, c));
    };
    walk(this.fsDir(r.id));
    return u;
  }

  /** Removes dirs with no record (left by a crash between mkdir and save). */
  cleanupOrphans(): number {
    const ids = new Set(Object.values(this.load().snapshots).map((r) => String(r.id)));
    let n = 0;
    for (const d of readdirSync(join(this.root, 'snapshots'))) {
      if (!ids.has(d)) {
        rmSync(join(this.root, 'snapshots', d), { recursive: true, force: true });
        n++;
      }
    }
    return n;
  }
}

/** Mounts a snapshot's mount specs at target (root only). */
export function mountAll(mounts: Mount[], target: string, sys: Sys = linuxSys): void {
  for (const mt of mounts) {
    if (mt.type === 'bind') {
      sys.mount(mt.source, target, '', MS_BIND | (mt.options.includes('rbind') ? 0x4000 : 0), '');
      if (mt.options.includes('ro')) sys.mount('', target, '', MS_BIND | MS_REMOUNT | MS_RDONLY, '');
    } else {
      sys.mount(mt.source, target, mt.type, mt.options.includes('ro') ? MS_RDONLY : 0, mt.options.filter((o) => o !== 'ro' && o !== 'rw').join(','));
    }
  }
}

export function unmount(target: string, sys: Sys = linuxSys): void {
  sys.umount(target, MNT_DETACH);
}

/** Whether overlayfs with whiteouts and opaque dirs works under dir (tries a real mount). */
export function overlaySupported(dir: string, sys: Sys = linuxSys): boolean {
  if (process.getuid?.() !== 0) return false;
  mkdirSync(dir, { recursive: true });
  const t = mkdtempSync(join(dir, '.overlay-check-'));
  try {
    for (const d of ['l1', 'l2', 'u', 'w', 'm']) mkdirSync(join(t, d));
    sys.mount('overlay', join(t, 'm'), 'overlay', 0, `lowerdir=${join(t, 'l2')}:${join(t, 'l1')},upperdir=${join(t, 'u')},workdir=${join(t, 'w')}`);
    sys.umount(join(t, 'm'), MNT_DETACH);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
}
