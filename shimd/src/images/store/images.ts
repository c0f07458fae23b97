// The image store: name → target descriptor, one JSON file per namespace, replaced
// atomically on every change so a crash leaves either the old or the new table.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Descriptor, parseDigest } from '../digest.js';
import { alreadyExists, invalidArgument, notFound } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';

export interface Image {
  name: string;
  target: Descriptor;
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

const NAMESPACE_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,75}[a-zA-Z0-9])?$/;

export function checkNamespace(ns: string): string {
  if (!NAMESPACE_RE.test(ns)) throw invalidArgument(`invalid namespace ${JSON.stringify(ns)}: letters, digits, '.', '_' and '-' only`);
  return ns;
}

function checkTarget(t: Descriptor | undefined, name: string): Descriptor {
  if (!t?.mediaType || !t.digest) throw invalidArgument(`image ${name}: target needs mediaType and digest`);
  parseDigest(t.digest);
  if (!Number.isInteger(t.size) || t.size < 0) throw invalidArgument(`image ${name}: target size must be a non-negative integer`);
  return t;
}

export class ImageStore {
  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true });
  }

  private file(ns: string): string {
    return join(this.root, `${checkNamespace(ns)}.json`);
  }

  private load(ns: string): Record<string, Image> {
    const f = this.file(ns);
    if (!existsSync(f)) return {};
    return JSON.parse(readFileSync(f, 'utf8')).images ?? {};
  }

  private save(ns: string, images: Record<string, Image>): void {
    writeFileAtomic(this.file(ns), JSON.stringify({ images }));
  }

  namespaces(): string[] {
    return readdirSync(this.root)
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -5));
  }

  get(ns: string, name: string): Image {
    const img = this.load(ns)[name];
    if (!img) throw notFound(`image ${JSON.stringify(name)}: not found`);
    return img;
  }

  find(ns: string, name: string): Image | undefined {
    return this.load(ns)[name];
  }

  list(ns: string, filter?: (i: Image) => boolean): Image[] {
    const all = Object.values(this.load(ns)).sort((a, b) => a.name.localeCompare(b.name));
    return filter ? all.filter(filter) : all;
  }

  create(ns: string, img: { name: string; target: Descriptor; labels?: Record<string, string> }): Image {
    if (!img.name) throw invalidArgument('image name must not be empty');
    const images = this.load(ns);
    if (images[img.name]) throw alreadyExists(`image ${JSON.stringify(img.name)}: already exists`);
    const now = new Date().toISOString();
    const rec: Image = { name: img.name, target: checkTarget(img.target, img.name), labels: img.labels ?? {}, createdAt: now, updatedAt: now };
    images[img.name] = rec;
    this.save(ns, images);
    return rec;
  }

  /** Updates target and/or labels (only the fields given). */
  update(ns: string, name: string, patch: { target?: Descriptor; labels?: Record<string, string> }): Image {
    const images = this.load(ns);
    const cur = images[name];
    if (!cur) throw notFound(`image ${JSON.stringify(name)}: not found`);
    const next: Image = {
      ...cur,
      target: patch.target ? checkTarget(patch.target, name) : cur.target,
      labels: patch.labels ?? cur.labels,
      updatedAt: new Date().toISOString(),
    };
    images[name] = next;
    this.save(ns, images);
    return next;
  }

  /** Creates or replaces (what pull and import do). */
  put(ns: string, img: { name: string; target: Descriptor; labels?: Record<string, string> }): Image {
    const cur = this.find(ns, img.name);
    if (!cur) return this.create(ns, img);
    return this.update(ns, img.name, { target: img.target, labels: { ...cur.labels, ...(img.labels ?? {}) } });
  }

  delete(ns: string, name: string): void {
    const images = this.load(ns);
    if (!images[name]) throw notFound(`image ${JSON.stringify(name)}: not found`);
    delete images[name];
    this.save(ns, images);
  }
}
