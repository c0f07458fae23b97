// `berth ctr content …`: blobs in berth-shimd's content store (Content service).
import { UsageError, table } from './args.js';
import { describeError } from './client.js';
import { type Globals, humanSize, type ImageClients, runImageCommand } from './images.js';

const USAGE = `usage: berth ctr content COMMAND
  ls [-q]              list blobs
  get DIGEST           write a blob to stdout
  rm DIGEST...         delete blobs
  active               list ingests in progress
  label DIGEST K=V...  set (K=V) or remove (K=) labels
`;

function age(iso: string): string {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.floor(s)} seconds`;
  if (s < 3600) return `${Math.floor(s / 60)} minutes`;
  if (s < 86400) return `${Math.floor(s / 3600)} hours`;
  return `${Math.floor(s / 86400)} days`;
}

export function main(argv: string[], g: Globals): Promise<number> {
  return runImageCommand('content', USAGE, argv, g, run);
}

async function run(c: ImageClients, cmd: string, argv: string[]): Promise<number> {
  switch (cmd) {
    case 'ls':
    case 'list': {
      const res = await c.unary(c.content, 'List', {});
      if (argv.includes('-q') || argv.includes('--quiet')) {
        for (const i of res.infos) process.stdout.write(`${i.digest}\n`);
        return 0;
      }
      const rows = res.infos.map((i: { digest: string; size: number; created_at: string; labels: Record<string, string> }) => [
        i.digest,
        humanSize(Number(i.size)),
        age(i.created_at),
        Object.entries(i.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '-',
      ]);
      process.stdout.write(table(['DIGEST', 'SIZE', 'AGE', 'LABELS'], rows));
      return 0;
    }
    case 'get': {
      if (!argv[0]) throw new UsageError('get: a digest is required');
      await c.stream(c.content, 'Read', { digest: argv[0], offset: 0, size: 0 }, (m) => {
        process.stdout.write(m.data);
      });
      return 0;
    }
    case 'rm':
    case 'delete': {
      if (!argv.length) throw new UsageError('rm: a digest is required');
      let rc = 0;
      for (const d of argv) {
        try {
          await c.unary(c.content, 'Delete', { digest: d });
          process.stdout.write(`${d}\n`);
        } catch (e) {
          process.stderr.write(`ctr: ${d}: ${describeError(e)}\n`);
          rc = 1;
        }
      }
      return rc;
    }
    case 'active': {
      const res = await c.unary(c.content, 'ListStatuses', {});
      const rows = res.statuses.map((s: { ref: string; offset: number; total: number; started_at: string }) => [s.ref, `${humanSize(Number(s.offset))}/${humanSize(Number(s.total))}`, s.started_at]);
      process.stdout.write(table(['REF', 'SIZE', 'STARTED'], rows));
      return 0;
    }
    case 'label': {
      if (!argv[0]) throw new UsageError('label: a digest is required');
      const labels: Record<string, string> = {};
      for (const kv of argv.slice(1)) {
        const i = kv.indexOf('=');
        labels[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? '' : kv.slice(i + 1);
      }
      const res = await c.unary(c.content, 'Update', { digest: argv[0], labels });
      process.stdout.write(`${Object.entries(res.info.labels).map(([k, v]) => `${k}=${v}`).join(',')}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  }
}
