import type { GlobalOptions } from '../main.js';
import { parseArgs, requireId } from './args.js';

export const createFlags = {
  bundle: { type: 'string', short: 'b' },
  'console-socket': { type: 'string' },
  'pid-file': { type: 'string' },
  'no-pivot': { type: 'bool' },
  'no-new-keyring': { type: 'bool' },
  'preserve-fds': { type: 'number' },
} as const;

export function createOptions(p: ReturnType<typeof parseArgs>, g: GlobalOptions, id: string) {
  return {
    root: g.root,
    id,
    bundle: (p.flags.bundle as string | undefined) ?? '.',
    consoleSocket: p.flags['console-socket'] as string | undefined,
    pidFile: p.flags['pid-file'] as string | undefined,
    noPivot: !!p.flags['no-pivot'],
    noNewKeyring: !!p.flags['no-new-keyring'],
    preserveFds: (p.flags['preserve-fds'] as number | undefined) ?? 0,
  };
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseArgs(argv, createFlags);
  const id = requireId(p, 'create');
  const { checkId } = await import('../container/state.js');
  checkId(id);
  const { create } = await import('../container/create.js');
  const c = await create({ ...createOptions(p, g, id), detached: true });
  c.child.unref();
  return 0;
}
