import type { GlobalOptions } from '../main.js';
import { parseArgs, requireId } from './args.js';

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseArgs(argv, { all: { type: 'bool', short: 'a' } });
  const id = requireId(p, 'kill', 1);
  const { parseSignal } = await import('../linux/signals.js');
  const signal = parseSignal(p.positionals[1] ?? 'SIGTERM');
  const { kill } = await import('../container/lifecycle.js');
  kill(g.root, id, signal, !!p.flags.all);
  return 0;
}
