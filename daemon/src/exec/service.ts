// Exec instances: created against a running container, started once, with stdio
// through FIFOs the shim opens (exec output is not part of the container's log).
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { conflict, invalid, notFound } from '../errors.js';
import type { TaskService } from '../containers/backend.js';
import type { ContainerService } from '../containers/service.js';
import { capabilities } from '../containers/spec.js';
import { fifoDrained, mkfifo, openFifoReader, openFifoWriter } from '../sys/fifo.js';

export interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  Env?: string[] | null;
  Cmd?: string[];
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
  ConsoleSize?: [number, number] | null;
}

export interface ExecRecord {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  started: boolean;
  exitCode: number | null;
  pid: number;
}

export interface ExecStreams {
  stdin?: Socket;
  stdout?: Socket;
  stderr?: Socket;
  /** Resolves with the exit code when the process has exited and been deleted. */
  exited: Promise<number>;
}

export class ExecService {
  private readonly execs = new Map<string, ExecRecord>();
  /** Healthcheck probes: no exec_* events for them. */
  private readonly quiet = new Set<string>();
  /** Where exec_create, exec_start and exec_die go (container events). */
  events: (action: string, containerId: string, extra: Record<string, string>) => void = () => {};

  constructor(
    private readonly containers: ContainerService,
    private readonly tasks: TaskService,
    private readonly fifoRoot: string,
  ) {}

  idsOf(containerId: string): string[] {
    return [...this.execs.values()].filter((e) => e.containerId === containerId).map((e) => e.id);
  }

  create(ref: string, config: ExecConfig, quiet = false): string {
    const c = this.containers.get(ref);
    if (!config || !Array.isArray(config.Cmd) || config.Cmd.length === 0) throw invalid('No exec command specified');
    if (!c.State.Running) throw conflict(`container ${c.ID} is not running`);
    if (c.State.Paused) throw conflict(`container ${c.ID} is paused, unpause the container before exec`);
    const id = randomBytes(32).toString('hex');
    this.execs.set(id, { id, containerId: c.ID, config, running: false, started: false, exitCode: null, pid: 0 });
    if (quiet) this.quiet.add(id);
    this.emitFor(id, `exec_create: ${config.Cmd.join(' ')}`, { execID: id });
    return id;
  }

  private emitFor(id: string, action: string, extra: Record<string, string>): void {
    const e = this.execs.get(id);
    if (e && !this.quiet.has(id)) this.events(action, e.containerId, extra);
  }

  get(id: string): ExecRecord {
    const e = this.execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    return e;
  }

  async start(id: string, opts: { tty?: boolean; detach?: boolean }): Promise<ExecStreams> {
    const e = this.get(id);
    if (e.started) throw conflict(`Error: Exec command ${id} has already run`);
    const c = this.containers.get(e.containerId);
    if (!c.State.Running) throw conflict(`container ${c.ID} is not running`);
    e.started = true;
    const tty = opts.tty ?? !!e.config.Tty;
    const dir = join(this.fifoRoot, id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const streams: Partial<ExecStreams> = {};
    const paths: { stdin?: string; stdout?: string; stderr?: string } = {};
    if (!opts.detach) {
      if (e.config.AttachStdin) {
        paths.stdin = join(dir, 'stdin');
        await mkfifo(paths.stdin);
        streams.stdin = openFifoWriter(paths.stdin);
      }
      if (e.config.AttachStdout) {
        paths.stdout = join(dir, 'stdout');
        await mkfifo(paths.stdout);
        streams.stdout = openFifoReader(paths.stdout);
      }
      if (e.config.AttachStderr && !tty) {
        paths.stderr = join(dir, 'stderr');
        await mkfifo(paths.stderr);
        streams.stderr = openFifoReader(paths.stderr);
      }
    }
    let user: Awaited<ReturnType<ContainerService['userOf']>>;
    try {
      user = await this.containers.userOf(c, e.config.User || c.Config.User);
    } catch (err) {
      e.exitCode = 126;
      for (const st of [streams.stdin, streams.stdout, streams.stderr]) st?.destroy();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const env = [...(c.Config.Env ?? [])];
    for (const kv of e.config.Env ?? []) {
      const k = kv.split('=')[0];
      const i = env.findIndex((x) => x.split('=')[0] === k);
      if (i >= 0) env[i] = kv;
      else env.push(kv);
    }
    if (tty && !env.some((x) => x.startsWith('TERM='))) env.push('TERM=xterm');
    if (user.home && !env.some((x) => x.startsWith('HOME='))) env.push(`HOME=${user.home}`);
    const caps = capabilities(c.HostConfig.CapAdd ?? [], c.HostConfig.CapDrop ?? [], !!(e.config.Privileged || c.HostConfig.Privileged));
    const process = {
      terminal: tty,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids?.length ? { additionalGids: user.additionalGids } : {}) },
      args: e.config.Cmd,
      env,
      cwd: e.config.WorkingDir || c.Config.WorkingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: false,
      ...(tty && e.config.ConsoleSize ? { consoleSize: { height: e.config.ConsoleSize[0], width: e.config.ConsoleSize[1] } } : {}),
    };
    const cleanup = () => {
      for (const s of [streams.stdin, streams.stdout, streams.stderr]) s?.destroy();
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      await this.tasks.exec(c.ID, id, process, { ...paths, terminal: tty });
      e.pid = await this.tasks.start(c.ID, id);
    } catch (err) {
      e.exitCode = 126;
      cleanup();
      await this.tasks.deleteProcess(c.ID, id).catch(() => {});
      throw err;
    }
    e.running = true;
    this.emitFor(id, `exec_start: ${(e.config.Cmd ?? []).join(' ')}`, { execID: id });
    const exited = this.tasks.wait(c.ID, id).then(
      async (x) => {
        e.running = false;
        e.exitCode = x.exitStatus;
        this.emitFor(id, 'exec_die', { execID: id, exitCode: String(x.exitStatus) });
        await this.tasks.deleteProcess(c.ID, id).catch(() => {});
        streams.stdin?.destroy();
        setTimeout(() => rmSync(dir, { recursive: true, force: true }), 5000).unref();
        return x.exitStatus;
      },
      () => {
        e.running = false;
        e.exitCode = e.exitCode ?? 255;
        cleanup();
        return 255;
      },
    );
    return { ...streams, exited };
  }

  async resize(id: string, h: number, w: number): Promise<void> {
    const e = this.get(id);
    if (!e.running) throw conflict(`exec ${id} is not running`);
    await this.tasks.resize(e.containerId, id, w, h);
  }

  async closeStdin(id: string): Promise<void> {
    const e = this.get(id);
    await fifoDrained(join(this.fifoRoot, id, 'stdin'));
    await this.tasks.closeStdin(e.containerId, id).catch(() => {});
  }

  /**
   * Runs `cmd` in the container as its user, collecting stdout and stderr (as a
   * healthcheck probe does); killed after `timeoutMs`. The exec is forgotten after.
   */
  async run(containerId: string, cmd: string[], timeoutMs: number): Promise<{ exitCode: number; output: string; timedOut: boolean }> {
    const id = this.create(containerId, { Cmd: cmd, AttachStdout: true, AttachStderr: true }, true);
    try {
      const streams = await this.start(id, { tty: false });
      const chunks: Buffer[] = [];
      let size = 0;
      const collect = (s: Socket | undefined) =>
        new Promise<void>((resolve) => {
          if (!s) return resolve();
          s.on('data', (d: Buffer) => {
            if (size < 8192) chunks.push(d);
            size += d.length;
          });
          s.on('close', () => resolve());
          s.on('end', () => resolve());
          s.on('error', () => resolve());
        });
      const drained = Promise.all([collect(streams.stdout), collect(streams.stderr)]);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        streams.exited.then(() => false),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) await this.tasks.kill(this.get(id).containerId, 9, id).catch(() => {});
      const exitCode = await streams.exited;
      await Promise.race([drained, new Promise((r) => setTimeout(r, 1000))]);
      streams.stdout?.destroy();
      streams.stderr?.destroy();
      return { exitCode, output: Buffer.concat(chunks).toString('utf8'), timedOut };
    } finally {
      this.execs.delete(id);
      this.quiet.delete(id);
    }
  }

  /** Forgets execs of a removed container. */
  forget(containerId: string): void {
    for (const e of this.execs.values()) if (e.containerId === containerId) this.execs.delete(e.id);
  }
}
