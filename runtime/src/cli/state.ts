import type { GlobalOptions } from '../main.js';
import { parseArgs, requireId } from './args.js';

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const id = requireId(parseArgs(argv, {}), 'state');
  const { state } = await import('../container/lifecycle.js');
  process.stdout.write(`${JSON.stringify(state(g.root, id), null, 2)}\n`);
  return 0;
}
