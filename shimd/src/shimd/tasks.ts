// Tasks: one berth-shim per container task. shimd writes the bundle (config.json
// and the rootfs mounts), starts the shim detached, and relays calls and events.
// Shims outlive shimd: on start it finds them again from the state dir.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { alreadyExists, errorMessage, failedPrecondition, internal, invalidArgument, notFound, nowRfc3339, unavailable } from '../errors.js';
import { Runtime } from '../shim/runtime.js';
import { mount, unmount } from '../sys/index.js';
import type { Exchange } from './events.js';
import { checkId, type Metadata, type Mount, parseSpec } from './metadata.js';
import { taskMetrics } from './metrics.js';
import { ShimClient } from './shim-client.js';
import { readJson, writeJsonAtomic } from './store.js';

export interface TasksConfig {
  state: string;
  /** Default runtime: a name on PATH or a path. */
  runtime: string;
  /** The berth-shim bundle to run. */
  shim: string;
  /** Node flags for the shim (small heap). */
  shimNodeFlags: string[];
  /** Mounts of a snapshot (the image services' snapshotter), for containers that name a snapshot key. */
  snapshotMounts?: (key: string) => Mount[];
}

export type Status = 'CREATED' | 'RUNNING' | 'STOPPED' | 'PAUSED' | 'PAUSING' | 'UNKNOWN';

interface TaskRecord {
  namespace: string;
  id: string;
  bundle: string;
  socket: string;
  runtime: string;
  shim_pid: number;
  pid: number;
  rootfs_mounted: string[];
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  log_path: string;
  /** Exits already published (ids: container id for init, exec ids). */
  exits_published: string[];
  /** Set when the shim died: the exit reported for the init. */
  dead?: { exit_status: number; exited_at: string };
}

interface Entry {
  rec: TaskRecord;
  client?: ShimClient;
  deleting?: boolean;
  exited: Promise<{ exit_status: number; exited_at: string }>;
  resolveExited: (v: { exit_status: number; exited_at: string }) => void;
  initExit?: { exit_status: number; exited_at: string };
}

export interface ProcessView {
  container_id: string;
  exec_id: string;
  pid: number;
  status: Status;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  exit_status: number;
  exited_at: string;
}

export interface CreateTaskRequest {
  container_id: string;
  rootfs: Mount[];
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  log_path: string;
  log_format: string;
  log_options: Record<string, string>;
}

export interface StdioRequest {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** Resolves a runtime name or path to an executable path. */
export function resolveRuntime(name: string): string {
  if (isAbsolute(name)) {
    try {
      accessSync(name, constants.X_OK);
      return name;
    } catch {
      throw invalidArgument(`runtime ${name} is not an executable file`);
    }
  }
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw invalidArgument(`invalid runtime name ${JSON.stringify(name)}`);
  for (const dir of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    const p = join(dir, name);
    try {
      if (statSync(p).isFile()) {
        accessSync(p, constants.X_OK);
        return p;
      }
    } catch {}
  }
  throw invalidArgument(`runtime ${name} not found on PATH`);
}

export class Tasks {
  private readonly tasks = new Map<string, Entry>();

  constructor(
    private readonly cfg: TasksConfig,
    private readonly meta: Metadata,
    private readonly events: Exchange,
  ) {}

  private key(ns: string, id: string): string {
    return `${ns}/${id}`;
  }

  private entry(ns: string, id: string): Entry {
    const e = this.tasks.get(this.key(ns, id));
    if (!e || e.deleting) {
      this.meta.getContainer(ns, id);
      throw notFound(`no task for container ${id} in namespace ${ns}`);
    }
    return e;
  }

  hasTask(ns: string, id: string): boolean {
    return this.tasks.has(this.key(ns, id));
  }

  /** Removes the namespace's parent cgroups (`/berth/<ns>`, made by the runtime) once they are empty. */
  removeNamespaceCgroups(ns: string): void {
    const roots = ['/sys/fs/cgroup', ...readdirSafe('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c))];
    for (const root of roots) {
      try {
        rmdirSync(join(root, 'berth', ns));
      } catch {}
    }
  }

  hasTasks(ns: string): boolean {
    return [...this.tasks.values()].some((e) => e.rec.namespace === ns);
  }

  private newEntry(rec: TaskRecord): Entry {
    let resolveExited!: Entry['resolveExited'];
    const exited = new Promise<{ exit_status: number; exited_at: string }>((r) => {
      resolveExited = r;
    });
    return { rec, exited, resolveExited };
  }

  private save(e: Entry): void {
    writeJsonAtomic(join(e.rec.bundle, 'task.json'), e.rec);
  }

  // ------------------------------------------------------------------ create

  /** The rootfs mounts of a container's snapshot, as containerd resolves a container's SnapshotKey. */
  private snapshotMounts(id: string, snapshotter: string, key: string): Mount[] {
    if (snapshotter && !['overlayfs', 'overlay', 'native'].includes(snapshotter)) {
      throw invalidArgument(`container ${id}: unknown snapshotter ${JSON.stringify(snapshotter)} (berth-shimd has overlayfs, or native where overlay cannot be used)`);
    }
    if (!this.cfg.snapshotMounts) throw failedPrecondition(`container ${id}: rootfs snapshot ${key} needs the image services; pass the mounts to Tasks.Create`);
    let mounts: { type: string; source: string; target?: string; options?: string[] }[];
    try {
      mounts = this.cfg.snapshotMounts(key);
    } catch (err) {
      const kind = (err as { kind?: string }).kind;
      const message = `container ${id}: rootfs snapshot ${key}: ${errorMessage(err)}`;
      throw kind === 'NotFound' ? notFound(message) : kind === 'FailedPrecondition' ? failedPrecondition(message) : internal(message);
    }
    return mounts.map((m) => ({ type: m.type, source: m.source, target: m.target ?? '', options: m.options ?? [] }));
  }

  async create(ns: string, req: CreateTaskRequest): Promise<{ container_id: string; pid: number }> {
    checkId(req.container_id);
    const c = this.meta.getContainer(ns, req.container_id);
    if (this.tasks.has(this.key(ns, c.id))) throw alreadyExists(`task for container ${c.id} already exists`);
    if (req.log_format && req.log_format !== 'json-file') throw invalidArgument(`unsupported log_format ${JSON.stringify(req.log_format)}: only json-file`);
    if (req.log_path && !isAbsolute(req.log_path)) throw invalidArgument(`log_path ${req.log_path} must be absolute`);
    for (const p of [req.stdin, req.stdout, req.stderr]) {
      if (p && !isAbsolute(p)) throw invalidArgument(`stdio path ${p} must be absolute`);
      if (p && !existsSync(p)) throw invalidArgument(`stdio path ${p} does not exist`);
    }
    const spec = parseSpec(c.spec);
    const runtime = resolveRuntime(c.runtime.binary || c.runtime.name || this.cfg.runtime);
    let mounts = req.rootfs?.length ? req.rootfs : c.rootfs_mounts;
    if (!mounts.length && c.snapshot_key) mounts = this.snapshotMounts(c.id, c.snapshotter, c.snapshot_key);
    if (!mounts.length) {
      if (!spec.root?.path || !isAbsolute(spec.root.path) || !existsSync(spec.root.path)) {
        throw invalidArgument(`container ${c.id} has no rootfs mounts, and spec.root.path ${JSON.stringify(spec.root?.path)} is not an existing absolute path`);
      }
    }

    const bundle = join(this.cfg.state, 'tasks', ns, c.id);
    const socket = join(this.cfg.state, 's', `${createHash('sha256').update(`${ns}/${c.id}`).digest('hex').slice(0, 20)}.sock`);
    rmSync(bundle, { recursive: true, force: true });
    mkdirSync(bundle, { recursive: true, mode: 0o711 });
    mkdirSync(dirname(socket), { recursive: true, mode: 0o700 });
    const rec: TaskRecord = {
      namespace: ns,
      id: c.id,
      bundle,
      socket,
      runtime,
      shim_pid: 0,
      pid: 0,
      rootfs_mounted: [],
      stdin: req.stdin,
      stdout: req.stdout,
      stderr: req.stderr,
      terminal: req.terminal,
      log_path: req.log_path,
      exits_published: [],
    };
    const e = this.newEntry(rec);
    this.tasks.set(this.key(ns, c.id), e);
    try {
      if (mounts.length) {
        const rootfs = join(bundle, 'rootfs');
        mkdirSync(rootfs);
        for (const m of mounts) {
          const target = join(rootfs, m.target ?? '');
          mkdirSync(target, { recursive: true });
          try {
            mount(m.type, m.source, target, m.options ?? []);
          } catch (err) {
            throw invalidArgument(`rootfs mount ${m.type} ${m.source}: ${(err as Error).message}`);
          }
          rec.rootfs_mounted.unshift(target);
        }
        spec.root = { ...(spec.root ?? {}), path: 'rootfs' };
      }
      spec.process.terminal = !!req.terminal;
      spec.linux ??= {};
      spec.linux.cgroupsPath ??= `/berth/${ns}/${c.id}`;
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
      this.save(e);
      await this.startShim(e);
      const st = await e.client!.call<any>(
        'Create',
        'CreateRequest',
        {
          bundle,
          stdio: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
          log_path: req.log_path,
          log_format: req.log_format,
          log_options: req.log_options ?? {},
        },
        'ProcessState',
      );
      rec.pid = st.pid;
      this.save(e);
    } catch (err) {
      await this.teardown(e);
      throw err;
    }
    this.events.publish(ns, '/tasks/create', {
      container_id: c.id,
      pid: rec.pid,
      bundle,
      terminal: rec.terminal,
      stdin: rec.stdin,
      stdout: rec.stdout,
      stderr: rec.stderr,
      log_path: rec.log_path,
    });
    return { container_id: c.id, pid: rec.pid };
  }

  private async startShim(e: Entry): Promise<void> {
    const { rec } = e;
    const log = openSync(join(rec.bundle, 'shim.log'), 'a', 0o600);
    const args = [
      ...this.cfg.shimNodeFlags,
      this.cfg.shim,
      '--id', rec.id,
      '--namespace', rec.namespace,
      '--bundle', rec.bundle,
      '--socket', rec.socket,
      '--runtime', rec.runtime,
    ];
    // Own session and process group, stdio detached from shimd: the shim must
    // survive shimd being killed (and not get its terminal's signals).
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'pipe', log], cwd: rec.bundle });
    closeSync(log);
    rec.shim_pid = child.pid ?? 0;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += d;
        if (out.includes('\n')) {
          cleanup();
          resolve();
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(internal(`berth-shim exited (${code}) before serving; see ${join(rec.bundle, 'shim.log')}`));
      };
      const cleanup = () => {
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        child.stdout!.destroy();
      };
      child.stdout!.on('data', onData);
      child.on('exit', onExit);
      child.on('error', (err) => reject(internal(`berth-shim: ${err.message}`)));
    });
    child.unref();
    this.save(e);
    await this.connect(e);
  }

  private async connect(e: Entry): Promise<void> {
    const client = await ShimClient.connect(e.rec.socket);
    e.client = client;
    client.onEvent = (topic, event) => this.onShimEvent(e, topic, event);
    client.onClose = () => {
      if (e.client === client) e.client = undefined;
      if (!e.deleting) void this.checkShim(e);
    };
  }

  private onShimEvent(e: Entry, topic: string, event: any): void {
    if (topic === '/tasks/exit') {
      const id = String(event.id ?? '');
      const isInit = id === e.rec.id && !event.exec_id;
      if (isInit) {
        e.initExit = { exit_status: event.exit_status, exited_at: event.exited_at };
        e.resolveExited(e.initExit);
      }
      if (e.rec.exits_published.includes(id)) return;
      e.rec.exits_published.push(id);
      try {
        this.save(e);
      } catch {}
    }
    this.events.publish(e.rec.namespace, topic, event);
  }

  /** The connection dropped: a shim that is gone is cleaned up and its exit reported. */
  private async checkShim(e: Entry): Promise<void> {
    if (e.deleting || e.rec.dead) return;
    try {
      await this.connect(e);
      return;
    } catch {}
    if (alive(e.rec.shim_pid)) return; // restarting, or busy: the next call reconnects
    await this.shimDied(e);
  }

  private async shimDied(e: Entry): Promise<void> {
    const { rec } = e;
    const runtime = new Runtime({ binary: rec.runtime, root: join(rec.bundle, 'runtime-root'), log: join(rec.bundle, 'runtime.log') });
    await runtime.run(['delete', '--force', rec.id]).catch(() => {});
    rec.dead = { exit_status: 255, exited_at: nowRfc3339() };
    e.initExit = rec.dead;
    if (!rec.exits_published.includes(rec.id)) {
      rec.exits_published.push(rec.id);
      this.events.publish(rec.namespace, '/tasks/exit', { container_id: rec.id, id: rec.id, pid: rec.pid, ...rec.dead });
    }
    try {
      this.save(e);
    } catch {}
    e.resolveExited(rec.dead);
  }

  private async client(e: Entry): Promise<ShimClient> {
    if (e.client && !e.client.closed) return e.client;
    if (e.rec.dead) throw failedPrecondition(`task ${e.rec.id}: its shim died; the task is stopped`);
    try {
      await this.connect(e);
    } catch (err) {
      if (!alive(e.rec.shim_pid)) await this.shimDied(e);
      throw unavailable(`task ${e.rec.id}: ${(err as Error).message}`);
    }
    return e.client!;
  }

  private async call<T = any>(e: Entry, method: string, reqType: string, req: object, respType: string): Promise<T> {
    return (await this.client(e)).call<T>(method, reqType, req, respType);
  }

  /** Removes what a task left: shim, mounts, bundle, socket. */
  private async teardown(e: Entry): Promise<void> {
    e.deleting = true;
    const { rec } = e;
    const client = e.client;
    if (client) {
      await client.call('Shutdown', 'Empty', {}, 'Empty').catch(() => {});
      client.close();
    }
    if (rec.shim_pid && alive(rec.shim_pid)) {
      await waitGone(rec.shim_pid, 1000);
      if (alive(rec.shim_pid)) {
        try {
          process.kill(rec.shim_pid, 'SIGKILL');
        } catch {}
        await waitGone(rec.shim_pid, 1000);
      }
    }
    for (const m of rec.rootfs_mounted) {
      try {
        unmount(m);
      } catch {}
    }
    rmSync(rec.bundle, { recursive: true, force: true });
    rmSync(rec.socket, { force: true });
    for (const f of readdirSafe(dirname(rec.socket))) {
      if (f.startsWith(`${rec.socket.slice(dirname(rec.socket).length + 1)}.`)) rmSync(join(dirname(rec.socket), f), { force: true });
    }
    this.tasks.delete(this.key(rec.namespace, rec.id));
  }

  // ------------------------------------------------------------------ operations

  async start(ns: string, id: string, execId: string): Promise<number> {
    const e = this.entry(ns, id);
    const st = await this.call(e, 'Start', 'ProcessRef', { exec_id: execId }, 'ProcessState');
    return st.pid;
  }

  async delete(ns: string, id: string): Promise<{ id: string; pid: number; exit_status: number; exited_at: string }> {
    const e = this.entry(ns, id);
    const { rec } = e;
    let st: { pid: number; exit_status: number; exited_at: string };
    if (rec.dead) st = { pid: rec.pid, ...rec.dead };
    else {
      st = await this.call(e, 'Delete', 'ProcessRef', { exec_id: '' }, 'ProcessState');
      if (!rec.exits_published.includes(rec.id)) {
        rec.exits_published.push(rec.id);
        e.resolveExited({ exit_status: st.exit_status, exited_at: st.exited_at });
        this.events.publish(ns, '/tasks/exit', { container_id: id, id, pid: st.pid, exit_status: st.exit_status, exited_at: st.exited_at });
      }
    }
    await this.teardown(e);
    const out = { id, pid: st.pid, exit_status: st.exit_status, exited_at: st.exited_at };
    this.events.publish(ns, '/tasks/delete', { container_id: id, ...out });
    return out;
  }

  async deleteProcess(ns: string, id: string, execId: string): Promise<{ id: string; pid: number; exit_status: number; exited_at: string }> {
    if (!execId) throw invalidArgument('exec_id is required');
    const e = this.entry(ns, id);
    const st = await this.call(e, 'Delete', 'ProcessRef', { exec_id: execId }, 'ProcessState');
    const out = { id: execId, pid: st.pid, exit_status: st.exit_status, exited_at: st.exited_at };
    this.events.publish(ns, '/tasks/delete', { container_id: id, ...out });
    return out;
  }

  async kill(ns: string, id: string, execId: string, signal: number, all: boolean): Promise<void> {
    const e = this.entry(ns, id);
    if (signal > 64) throw invalidArgument(`invalid signal ${signal}`);
    if (e.rec.dead) throw notFound(`task ${id}: process already finished`);
    await this.call(e, 'Kill', 'KillRequest', { exec_id: execId, signal, all }, 'Empty');
  }

  async exec(ns: string, id: string, execId: string, stdio: StdioRequest, spec: string): Promise<void> {
    const e = this.entry(ns, id);
    checkId(execId, 'exec id');
    for (const p of [stdio.stdin, stdio.stdout, stdio.stderr]) if (p && !isAbsolute(p)) throw invalidArgument(`stdio path ${p} must be absolute`);
    await this.call(e, 'Exec', 'ExecRequest', { exec_id: execId, stdio, spec }, 'Empty');
    this.events.publish(ns, '/tasks/exec-added', { container_id: id, exec_id: execId });
  }

  async resize(ns: string, id: string, execId: string, width: number, height: number): Promise<void> {
    await this.call(this.entry(ns, id), 'ResizePty', 'ResizeRequest', { exec_id: execId, width, height }, 'Empty');
  }

  async closeIO(ns: string, id: string, execId: string): Promise<void> {
    await this.call(this.entry(ns, id), 'CloseIO', 'ProcessRef', { exec_id: execId }, 'Empty');
  }

  async pause(ns: string, id: string): Promise<void> {
    await this.call(this.entry(ns, id), 'Pause', 'Empty', {}, 'Empty');
  }

  async resume(ns: string, id: string): Promise<void> {
    await this.call(this.entry(ns, id), 'Resume', 'Empty', {}, 'Empty');
  }

  async update(ns: string, id: string, resources: string): Promise<void> {
    await this.call(this.entry(ns, id), 'Update', 'UpdateRequest', { resources }, 'Empty');
  }

  async wait(ns: string, id: string, execId: string): Promise<{ exit_status: number; exited_at: string }> {
    const e = this.entry(ns, id);
    if (!execId) {
      if (e.initExit) return e.initExit;
      // Ask the shim too: an exit that happened before we connected is answered at once.
      const viaShim = this.call<any>(e, 'Wait', 'ProcessRef', { exec_id: '' }, 'ProcessState').then(
        (st) => ({ exit_status: st.exit_status, exited_at: st.exited_at }),
        () => e.exited,
      );
      return Promise.race([e.exited, viaShim]);
    }
    const st = await this.call(e, 'Wait', 'ProcessRef', { exec_id: execId }, 'ProcessState');
    return { exit_status: st.exit_status, exited_at: st.exited_at };
  }

  async get(ns: string, id: string, execId: string): Promise<ProcessView> {
    const e = this.entry(ns, id);
    return this.view(e, execId);
  }

  private async view(e: Entry, execId: string): Promise<ProcessView> {
    const { rec } = e;
    const base = { container_id: rec.id, exec_id: execId, stdin: rec.stdin, stdout: rec.stdout, stderr: rec.stderr, terminal: rec.terminal };
    if (rec.dead) {
      if (execId) throw notFound(`exec ${execId} not found in task ${rec.id}`);
      return { ...base, pid: rec.pid, status: 'STOPPED', ...rec.dead };
    }
    const st = await this.call(e, 'State', 'ProcessRef', { exec_id: execId }, 'ProcessState');
    return {
      ...base,
      pid: st.pid,
      status: (String(st.status).toUpperCase() as Status) || 'UNKNOWN',
      stdin: st.stdio?.stdin ?? '',
      stdout: st.stdio?.stdout ?? '',
      stderr: st.stdio?.stderr ?? '',
      terminal: !!st.stdio?.terminal,
      exit_status: st.exit_status,
      exited_at: st.exited_at,
    };
  }

  async list(ns: string): Promise<ProcessView[]> {
    const out: ProcessView[] = [];
    for (const e of this.tasks.values()) {
      if (e.rec.namespace !== ns || e.deleting) continue;
      try {
        out.push(await this.view(e, ''));
      } catch {
        out.push({ container_id: e.rec.id, exec_id: '', pid: e.rec.pid, status: 'UNKNOWN', stdin: e.rec.stdin, stdout: e.rec.stdout, stderr: e.rec.stderr, terminal: e.rec.terminal, exit_status: 0, exited_at: '' });
      }
    }
    return out.sort((a, b) => a.container_id.localeCompare(b.container_id));
  }

  async pids(ns: string, id: string): Promise<{ pid: number; exec_id: string }[]> {
    const e = this.entry(ns, id);
    if (e.rec.dead) return [];
    return (await this.call<any>(e, 'Pids', 'Empty', {}, 'PidList')).pids ?? [];
  }

  async metrics(ns: string, ids: string[]): Promise<object[]> {
    const entries = ids.length ? ids.map((id) => this.entry(ns, id)) : [...this.tasks.values()].filter((e) => e.rec.namespace === ns && !e.deleting);
    const out: object[] = [];
    for (const e of entries) {
      if (e.rec.dead || e.initExit) continue;
      const m = taskMetrics(e.rec.id, e.rec.pid);
      if (m) out.push(m);
    }
    return out;
  }

  // ------------------------------------------------------------------ restart

  /** Finds the shims of a previous shimd from the state dir and reconnects. */
  async restore(): Promise<void> {
    const root = join(this.cfg.state, 'tasks');
    for (const ns of readdirSafe(root)) {
      for (const id of readdirSafe(join(root, ns))) {
        const rec = readJson<TaskRecord>(join(root, ns, id, 'task.json'));
        if (!rec) {
          // A create that never got as far as its record: nothing runs there.
          rmSync(join(root, ns, id), { recursive: true, force: true });
          continue;
        }
        const e = this.newEntry(rec);
        this.tasks.set(this.key(rec.namespace, rec.id), e);
        if (rec.dead) {
          e.initExit = rec.dead;
          e.resolveExited(rec.dead);
          continue;
        }
        try {
          await this.connect(e);
        } catch {
          if (!rec.pid) {
            // Died during create: the client never got a task.
            await this.teardown(e);
            continue;
          }
          await this.shimDied(e);
        }
      }
    }
  }
}

function alive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (our own child that nobody reaped) is not alive.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
