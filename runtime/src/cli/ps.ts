import { execFileSync } from 'node:child_process';
import { invalid } from '../errors.js';
import type { GlobalOptions } from '../main.js';
import { parseArgs, requireId } from './args.js';

// runc's ps: the cgroup's pids as JSON, or the host's `ps` output (default -ef)
// filtered to the container's processes.
export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseArgs(argv, { format: { type: 'string', short: 'f' } }, 1);
  const id = requireId(p, 'ps');
  const format = (p.flags.format as string | undefined) ?? 'table';
  const { pids } = await import('../container/lifecycle.js');
  const list = pids(g.root, id);
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(list)}\n`);
    return 0;
  }
  if (format !== 'table') throw invalid('invalid format option');
  const psArgs = p.rest.length ? p.rest : ['-ef'];
  const out = execFileSync('ps', psArgs, { encoding: 'utf8' }).split('\n');
  const header = out[0];
  const col = header.trim().split(/\s+/).indexOf('PID');
  if (col < 0) throw invalid("couldn't find PID field in ps output");
  const keep = new Set(list);
  const lines = [header];
  for (const line of out.slice(1)) {
    const pid = Number(line.trim().split(/\s+/)[col]);
    if (keep.has(pid)) lines.push(line);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
