import { invalid } from '../errors.js';
import { logDebug } from '../log.js';
import type { GlobalOptions } from '../main.js';
import { parseArgs } from './args.js';

/** Go's tabwriter as runc configures it: min width 12, padding 1, space-padded. */
function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => Math.max(12, r[i].length + 1))));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('') + '\n').join('');
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseArgs(argv, { format: { type: 'string', short: 'f' }, quiet: { type: 'bool', short: 'q' } });
  const format = (p.flags.format as string | undefined) ?? 'table';
  if (format !== 'table' && format !== 'json') throw invalid(`invalid format option`);
  const { list } = await import('../container/lifecycle.js');
  const states = list(g.root, (id, err) => logDebug(`list: skipping ${id}: ${(err as Error)?.message ?? err}`));
  if (p.flags.quiet) {
    process.stdout.write(states.map((s) => `${s.id}\n`).join(''));
  } else if (format === 'json') {
    process.stdout.write(`${JSON.stringify(states)}\n`);
  } else {
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
    for (const s of states) rows.push([s.id, String(s.pid), s.status, s.bundle, s.created, s.owner || 'root']);
    process.stdout.write(table(rows));
  }
  return 0;
}
