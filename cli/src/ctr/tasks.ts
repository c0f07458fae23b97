import { constants } from 'node:os';
import { parseFlags, table, UsageError } from './args.js';
import type { ShimdClient } from './client.js';
import { deleteContainer } from './containers.js';
import { attach, type Attached, makeFifos, removeFifos, within, type Fifos } from './io.js';

export function signalNumber(s: string | undefined, fallback = 15): number {
  if (!s) return fallback;
  if (/^\d+$/.test(s)) return Number(s);
  const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  const n = (constants.signals as Record<string, number>)[name];
  if (!n) throw new UsageError(`unknown signal ${s}`);
  return n;
}

export interface RunOptions {
  tty: boolean;
  detach: boolean;
  rm: boolean;
  log?: string;
  execId?: string;
  /** For exec: the process spec. */
  processSpec?: object;
}

function watchResize(c: ShimdClient, id: string, execId: string): () => void {
  if (!process.stdout.isTTY) return () => {};
  const resize = () =>
    void c.tasks('ResizePty', { container_id: id, exec_id: execId, width: process.stdout.columns, height: process.stdout.rows }).catch(() => {});
  resize();
  process.stdout.on('resize', resize);
  return () => process.stdout.off('resize', resize);
}

/**
 * Creates (or, for an exec, adds) and starts a process, then unless detached relays
 * its stdio until it exits; returns its exit status.
 */
export async function runProcess(c: ShimdClient, id: string, o: RunOptions): Promise<number> {
  const execId = o.execId ?? '';
  const fifos: Fifos | undefined = o.detach ? undefined : makeFifos(o.tty);
  let att: Attached | undefined;
  let stopResize = () => {};
  const forward = (sig: NodeJS.Signals) => () =>
    void c.tasks('Kill', { container_id: id, exec_id: execId, signal: constants.signals[sig] }).catch(() => {});
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  try {
    const stdio = { stdin: fifos?.stdin ?? '', stdout: fifos?.stdout ?? '', stderr: fifos?.stderr ?? '', terminal: o.tty };
    if (fifos) att = attach(fifos, o.tty);
    if (execId) {
      await c.tasks('Exec', { container_id: id, exec_id: execId, ...stdio, spec: JSON.stringify(o.processSpec) });
    } else {
      await c.tasks('Create', { container_id: id, ...stdio, log_path: o.log ?? '', log_format: o.log ? 'json-file' : '' });
    }
    // The shim opens an exec's FIFOs at Start, the init's at Create.
    if (!execId) att?.release();
    // The init's pty exists from Create: size it before the process can ask (`stty size` first thing).
    if (!execId && o.tty && process.stdout.isTTY) {
      await c.tasks('ResizePty', { container_id: id, exec_id: '', width: process.stdout.columns, height: process.stdout.rows }).catch(() => {});
    }
    await c.tasks('Start', { container_id: id, exec_id: execId });
    att?.release();
    if (o.detach) {
      process.stdout.write(`${id}${execId ? ` ${execId}` : ''}\n`);
      return 0;
    }
    if (o.tty) stopResize = watchResize(c, id, execId);
    else {
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
    }
    if (att && !o.tty) void att.stdinDone.then(() => c.tasks('CloseIO', { container_id: id, exec_id: execId, stdin: true }).catch(() => {}));
    const w = await c.tasks('Wait', { container_id: id, exec_id: execId });
    if (att) await within(att.outputDone, 2000);
    if (o.rm || execId) {
      if (execId) await c.tasks('DeleteProcess', { container_id: id, exec_id: execId }).catch(() => {});
      else {
        await c.tasks('Delete', { container_id: id });
        // ctr run --rm removes the container's snapshot too.
        await deleteContainer(c, id);
      }
    }
    return w.exit_status;
  } finally {
    stopResize();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    att?.detach();
    removeFifos(fifos);
  }
}

export async function tasks(c: ShimdClient, argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const need = (p: { args: string[] }, usage: string) => {
    if (!p.args[0]) throw new UsageError(`usage: berth ctr tasks ${usage}`);
    return p.args[0];
  };
  switch (verb) {
    case 'start': {
      const p = parseFlags(rest, { bools: ['detach', 'tty'], values: ['log'], aliases: { d: 'detach', t: 'tty' } });
      const id = need(p, 'start [-d] [-t] [--log PATH] ID');
      const { container } = await c.containers('Get', { id });
      const tty = !!p.flags.tty || !!JSON.parse(container.spec).process?.terminal;
      return runProcess(c, id, { tty, detach: !!p.flags.detach, rm: false, log: p.flags.log as string | undefined });
    }
    case 'ls':
    case 'list': {
      const p = parseFlags(rest, { bools: ['quiet'], aliases: { q: 'quiet' } });
      const { tasks } = await c.tasks('List', {});
      if (p.flags.quiet) process.stdout.write(tasks.map((t: any) => `${t.container_id}\n`).join(''));
      else process.stdout.write(table(['TASK', 'PID', 'STATUS'], tasks.map((t: any) => [t.container_id, String(t.pid), t.status])));
      return 0;
    }
    case 'kill': {
      const p = parseFlags(rest, { values: ['signal', 'exec-id'], bools: ['all'], aliases: { s: 'signal', a: 'all' } });
      const id = need(p, 'kill [-s SIGNAL] [-a] [--exec-id ID] ID');
      await c.tasks('Kill', { container_id: id, exec_id: p.flags['exec-id'] ?? '', signal: signalNumber(p.flags.signal as string), all: !!p.flags.all });
      return 0;
    }
    case 'ps': {
      const id = need(parseFlags(rest, {}), 'ps ID');
      const { processes } = await c.tasks('ListPids', { container_id: id });
      process.stdout.write(table(['PID', 'INFO'], processes.map((x: any) => [String(x.pid), x.exec_id ? `exec ${x.exec_id}` : '-'])));
      return 0;
    }
    case 'pause':
    case 'resume': {
      const id = need(parseFlags(rest, {}), `${verb} ID`);
      await c.tasks(verb === 'pause' ? 'Pause' : 'Resume', { container_id: id });
      return 0;
    }
    case 'exec': {
      const p = parseFlags(rest, { values: ['exec-id', 'cwd', 'user'], multi: ['env'], bools: ['tty', 'detach'], aliases: { t: 'tty', d: 'detach' } }, 1);
      const id = need(p, 'exec --exec-id ID [-t] [-d] CONTAINER ARGS...');
      const execId = p.flags['exec-id'] as string;
      if (!execId) throw new UsageError('--exec-id is required');
      const args = p.args.slice(1);
      if (!args.length) throw new UsageError('exec: a command is required');
      const { container } = await c.containers('Get', { id });
      const base = JSON.parse(container.spec).process ?? {};
      const tty = !!p.flags.tty;
      const spec = { ...base, args, terminal: tty, cwd: (p.flags.cwd as string) ?? base.cwd ?? '/', env: [...(base.env ?? []), ...(p.multi.env ?? [])] };
      if (p.flags.user) {
        const [uid, gid] = String(p.flags.user).split(':').map(Number);
        spec.user = { uid: uid ?? 0, gid: gid ?? 0 };
      }
      return runProcess(c, id, { tty, detach: !!p.flags.detach, rm: false, execId, processSpec: spec });
    }
    case 'metrics':
    case 'metric': {
      const p = parseFlags(rest, { values: ['format'] });
      const { metrics } = await c.tasks('Metrics', { container_ids: p.args });
      if (p.flags.format === 'json') {
        process.stdout.write(`${JSON.stringify(metrics, null, 2)}\n`);
        return 0;
      }
      const rows = metrics.map((m: any) => [
        m.container_id,
        String(m.cpu?.usage_total_ns ?? 0),
        String(m.memory?.usage ?? 0),
        m.memory?.limit ? String(m.memory.limit) : 'max',
        String(m.pids?.current ?? 0),
      ]);
      process.stdout.write(table(['ID', 'CPU_NS', 'MEMORY_USAGE', 'MEMORY_LIMIT', 'PIDS'], rows));
      return 0;
    }
    case 'delete':
    case 'rm':
    case 'del':
    case 'remove': {
      const p = parseFlags(rest, { bools: ['force'], aliases: { f: 'force' } });
      if (!p.args.length) throw new UsageError('usage: berth ctr tasks delete [-f] ID...');
      let code = 0;
      for (const id of p.args) {
        if (p.flags.force) {
          await c.tasks('Kill', { container_id: id, signal: 9, all: true }).catch(() => {});
          await c.tasks('Wait', { container_id: id });
        }
        const r = await c.tasks('Delete', { container_id: id });
        code = r.exit_status;
      }
      return code;
    }
    case 'attach': {
      const id = need(parseFlags(rest, {}), 'attach ID');
      const { process: proc } = await c.tasks('Get', { container_id: id });
      if (!proc.stdout && !proc.stdin) throw new UsageError(`task ${id} has no stdio to attach to (started detached)`);
      const att = attach({ stdin: proc.stdin, stdout: proc.stdout, stderr: proc.stderr }, proc.terminal);
      att.release();
      const stop = proc.terminal ? watchResize(c, id, '') : () => {};
      try {
        const w = await c.tasks('Wait', { container_id: id });
        await within(att.outputDone, 2000);
        return w.exit_status;
      } finally {
        stop();
        att.detach();
      }
    }
    default:
      throw new UsageError('usage: berth ctr tasks start|ls|kill|ps|pause|resume|exec|metrics|delete|attach');
  }
}
