import type { GlobalOptions } from '../main.js';
import { parseArgs, requireId } from './args.js';

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const id = requireId(parseArgs(argv, {}), 'pause');
  const { pause } = await import('../container/lifecycle.js');
  pause(g.root, id);
  return 0;
}

export async function resume(argv: string[], g: GlobalOptions): Promise<number> {
  const id = requireId(parseArgs(argv, {}), 'resume');
  const lifecycle = await import('../container/lifecycle.js');
  lifecycle.resume(g.root, id);
  return 0;
}
