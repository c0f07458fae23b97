import type { GlobalOptions } from '../main.js';
import { parseArgs, requireId } from './args.js';

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseArgs(argv, { force: { type: 'bool', short: 'f' } });
  const id = requireId(p, 'delete');
  const { destroy } = await import('../container/lifecycle.js');
  destroy(g.root, id, !!p.flags.force);
  return 0;
}
