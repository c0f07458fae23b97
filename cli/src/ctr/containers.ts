import { keyValues, parseFlags, table, UsageError } from './args.js';
import type { ShimdClient } from './client.js';
import { buildSpec } from './spec.js';

export const createFlags = {
  values: ['runtime', 'rootfs', 'bundle', 'cwd', 'image'],
  multi: ['label', 'env'],
  bools: ['tty', 'read-only', 'rm', 'detach', 'quiet'],
  aliases: { t: 'tty', d: 'detach', q: 'quiet' },
};

/** Creates the container record for `containers create` and `run`; returns its id. */
export async function createContainer(c: ShimdClient, flags: Record<string, any>, multi: Record<string, string[]>, id: string, args: string[]): Promise<string> {
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
  const runtime = String(flags.runtime ?? '');
  await c.containers('Create', {
    container: {
      id,
      labels: keyValues(multi.label),
      image: flags.image ?? '',
      runtime: runtime.startsWith('/') ? { name: '', binary: runtime } : { name: runtime, binary: '' },
      spec: JSON.stringify(spec),
    },
  });
  return id;
}

export async function containers(c: ShimdClient, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'create': {
      const p = parseFlags(rest, createFlags, 1);
      await createContainer(c, p.flags, p.multi, p.args[0] ?? '', p.args.slice(1));
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
      const p = parseFlags(rest, {});
      if (!p.args.length) throw new UsageError('usage: berth ctr containers rm ID...');
      for (const id of p.args) await c.containers('Delete', { id });
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
