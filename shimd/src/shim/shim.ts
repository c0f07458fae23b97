// The task one shim owns: the init process and its execs, driven through the
// runtime CLI, reaped here (the shim is their child subreaper), their exit status
// kept until shimd deletes them.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ErrorKind, failedPrecondition, internal, invalidArgument, notFound, nowRfc3339 } from '../errors.js';
import { childPids, receiveConsole, reap } from '../sys/index.js';
import { JsonFileLog, ProcessIO, type StdioPaths } from './io.js';
import { Runtime, spawnedPids } from './runtime.js';

export type Status = 'created' | 'running' | 'stopped' | 'paused' | 'pausing';

export interface ProcessState {
  exec_id: string;
  pid: number;
  status: Status;
  exit_status: number;
  exited_at: string;
  stdio: StdioPaths;
}

class Proc {
  pid = 0;
  status: Status = 'created';
  exitStatus = 0;
  exitedAt = '';
  io?: ProcessIO;
  starting = false;
  exitPending = false;
  /** Its output has been drained after exit. */
  settled = false;
  readonly exited: Promise<void>;
  resolveExit!: () => void;
  constructor(
    readonly execId: string,
    readonly stdio: StdioPaths,
    readonly spec?: string,
  ) {
    this.exited = new Promise((r) => {
      this.resolveExit = r;
    });
  }
  state(): ProcessState {
    return { exec_id: this.execId, pid: this.pid, status: this.status, exit_status: this.exitStatus, exited_at: this.exitedAt, stdio: this.stdio };
  }
}

export interface ShimConfig {
  id: string;
  namespace: string;
  bundle: string;
  socket: string;
  runtime: string;
}

export interface CreateRequest {
  bundle: string;
  stdio: StdioPaths;
  log_path: string;
  log_format: string;
  log_options: Record<string, string>;
}

const EXEC_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class Task {
  readonly runtime: Runtime;
  private init?: Proc;
  private readonly execs = new Map<string, Proc>();
  private log?: JsonFileLog;
  private memoryCgroup = '';
  private oomBaseline = 0;
  private consoleSeq = 0;
  /** Processes being launched: their pid is not known until the runtime's pid file is read. */
  private launching = 0;
  /** Exits of pids no record claimed yet, kept while a launch is under way (its process may be among them). */
  private readonly unclaimed = new Map<number, number>();
  /** Called for every event, in the order they happen. */
  onEvent: (topic: string, event: object) => void = () => {};
  /** Called once the init has been deleted: the shim's work is done. */
  onDeleted: () => void = () => {};

  constructor(readonly cfg: ShimConfig) {
    this.runtime = new Runtime({ binary: cfg.runtime, root: join(cfg.bundle, 'runtime-root'), log: join(cfg.bundle, 'runtime.log') });
    process.on('SIGCHLD', () => this.reapAll());
  }

  async create(req: CreateRequest): Promise<ProcessState> {
    if (this.init) throw failedPrecondition(`task ${this.cfg.id} already created`);
    if (req.log_path) {
      if (req.log_format && req.log_format !== 'json-file') throw invalidArgument(`unsupported log format ${req.log_format}`);
      try {
        this.log = new JsonFileLog(req.log_path, req.log_options ?? {});
      } catch (err) {
        throw invalidArgument(`log ${req.log_path}: ${(err as Error).message}`);
      }
    }
    const proc = new Proc('', req.stdio);
    this.init = proc;
    try {
      const pidFile = join(this.cfg.bundle, 'init.pid');
      await this.launch(proc, ['create', '--bundle', this.cfg.bundle, '--pid-file', pidFile], pidFile);
    } catch (err) {
      this.init = undefined;
      this.log?.close();
      this.log = undefined;
      throw err;
    }
    this.watchMemoryCgroup(proc.pid);
    return proc.state();
  }

  /** Runs `runtime create|exec` with the process's stdio and records its pid. */
  private async launch(proc: Proc, args: string[], pidFile: string): Promise<void> {
    // Only the init's output goes to the container's log (as Docker does); an exec has its own stdio.
    const io = new ProcessIO(proc.stdio, proc.execId ? undefined : this.log);
    this.launching++;
    try {
      await this.launchWith(proc, io, args, pidFile);
    } finally {
      this.launching--;
    }
    // It may have exited, and been reaped as an unknown child, before its pid file was read.
    const early = this.unclaimed.get(proc.pid);
    if (early !== undefined) {
      this.unclaimed.delete(proc.pid);
      void this.exited(proc, early);
    }
    if (this.launching === 0) this.unclaimed.clear();
  }

  private async launchWith(proc: Proc, io: ProcessIO, args: string[], pidFile: string): Promise<void> {
    proc.io = io;
    let console: ReturnType<typeof receiveConsole> | undefined;
    try {
      if (proc.stdio.terminal) {
        const path = `${this.cfg.socket}.${this.consoleSeq++}.pty`;
        rmSync(path, { force: true });
        console = receiveConsole(path);
        args = [...args, '--console-socket', path];
      }
      const run = this.runtime.run([...args, this.cfg.id], io.runtimeStdio);
      io.afterSpawn();
      try {
        await run;
      } finally {
        if (console) rmSync(`${this.cfg.socket}.${this.consoleSeq - 1}.pty`, { force: true });
      }
      if (console) io.attachConsole(await console.take());
      proc.pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (!proc.pid) throw internal(`runtime wrote no pid to ${pidFile}`);
    } catch (err) {
      console?.close();
      io.close();
      // The runtime failed after it started the process: it must not run on untracked
      // (once it exits, the reaper collects it as an unknown child).
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      throw err;
    }
  }

  private proc(execId: string): Proc {
    const p = execId ? this.execs.get(execId) : this.init;
    if (!p) throw notFound(execId ? `exec ${execId} not found in task ${this.cfg.id}` : `task ${this.cfg.id} not created`);
    return p;
  }

  async start(execId: string): Promise<ProcessState> {
    const p = this.proc(execId);
    if (p.status !== 'created' || p.starting) throw failedPrecondition(`process ${execId || this.cfg.id} is ${p.starting ? 'starting' : p.status}`);
    p.starting = true;
    try {
      if (!execId) {
        await this.runtime.run(['start', this.cfg.id]);
        // A short-lived init may already have been reaped while `start` returned.
        if (p.status === 'created') p.status = 'running';
        this.onEvent('/tasks/start', { container_id: this.cfg.id, pid: p.pid });
      } else {
        if (this.init?.status !== 'running') throw failedPrecondition(`task ${this.cfg.id} is not running`);
        const specFile = join(this.cfg.bundle, `exec-${execId}.json`);
        const spec = JSON.parse(p.spec!);
        spec.terminal = p.stdio.terminal;
        writeFileSync(specFile, JSON.stringify(spec));
        const pidFile = join(this.cfg.bundle, `exec-${execId}.pid`);
        try {
          await this.launch(p, ['exec', '--detach', '--process', specFile, '--pid-file', pidFile], pidFile);
        } finally {
          rmSync(specFile, { force: true });
          rmSync(pidFile, { force: true });
        }
        if (p.status === 'created') p.status = 'running';
        this.onEvent('/tasks/exec-started', { container_id: this.cfg.id, exec_id: execId, pid: p.pid });
      }
    } finally {
      p.starting = false;
    }
    // The process may have been reaped while start was still being acknowledged.
    this.reapAll();
    if (p.exitPending && p.settled) this.exitEvent(p);
    return p.state();
  }

  exec(execId: string, stdio: StdioPaths, spec: string): void {
    if (!EXEC_ID.test(execId)) throw invalidArgument(`invalid exec id ${JSON.stringify(execId)}`);
    if (this.execs.has(execId)) throw failedPrecondition(`exec ${execId} already exists in task ${this.cfg.id}`);
    if (!this.init || this.init.status === 'stopped') throw failedPrecondition(`task ${this.cfg.id} is not running`);
    let parsed: any;
    try {
      parsed = JSON.parse(spec);
    } catch (err) {
      throw invalidArgument(`exec spec: ${(err as Error).message}`);
    }
    if (!parsed || !Array.isArray(parsed.args) || parsed.args.length === 0) throw invalidArgument('exec spec: process.args must be a non-empty array');
    if (!parsed.cwd) parsed.cwd = '/';
    this.execs.set(execId, new Proc(execId, stdio, JSON.stringify(parsed)));
  }

  async kill(execId: string, signal: number, all: boolean): Promise<void> {
    const p = this.proc(execId);
    const sig = signal || 15;
    if (execId) {
      if (p.status !== 'running') throw notFound(`exec ${execId}: process already finished`);
      try {
        process.kill(p.pid, sig);
      } catch (err) {
        throw notFound(`exec ${execId}: ${(err as Error).message}`);
      }
      return;
    }
    if (p.status === 'stopped' && !all) throw notFound(`task ${this.cfg.id}: process already finished`);
    try {
      await this.runtime.run(['kill', ...(all ? ['--all'] : []), this.cfg.id, String(sig)]);
    } catch (err) {
      if (all || p.status === 'stopped') return;
      this.reapAll();
      if ((p.status as Status) === 'stopped') throw notFound(`task ${this.cfg.id}: process already finished`);
      throw err;
    }
  }

  resize(execId: string, width: number, height: number): void {
    const p = this.proc(execId);
    if (!p.stdio.terminal || !p.io) throw failedPrecondition(`process ${execId || this.cfg.id} has no terminal`);
    p.io.resize(width, height);
  }

  closeIO(execId: string): void {
    this.proc(execId).io?.closeStdin();
  }

  async pause(): Promise<void> {
    const p = this.proc('');
    if (p.status !== 'running') throw failedPrecondition(`task ${this.cfg.id} is ${p.status}`);
    p.status = 'pausing';
    try {
      await this.runtime.run(['pause', this.cfg.id]);
      if (p.status === 'pausing') p.status = 'paused';
    } catch (err) {
      if (p.status === 'pausing') p.status = 'running';
      throw err;
    }
    this.onEvent('/tasks/paused', { container_id: this.cfg.id });
  }

  async resume(): Promise<void> {
    const p = this.proc('');
    if (p.status !== 'paused') throw failedPrecondition(`task ${this.cfg.id} is ${p.status}`);
    await this.runtime.run(['resume', this.cfg.id]);
    if (p.status === 'paused') p.status = 'running';
    this.onEvent('/tasks/resumed', { container_id: this.cfg.id });
    this.reapAll();
  }

  async update(resources: string): Promise<void> {
    const p = this.proc('');
    if (p.status === 'stopped') throw failedPrecondition(`task ${this.cfg.id} is stopped`);
    try {
      JSON.parse(resources);
    } catch (err) {
      throw invalidArgument(`resources: ${(err as Error).message}`);
    }
    await this.runtime.run(['update', '--resources', '-', this.cfg.id], ['pipe', 'pipe', 'pipe'], resources);
  }

  state(execId: string): ProcessState {
    return this.proc(execId).state();
  }

  list(): ProcessState[] {
    return [...(this.init ? [this.init] : []), ...this.execs.values()].map((p) => p.state());
  }

  async wait(execId: string): Promise<ProcessState> {
    const p = this.proc(execId);
    await p.exited;
    return p.state();
  }

  async pids(): Promise<{ pid: number; exec_id: string }[]> {
    const p = this.proc('');
    if (p.status === 'stopped') return [];
    const { stdout } = await this.runtime.run(['ps', '--format', 'json', this.cfg.id]);
    const pids: number[] = JSON.parse(stdout || '[]') ?? [];
    const byPid = new Map([...this.execs.values()].map((e) => [e.pid, e.execId]));
    return pids.map((pid) => ({ pid, exec_id: byPid.get(pid) ?? '' }));
  }

  async delete(execId: string): Promise<ProcessState> {
    const p = this.proc(execId);
    if (execId) {
      if (p.status === 'running' || p.starting) throw failedPrecondition(`exec ${execId} is running`);
      this.execs.delete(execId);
      p.io?.close();
      return p.state();
    }
    if (p.status !== 'stopped' && p.status !== 'created') throw failedPrecondition(`task ${this.cfg.id} is ${p.status}: kill it first`);
    if (p.status === 'created') {
      // Never started: the runtime kills the waiting init.
      await this.runtime.run(['delete', '--force', this.cfg.id]);
      await this.waitReaped(p);
    } else {
      await this.runtime.run(['delete', this.cfg.id]).catch(async () => {
        await this.runtime.run(['delete', '--force', this.cfg.id]);
      });
    }
    for (const e of this.execs.values()) e.io?.close();
    this.execs.clear();
    p.io?.close();
    this.log?.close();
    this.log = undefined;
    rmSync(this.runtime.opts.root, { recursive: true, force: true });
    rmSync(this.runtime.opts.log, { force: true });
    setImmediate(() => this.onDeleted());
    return p.state();
  }

  /** Exit events of processes that have exited, for a client that connects late. */
  exitedEvents(): [string, object][] {
    return [...(this.init ? [this.init] : []), ...this.execs.values()]
      .filter((p) => p.status === 'stopped' && !p.exitPending)
      .map((p) => ['/tasks/exit', this.exitPayload(p)]);
  }

  hasLiveProcesses(): boolean {
    return [...(this.init ? [this.init] : []), ...this.execs.values()].some((p) => p.status !== 'stopped');
  }

  private async waitReaped(p: Proc): Promise<void> {
    for (let i = 0; i < 100 && p.status !== 'stopped'; i++) {
      this.reapAll();
      if ((p.status as Status) === 'stopped') break;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Reaps every child that has exited: the init and execs by their recorded pid,
   * then any other child (orphans reparented to this subreaper, an exec whose
   * record has no pid yet), so no zombie keeps the container's pid namespace alive.
   * Runtime invocations Node spawned are left to Node, which waits for them itself.
   */
  private reapAll(): void {
    const procs = [...(this.init ? [this.init] : []), ...this.execs.values()];
    const known = new Set<number>();
    for (const p of procs) {
      if (!p.pid || p.status === 'stopped') continue;
      known.add(p.pid);
      const early = this.unclaimed.get(p.pid);
      if (early !== undefined) {
        this.unclaimed.delete(p.pid);
        void this.exited(p, early);
        continue;
      }
      const r = reap(p.pid);
      if (!r) continue;
      // ECHILD: not (yet) reparented to us; if it is gone nonetheless, it exited unseen.
      if (r.exitStatus < 0) {
        if (existsSync(`/proc/${p.pid}`)) continue;
        r.exitStatus = 255;
      }
      void this.exited(p, r.exitStatus);
    }
    for (const pid of childPids()) {
      if (known.has(pid) || spawnedPids.has(pid)) continue;
      let r: { exitStatus: number } | undefined;
      try {
        r = reap(pid);
      } catch {
        continue;
      }
      if (r && r.exitStatus >= 0 && this.launching > 0) this.unclaimed.set(pid, r.exitStatus);
    }
    // Kept only for a launch in flight: afterwards a pid could be reused.
    if (this.launching === 0) this.unclaimed.clear();
  }

  private async exited(p: Proc, status: number): Promise<void> {
    p.status = 'stopped';
    p.exitStatus = status;
    p.exitedAt = nowRfc3339();
    p.exitPending = true;
    // Output first, so a reader that stops at the exit event has seen all of it.
    await p.io?.settle();
    p.io?.finishOutput();
    p.settled = true;
    if (!p.starting) this.exitEvent(p);
  }

  private exitEvent(p: Proc): void {
    if (!p.exitPending) return;
    p.exitPending = false;
    if (!p.execId && this.oomKills() > this.oomBaseline) this.onEvent('/tasks/oom', { container_id: this.cfg.id });
    p.resolveExit();
    this.onEvent('/tasks/exit', this.exitPayload(p));
  }

  private exitPayload(p: Proc): object {
    return { container_id: this.cfg.id, id: p.execId || this.cfg.id, pid: p.pid, exit_status: p.exitStatus, exited_at: p.exitedAt };
  }

  private watchMemoryCgroup(pid: number): void {
    try {
      for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
        const [, ctrls, path] = line.split(':');
        if (ctrls?.split(',').includes('memory')) this.memoryCgroup = join('/sys/fs/cgroup/memory', path ?? '');
      }
      if (!this.memoryCgroup) {
        const v2 = readFileSync(`/proc/${pid}/cgroup`, 'utf8').match(/^0::(.*)$/m);
        if (v2 && existsSync('/sys/fs/cgroup/cgroup.controllers')) this.memoryCgroup = join('/sys/fs/cgroup', v2[1]!);
      }
      this.oomBaseline = this.oomKills();
    } catch {}
  }

  /** The memory cgroup's OOM kill count (v1 memory.oom_control, v2 memory.events). */
  private oomKills(): number {
    if (!this.memoryCgroup) return 0;
    for (const f of ['memory.oom_control', 'memory.events']) {
      try {
        const m = readFileSync(join(this.memoryCgroup, f), 'utf8').match(/^oom_kill (\d+)$/m);
        if (m) return Number(m[1]);
      } catch {}
    }
    return 0;
  }
}

export function kindOf(err: unknown): ErrorKind {
  return (err as { kind?: ErrorKind })?.kind ?? 'Internal';
}
