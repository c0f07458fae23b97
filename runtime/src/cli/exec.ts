// `exec ID [flags] ARGS…` or `exec ID --process FILE`: the process defaults to the
// bundle's config.json process (as runc does), then the flags override it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants } from 'node:os';
import type { Process } from 'oci-spec-types';
import { invalid } from '../errors.js';
import type { GlobalOptions } from '../main.js';
import { parseArgs } from './args.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGALRM'];

function parseUser(u: string): { uid: number; gid?: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(u);
  if (!m) throw invalid(`invalid user format "${u}": expected <uid>[:<gid>]`);
  return { uid: Number(m[1]), gid: m[2] === undefined ? undefined : Number(m[2]) };
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseArgs(
    argv,
    {
      'console-socket': { type: 'string' },
      cwd: { type: 'string' },
      env: { type: 'multi', short: 'e' },
      tty: { type: 'bool', short: 't' },
      user: { type: 'string', short: 'u' },
      'additional-gids': { type: 'multi', short: 'g' },
      process: { type: 'string', short: 'p' },
      detach: { type: 'bool', short: 'd' },
      'pid-file': { type: 'string' },
      'process-label': { type: 'string' },
      apparmor: { type: 'string' },
      'no-new-privs': { type: 'bool' },
      cap: { type: 'multi', short: 'c' },
      'preserve-fds': { type: 'number' },
      cgroup: { type: 'multi' },
      'ignore-paused': { type: 'bool' },
    },
    1,
  );
  if (!p.positionals.length) throw invalid('"exec" requires a minimum of 1 argument');
  const id = p.positionals[0];
  const { load } = await import('../container/lifecycle.js');
  const { loadSpec } = await import('../container/config.js');
  let proc: Process;
  if (p.flags.process) {
    const file = p.flags.process as string;
    let doc: any;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err: any) {
      throw invalid(`process file ${file}: ${err?.code === 'ENOENT' ? 'no such file or directory' : err?.message}`);
    }
    if (!doc || typeof doc !== 'object' || !Array.isArray(doc.args) || !doc.args.every((a: unknown) => typeof a === 'string')) {
      throw invalid(`process file ${file}: args: expected an array of strings`);
    }
    proc = { user: { uid: 0, gid: 0 }, cwd: '/', ...doc };
  } else {
    if (!p.rest.length) throw invalid('exec: no command given');
    const c = load(g.root, id);
    const spec = await loadSpec(join(c.saved.bundle, 'config.json'));
    const base = spec.process ?? { user: { uid: 0, gid: 0 }, cwd: '/' };
    proc = { ...base, user: { ...base.user }, args: p.rest, terminal: !!p.flags.tty };
    proc.env = [...(base.env ?? []), ...((p.flags.env as string[] | undefined) ?? [])];
    if (p.flags.cwd) proc.cwd = p.flags.cwd as string;
    if (p.flags.user) {
      const u = parseUser(p.flags.user as string);
      proc.user.uid = u.uid;
      if (u.gid !== undefined) proc.user.gid = u.gid;
    }
    const gids = p.flags['additional-gids'] as string[] | undefined;
    if (gids) {
      proc.user.additionalGids = gids.map((x) => {
        if (!/^\d+$/.test(x)) throw invalid(`invalid additional-gids value ${x}`);
        return Number(x);
      });
    }
    const caps = p.flags.cap as string[] | undefined;
    if (caps) {
      const { capMask } = await import('../linux/capabilities.js');
      capMask(caps, '--cap');
      const c0 = base.capabilities ?? {};
      const add = (l?: string[]) => [...new Set([...(l ?? []), ...caps])];
      proc.capabilities = { ...c0, bounding: add(c0.bounding), effective: add(c0.effective), permitted: add(c0.permitted), ambient: add(c0.ambient) };
    }
    if (p.flags['no-new-privs']) proc.noNewPrivileges = true;
    if (p.flags.apparmor) proc.apparmorProfile = p.flags.apparmor as string;
    if (p.flags['process-label']) proc.selinuxLabel = p.flags['process-label'] as string;
  }
  const { exec } = await import('../container/exec.js');
  let consoleSocket = p.flags['console-socket'] as string | undefined;
  // Attached with a terminal and no console socket: proxy the pty ourselves (runc does).
  let proxy: import('../container/console.js').ConsoleProxy | undefined;
  if (proc.terminal && !consoleSocket && !p.flags.detach) {
    const { ConsoleProxy } = await import('../container/console.js');
    proxy = new ConsoleProxy();
    consoleSocket = proxy.path;
  }
  let e: Awaited<ReturnType<typeof exec>>;
  try {
    e = await exec({
      root: g.root,
      id,
      process: proc,
      consoleSocket,
      pidFile: p.flags['pid-file'] as string | undefined,
      preserveFds: (p.flags['preserve-fds'] as number | undefined) ?? 0,
    });
    proxy?.attach();
  } catch (err) {
    proxy?.close();
    throw err;
  }
  if (p.flags.detach) {
    e.unref();
    return 0;
  }
  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(e.pid, sig);
    } catch {}
  };
  const forwarded = proxy ? FORWARDED.filter((s) => s !== 'SIGWINCH') : FORWARDED;
  for (const sig of forwarded) process.on(sig, forward);
  const exit = await e.exited;
  for (const sig of forwarded) process.off(sig, forward);
  if (proxy) {
    await proxy.drained();
    proxy.close();
  }
  if (exit.signal) return 128 + (constants.signals[exit.signal] ?? 0);
  return exit.code ?? 0;
}
