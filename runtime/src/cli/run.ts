// `run` = create + start in one process. Without -d it stays the init's parent:
// it forwards the signals it gets, waits, deletes the container (unless --keep)
// and exits with the init's status (128+N when killed by signal N).
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { GlobalOptions } from '../main.js';
import { parseArgs, requireId } from './args.js';
import { createFlags, createOptions } from './create.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGALRM'];

function wantsTerminal(bundle: string): boolean {
  try {
    return JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'))?.process?.terminal === true;
  } catch {
    return false; // create reports the problem
  }
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseArgs(argv, {
    ...createFlags,
    detach: { type: 'bool', short: 'd' },
    keep: { type: 'bool' },
    'no-subreaper': { type: 'bool' },
  });
  const id = requireId(p, 'run');
  const { checkId } = await import('../container/state.js');
  checkId(id);
  const { create } = await import('../container/create.js');
  const lifecycle = await import('../container/lifecycle.js');
  const opts = { ...createOptions(p, g, id), detached: !!p.flags.detach };
  // Attached with a terminal and no console socket: proxy the pty ourselves (runc does).
  let proxy: import('../container/console.js').ConsoleProxy | undefined;
  if (!p.flags.detach && !opts.consoleSocket && wantsTerminal(opts.bundle)) {
    const { ConsoleProxy } = await import('../container/console.js');
    proxy = new ConsoleProxy();
    opts.consoleSocket = proxy.path;
  }
  let c: Awaited<ReturnType<typeof create>>;
  try {
    c = await create(opts);
    proxy?.attach();
    lifecycle.start(g.root, id);
  } catch (err) {
    proxy?.close();
    if (lifecycle.exists(g.root, id)) lifecycle.destroy(g.root, id, true);
    throw err;
  }
  if (p.flags.detach) {
    c.child.unref();
    return 0;
  }
  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(c.state.pid, sig);
    } catch {}
  };
  // With a terminal, window changes go to the pty (the kernel signals the container).
  const forwarded = proxy ? FORWARDED.filter((s) => s !== 'SIGWINCH') : FORWARDED;
  for (const sig of forwarded) process.on(sig, forward);
  const exit = await c.exited;
  for (const sig of forwarded) process.off(sig, forward);
  if (proxy) {
    await proxy.drained();
    proxy.close();
  }
  if (!p.flags.keep) lifecycle.destroy(g.root, id, true);
  if (exit.signal) return 128 + (constants.signals[exit.signal] ?? 0);
  return exit.code ?? 0;
}
