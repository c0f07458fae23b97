import * as grpc from '@grpc/grpc-js';
import { keyValues, parseFlags, table, UsageError } from './args.js';
import type { ShimdClient } from './client.js';
import { buildSpec } from './spec.js';

export const createFlags = {
  values: ['runtime', 'rootfs', 'bundle', 'cwd', 'image', 'user', 'platform'],
  multi: ['label', 'env'],
  bools: ['tty', 'read-only', 'rm', 'detach', 'quiet'],
  aliases: { t: 'tty', d: 'detach', q: 'quiet', u: 'user' },
};

export const CREATE_USAGE = '[--runtime R] [-t] [--env K=V]... [--cwd DIR] [--user U] (IMAGE ID | --rootfs PATH ID | --bundle DIR ID) [ARGS...]';

export interface Created {
  id: string;
  /** The snapshot made for the container's rootfs (image containers), removed with it. */
  snapshotKey: string;
}

/**
 * The snapshot key of an image container. Snapshots are shared by all namespaces in
 * berth-shimd, so the key carries the namespace ('/' is in neither a namespace nor an id).
 */
export function snapshotKeyFor(namespace: string, id: string): string {
  return `${namespace}/${id}`;
}

/**
 * Creates the container record for `containers create` and `run`. Positionals are
 * `ID [ARGS...]` with --rootfs or --bundle, else `IMAGE ID [ARGS...]` as with ctr:
 * the image's layers become a writable snapshot and its config the spec.
 */
export async function createContainer(c: ShimdClient, flags: Record<string, any>, multi: Record<string, string[]>, positional: string[]): Promise<Created> {
  const runtime = String(flags.runtime ?? '');
  const record = {
    labels: keyValues(multi.label),
    runtime: runtime.startsWith('/') ? { name: '', binary: runtime } : { name: runtime, binary: '' },
  };
  if (flags.rootfs || flags.bundle) {
    const [id = '', ...args] = positional;
    if (!id) throw new UsageError('container id is required');
    const spec = buildSpec(id, {
      rootfs: flags.rootfs,
      bundle: flags.bundle,
      args,
      terminal: !!flags.tty,
      env: multi.env ?? [],
      cwd: flags.cwd,
      readOnly: !!flags['read-only'],
    });
    if (flags.user) spec.process.user = parseUser(String(flags.user));
    await c.containers('Create', { container: { id, ...record, image: flags.image ?? '', spec: JSON.stringify(spec) } });
    return { id, snapshotKey: '' };
  }
  const [ref = '', id = '', ...args] = positional;
  if (!ref || !id) throw new UsageError(`usage: berth ctr containers create ${CREATE_USAGE}`);
  // Fail on a taken id before a snapshot is made for it.
  const exists = await c.containers('Get', { id }).then(
    () => true,
    (err) => (err?.code === grpc.status.NOT_FOUND ? false : Promise.reject(err)),
  );
  if (exists) throw new UsageError(`container ${id} already exists in namespace ${c.namespace}`);
  const { image } = await c.images('Get', { name: ref });
  const overrides = {
    // ctr's args replace the image's whole command line (Entrypoint and Cmd).
    ...(args.length ? { entrypoint: args } : {}),
    terminal: !!flags.tty,
    ...(multi.env?.length ? { env: multi.env } : {}),
    ...(flags.cwd ? { cwd: flags.cwd } : {}),
    ...(flags.user ? { user: String(flags.user) } : {}),
    readonlyRootfs: !!flags['read-only'],
    hostname: id.slice(0, 63),
  };
  const platform = (flags.platform as string) ?? '';
  const { spec_json } = await c.images('GenerateSpec', { image: image.name, container_id: id, overrides_json: JSON.stringify(overrides), platform });
  const snapshotKey = snapshotKeyFor(c.namespace, id);
  const { snapshotter } = await c.images('PrepareRootfs', { image: image.name, key: snapshotKey, platform, labels: { 'berth.io/container': id } });
  try {
    await c.containers('Create', { container: { id, ...record, image: image.name, spec: spec_json, snapshotter, snapshot_key: snapshotKey } });
  } catch (err) {
    await c.snapshots('Remove', { key: snapshotKey }).catch(() => {});
    throw err;
  }
  return { id, snapshotKey };
}

function parseUser(u: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(u);
  if (!m) throw new UsageError(`--user ${u}: give UID[:GID] with --rootfs or --bundle (names need an image's /etc/passwd)`);
  return { uid: Number(m[1]), gid: Number(m[2] ?? 0) };
}

/** Deletes a container record and, unless kept, the snapshot its rootfs was made in. */
export async function deleteContainer(c: ShimdClient, id: string, keepSnapshot = false): Promise<void> {
  const { container } = await c.containers('Get', { id });
  await c.containers('Delete', { id });
  if (container.snapshot_key && !keepSnapshot) {
    await c.snapshots('Remove', { key: container.snapshot_key }).catch((err) => {
      if (err?.code !== grpc.status.NOT_FOUND) throw err;
    });
  }
}

export async function containers(c: ShimdClient, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'create': {
      const p = parseFlags(rest, createFlags, 1);
      await createContainer(c, p.flags, p.multi, p.args);
      return 0;
    }
    case 'ls':
    case 'list': {
      const p = parseFlags(rest, { bools: ['quiet'], aliases: { q: 'quiet' } });
      const { containers } = await c.containers('List', { labels: keyValues(p.args.map((a) => a.replace(/^labels\./, ''))) });
      if (p.flags.quiet) process.stdout.write(containers.map((x: any) => `${x.id}\n`).join(''));
      else {
        const rows = containers.map((x: any) => [x.id, x.image || '-', x.runtime?.binary || x.runtime?.name || 'default']);
        process.stdout.write(table(['CONTAINER', 'IMAGE', 'RUNTIME'], rows));
      }
      return 0;
    }
    case 'info': {
      const p = parseFlags(rest, { bools: ['spec'] });
      if (!p.args[0]) throw new UsageError('usage: berth ctr containers info ID');
      const { container } = await c.containers('Get', { id: p.args[0] });
      const spec = JSON.parse(container.spec || 'null');
      process.stdout.write(`${JSON.stringify(p.flags.spec ? spec : { ...container, spec }, null, 4)}\n`);
      return 0;
    }
    case 'rm':
    case 'delete':
    case 'del':
    case 'remove': {
      const p = parseFlags(rest, { bools: ['keep-snapshot'] });
      if (!p.args.length) throw new UsageError('usage: berth ctr containers rm [--keep-snapshot] ID...');
      for (const id of p.args) await deleteContainer(c, id, !!p.flags['keep-snapshot']);
      return 0;
    }
    case 'label': {
      const [id, ...labels] = rest;
      if (!id) throw new UsageError('usage: berth ctr containers label ID [KEY=VALUE...]');
      const kv = keyValues(labels);
      await c.containers('Update', { container: { id, labels: kv }, update_mask: Object.keys(kv).map((k) => `labels.${k}`) });
      return 0;
    }
    default:
      throw new UsageError('usage: berth ctr containers create|ls|info|label|rm');
  }
}
