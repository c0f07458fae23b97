// Namespaces and container records (the local implementations behind the
// Namespaces and Containers services).
import { join } from 'node:path';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, nowRfc3339 } from '../errors.js';
import type { Exchange } from './events.js';
import { RecordStore } from './store.js';

export const DEFAULT_NAMESPACE = 'default';
const NAMESPACE_RE = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
export const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface NamespaceRecord {
  name: string;
  labels: Record<string, string>;
}

export interface Mount {
  type: string;
  source: string;
  target: string;
  options: string[];
}

export interface ContainerRecord {
  id: string;
  labels: Record<string, string>;
  image: string;
  runtime: { name: string; binary: string; options: string };
  spec: string;
  snapshotter: string;
  snapshot_key: string;
  rootfs_mounts: Mount[];
  created_at: string;
  updated_at: string;
  extensions: Record<string, string>;
}

export function checkId(id: string, what = 'container id'): void {
  if (!ID_RE.test(id ?? '')) throw invalidArgument(`invalid ${what} ${JSON.stringify(id)}: must match ${ID_RE.source}`);
}

function checkLabels(labels: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (!k || k.length > 4096) throw invalidArgument(`invalid label key ${JSON.stringify(k.slice(0, 64))}`);
    if (String(v).length > 4096) throw invalidArgument(`label ${k}: value longer than 4096 bytes`);
    out[k] = String(v);
  }
  return out;
}

/** Checks that `text` is an OCI runtime spec a runtime can start; returns it parsed. */
export function parseSpec(text: string): any {
  let spec: any;
  try {
    spec = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`spec is not valid JSON: ${(err as Error).message}`);
  }
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw invalidArgument('spec must be a JSON object');
  if (typeof spec.ociVersion !== 'string') throw invalidArgument('spec.ociVersion must be a string');
  const p = spec.process;
  if (!p || typeof p !== 'object') throw invalidArgument('spec.process must be an object');
  if (!Array.isArray(p.args) || p.args.length === 0 || p.args.some((a: unknown) => typeof a !== 'string')) {
    throw invalidArgument('spec.process.args must be a non-empty array of strings');
  }
  if (typeof p.cwd !== 'string' || !p.cwd.startsWith('/')) throw invalidArgument('spec.process.cwd must be an absolute path');
  if (spec.root !== undefined && (typeof spec.root !== 'object' || typeof spec.root.path !== 'string')) {
    throw invalidArgument('spec.root.path must be a string');
  }
  if (spec.mounts !== undefined && !Array.isArray(spec.mounts)) throw invalidArgument('spec.mounts must be an array');
  return spec;
}

function checkMounts(mounts: Mount[] | undefined): Mount[] {
  return (mounts ?? []).map((m, i) => {
    if (!m.type) throw invalidArgument(`rootfs mount ${i}: type is required`);
    if (!m.source) throw invalidArgument(`rootfs mount ${i}: source is required`);
    if (m.target && (m.target.startsWith('/') || m.target.split('/').includes('..'))) {
      throw invalidArgument(`rootfs mount ${i}: target ${m.target} must be relative to the rootfs`);
    }
    return { type: m.type, source: m.source, target: m.target ?? '', options: [...(m.options ?? [])] };
  });
}

export class Metadata {
  private readonly namespaces: RecordStore<NamespaceRecord>;
  /** Whether a namespace still has images (set by shimd once the image services exist). */
  holdsImages: (ns: string) => boolean = () => false;
  private readonly containerStores = new Map<string, RecordStore<ContainerRecord>>();

  constructor(
    private readonly root: string,
    private readonly events: Exchange,
  ) {
    this.namespaces = new RecordStore(join(root, 'meta', 'namespaces'));
  }

  private containers(ns: string): RecordStore<ContainerRecord> {
    let s = this.containerStores.get(ns);
    if (!s) {
      s = new RecordStore(join(this.root, 'meta', 'containers', ns));
      this.containerStores.set(ns, s);
    }
    return s;
  }

  // ---------------------------------------------------------- namespaces

  /** The namespace a call acts in; "default" springs into being on first use. */
  resolveNamespace(name: string | undefined): string {
    const ns = name || DEFAULT_NAMESPACE;
    if (!NAMESPACE_RE.test(ns)) throw invalidArgument(`invalid namespace ${JSON.stringify(ns)}`);
    if (this.namespaces.get(ns)) return ns;
    if (ns === DEFAULT_NAMESPACE) {
      this.namespaces.put(ns, { name: ns, labels: {} });
      return ns;
    }
    throw notFound(`namespace ${ns} not found`);
  }

  /**
   * The namespace of a call that creates something in it (an image): like containerd,
   * whose metadata store makes a namespace's bucket on first write, it springs into being.
   */
  ensureNamespace(name: string | undefined): string {
    const ns = name || DEFAULT_NAMESPACE;
    if (!NAMESPACE_RE.test(ns)) throw invalidArgument(`invalid namespace ${JSON.stringify(ns)}`);
    if (!this.namespaces.get(ns)) {
      const rec = { name: ns, labels: {} };
      this.namespaces.put(ns, rec);
      if (ns !== DEFAULT_NAMESPACE) this.events.publish(ns, '/namespaces/create', rec);
    }
    return ns;
  }

  createNamespace(name: string, labels: Record<string, string>): NamespaceRecord {
    if (!NAMESPACE_RE.test(name ?? '')) throw invalidArgument(`invalid namespace name ${JSON.stringify(name)}: must match ${NAMESPACE_RE.source}`);
    if (this.namespaces.get(name)) throw alreadyExists(`namespace ${name} already exists`);
    const rec = { name, labels: checkLabels(labels) };
    this.namespaces.put(name, rec);
    this.events.publish(name, '/namespaces/create', rec);
    return rec;
  }

  getNamespace(name: string): NamespaceRecord {
    const rec = NAMESPACE_RE.test(name ?? '') ? this.namespaces.get(name) : undefined;
    if (!rec) throw notFound(`namespace ${name} not found`);
    return rec;
  }

  listNamespaces(): NamespaceRecord[] {
    return this.namespaces.list();
  }

  updateNamespace(name: string, labels: Record<string, string>): NamespaceRecord {
    const rec = { ...this.getNamespace(name), labels: checkLabels(labels) };
    this.namespaces.put(name, rec);
    this.events.publish(name, '/namespaces/update', rec);
    return rec;
  }

  deleteNamespace(name: string, hasTasks: (ns: string) => boolean): void {
    this.getNamespace(name);
    const held = [
      this.containers(name).keys().length > 0 || hasTasks(name) ? 'containers' : '',
      this.holdsImages(name) ? 'images' : '',
    ].filter(Boolean);
    if (held.length) throw failedPrecondition(`namespace ${name} must be empty, but it still has ${held.join(' and ')}`);
    this.namespaces.delete(name);
    this.events.publish(name, '/namespaces/delete', { name });
  }

  // ---------------------------------------------------------- containers

  createContainer(ns: string, c: Partial<ContainerRecord>): ContainerRecord {
    checkId(c.id ?? '');
    const store = this.containers(ns);
    if (store.get(c.id!)) throw alreadyExists(`container ${c.id} already exists in namespace ${ns}`);
    parseSpec(c.spec ?? '');
    const now = nowRfc3339();
    const rec: ContainerRecord = {
      id: c.id!,
      labels: checkLabels(c.labels),
      image: c.image ?? '',
      runtime: { name: c.runtime?.name ?? '', binary: c.runtime?.binary ?? '', options: c.runtime?.options ?? '' },
      spec: c.spec!,
      snapshotter: c.snapshotter ?? '',
      snapshot_key: c.snapshot_key ?? '',
      rootfs_mounts: checkMounts(c.rootfs_mounts),
      created_at: now,
      updated_at: now,
      extensions: { ...(c.extensions ?? {}) },
    };
    store.put(rec.id, rec);
    this.events.publish(ns, '/containers/create', { id: rec.id, image: rec.image, runtime: { name: rec.runtime.name }, labels: rec.labels });
    return rec;
  }

  getContainer(ns: string, id: string): ContainerRecord {
    const rec = ID_RE.test(id ?? '') ? this.containers(ns).get(id) : undefined;
    if (!rec) throw notFound(`container ${id} not found in namespace ${ns}`);
    return rec;
  }

  listContainers(ns: string, labels: Record<string, string> = {}): ContainerRecord[] {
    const want = Object.entries(labels);
    return this.containers(ns)
      .list()
      .filter((c) => want.every(([k, v]) => k in c.labels && (v === '' || c.labels[k] === v)));
  }

  updateContainer(ns: string, c: Partial<ContainerRecord>, mask: string[]): ContainerRecord {
    const rec = { ...this.getContainer(ns, c.id ?? '') };
    const fields = mask.length ? mask : ['labels', 'image', 'spec'];
    for (const f of fields) {
      if (f === 'labels') rec.labels = checkLabels(c.labels);
      else if (f.startsWith('labels.')) {
        const k = f.slice(7);
        const v = c.labels?.[k];
        rec.labels = { ...rec.labels };
        if (v === undefined || v === '') delete rec.labels[k];
        else rec.labels[k] = v;
      } else if (f === 'image') rec.image = c.image ?? '';
      else if (f === 'spec') {
        parseSpec(c.spec ?? '');
        rec.spec = c.spec!;
      } else if (f === 'runtime') rec.runtime = { name: c.runtime?.name ?? '', binary: c.runtime?.binary ?? '', options: c.runtime?.options ?? '' };
      else if (f === 'rootfs') {
        rec.rootfs_mounts = checkMounts(c.rootfs_mounts);
        rec.snapshotter = c.snapshotter ?? '';
        rec.snapshot_key = c.snapshot_key ?? '';
      } else if (f === 'extensions') rec.extensions = { ...(c.extensions ?? {}) };
      else throw invalidArgument(`cannot update field ${JSON.stringify(f)}`);
    }
    rec.updated_at = nowRfc3339();
    this.containers(ns).put(rec.id, rec);
    this.events.publish(ns, '/containers/update', { id: rec.id, image: rec.image, labels: rec.labels });
    return rec;
  }

  deleteContainer(ns: string, id: string, hasTask: boolean): void {
    this.getContainer(ns, id);
    if (hasTask) throw failedPrecondition(`container ${id} has a task: delete the task first`);
    this.containers(ns).delete(id);
    this.events.publish(ns, '/containers/delete', { id });
  }
}
