import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alreadyExists } from '../errors.js';
import type { GlobalOptions } from '../main.js';
import { parseArgs } from './args.js';

export default async function (argv: string[], _g: GlobalOptions): Promise<number> {
  const p = parseArgs(argv, { bundle: { type: 'string', short: 'b' }, rootless: { type: 'bool' } });
  const path = join((p.flags.bundle as string | undefined) ?? '.', 'config.json');
  if (existsSync(path)) throw alreadyExists('File config.json exists. Remove it first.');
  const { defaultSpec } = await import('../container/spec.js');
  writeFileSync(path, `${JSON.stringify(defaultSpec({ rootless: !!p.flags.rootless }), null, '\t')}\n`, { mode: 0o666 });
  return 0;
}
