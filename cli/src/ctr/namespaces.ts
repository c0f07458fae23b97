import { keyValues, parseFlags, table, UsageError } from './args.js';
import type { ShimdClient } from './client.js';

export async function namespaces(c: ShimdClient, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const p = parseFlags(rest, { bools: ['quiet'], aliases: { q: 'quiet' } });
  switch (verb) {
    case 'ls':
    case 'list': {
      const { namespaces } = await c.namespaces('List', {});
      if (p.flags.quiet) process.stdout.write(namespaces.map((n: any) => `${n.name}\n`).join(''));
      else {
        const rows = namespaces.map((n: any) => [n.name, Object.entries(n.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')]);
        process.stdout.write(table(['NAME', 'LABELS'], rows));
      }
      return 0;
    }
    case 'create': {
      const [name, ...labels] = p.args;
      if (!name) throw new UsageError('usage: berth ctr namespaces create NAME [KEY=VALUE...]');
      await c.namespaces('Create', { namespace: { name, labels: keyValues(labels) } });
      return 0;
    }
    case 'label': {
      const [name, ...labels] = p.args;
      if (!name) throw new UsageError('usage: berth ctr namespaces label NAME [KEY=VALUE...]');
      await c.namespaces('Update', { namespace: { name, labels: keyValues(labels) } });
      return 0;
    }
    case 'rm':
    case 'remove':
    case 'delete': {
      if (!p.args.length) throw new UsageError('usage: berth ctr namespaces rm NAME...');
      for (const name of p.args) {
        await c.namespaces('Delete', { name });
        process.stdout.write(`${name}\n`);
      }
      return 0;
    }
    default:
      throw new UsageError('usage: berth ctr namespaces ls|create|label|rm');
  }
}
