import type { GlobalOptions } from '../main.js';
import { parseArgs, requireId } from './args.js';

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const id = requireId(parseArgs(argv, {}), 'start');
  const { start } = await import('../container/lifecycle.js');
  start(g.root, id);
  return 0;
}
