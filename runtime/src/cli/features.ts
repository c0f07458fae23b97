import type { GlobalOptions } from '../main.js';

export default async function (_argv: string[], _g: GlobalOptions): Promise<number> {
  const { features } = await import('../container/spec.js');
  process.stdout.write(`${JSON.stringify(features(), null, '    ')}\n`);
  return 0;
}
