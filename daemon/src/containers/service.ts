// The container service: Docker's container lifecycle over a TaskService (berth-shimd)
// and an ImageProvider. It owns berthd's model (records on disk), the per-container
// files (hosts, hostname, resolv.conf, json log), and the waits, attaches and
// restart policies that follow a container's exits.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { conflict, DaemonError, invalid, notModified } from '../errors.js';
import { fifoDrained, mkfifo, openFifoWriter } from '../sys/fifo.js';
import type { ImageProvider, TaskExit, TaskService } from './backend.js';
import {
  type ContainerConfig,
  type ContainerRecord,
  type HostConfig,
  type ImageRunConfig,
  newState,
  ZERO_TIME,
} from './model.js';
import { randomName } from './names.js';
import { parseSignal } from './signals.js';
import { buildSpec, resourcesOf, type ResolvedUser } from './spec.js';
import type { ContainerStore } from './store.js';
import type { VolumeService } from '../volumes/service.js';
import { planMounts, wantedMounts } from './mounts.js';
import { resolveUserInRootfs } from './user.js';
import { type Change, exportRootfs, rootfsChanges, writableSize } from './rootfs.js';
import { validateHealthcheck } from '../health/monitor.js';

/** Where `--init` finds its init: a static tini (Debian's tini package), as dockerd binds docker-init. */
export const INIT_CANDIDATES = ['/usr/bin/tini-static', '/usr/libexec/docker/docker-init', '/usr/bin/docker-init'];

function initBinary(): string {
  const found = INIT_CANDIDATES.find((p) => existsSync(p));
  if (!found) throw invalid(`--init needs a static init binary and none was found (looked for ${INIT_CANDIDATES.join(', ')}); install Debian's tini package`);
  return found;
}

/** What docker update may change (moby's container.UpdateConfig). */
const UPDATABLE = ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuQuota', 'CpuPeriod', 'CpusetCpus', 'CpusetMems', 'PidsLimit', 'BlkioWeight'] as const;

export type UpdateRequest = Partial<Pick<HostConfig, 'Memory' | 'MemorySwap' | 'NanoCpus' | 'CpuShares' | 'CpuQuota' | 'CpuPeriod' | 'CpusetCpus' | 'PidsLimit' | 'BlkioWeight' | 'RestartPolicy'>> & Record<string, any>;

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface CreateRequest extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: unknown;
}

/** Hooks the network service provides: setup between task create and start. */
export interface NetworkHooks {
  setup(c: ContainerRecord, pid: number): Promise<void>;
  teardown(c: ContainerRecord): Promise<void>;
  netns(c: ContainerRecord): 'new' | 'host';
  /** Checks the network settings of a create; returns the address asked for (`--ip`), if any. */
  validate(hc: HostConfig, networking?: unknown): { ipv4?: string } | undefined;
  /** After restore: release what setup left for containers no longer running. */
  sweep?(running: string[]): Promise<unknown>;
}

export type EventSink = (type: 'container', action: string, c: ContainerRecord, extra?: Record<string, string>) => void;

interface Live {
  /** Resolves at the end of the current run (the task exited and was cleaned up). */
  exited: Promise<void>;
  markExited: () => void;
  /**
   * The container's stdin as attaches see it: exists from the first attach (the CLI
   * attaches before it starts the container) and is piped into the FIFO at start.
   */
  stdin?: PassThrough;
  /** The FIFO writer of the current run. */
  fifo?: Socket;
  /** An exit is being processed: stop/kill wait for it. */
  handling?: Promise<void>;
}

const isoNow = () => new Date().toISOString();

function mergeEnv(image: string[] = [], user: string[] = []): string[] {
  const out = new Map<string, string>();
  for (const e of [...image, ...user]) {
    const k = e.includes('=') ? e.slice(0, e.indexOf('=')) : e;
    out.set(k, e);
  }
  return [...out.values()];
}

export class ContainerService {
  private readonly live = new Map<string, Live>();
  /** Attach streams still draining a container's output: auto-removal waits for them. */
  private readonly holds = new Map<string, Set<Promise<void>>>();
  private readonly waiters = new Map<string, { condition: WaitCondition; resolve: (code: number, err?: string) => void }[]>();
  /** Runs before berthd itself kills a running container (stop, rm -f, kill -9): healthchecks halt. */
  beforeKill: (c: ContainerRecord) => Promise<void> = async () => {};

  constructor(
    private readonly store: ContainerStore,
    private readonly tasks: TaskService,
    private readonly images: ImageProvider,
    private readonly network: NetworkHooks,
    private readonly volumes: VolumeService,
    private readonly emit: EventSink = () => {},
  ) {
    volumes.users = (name) =>
      this.store
        .all()
        .filter((c) => c.Mounts.some((m) => m.Type === 'volume' && m.Name === name))
        .map((c) => c.ID);
  }

  list(): ContainerRecord[] {
    return this.store.all();
  }

  get(ref: string): ContainerRecord {
    return this.store.get(ref);
  }

  private liveOf(id: string): Live {
    let l = this.live.get(id);
    if (!l) {
      let markExited!: () => void;
      const exited = new Promise<void>((r) => {
        markExited = r;
      });
      l = { exited, markExited };
      this.live.set(id, l);
    }
    return l;
  }

  /** Keeps the container's files until `released` settles (bounded), for an attach to drain its log. */
  hold(id: string, released: Promise<void>): void {
    const set = this.holds.get(id) ?? new Set();
    set.add(released);
    this.holds.set(id, set);
    void released.finally(() => {
      set.delete(released);
      if (!set.size) this.holds.delete(id);
    });
  }

  private async drainHolds(id: string): Promise<void> {
    const set = this.holds.get(id);
    if (!set?.size) return;
    await Promise.race([Promise.allSettled([...set]), new Promise((r) => setTimeout(r, 5000).unref())]);
  }

  /** Resolves when the current (or next) run of the container ends. */
  exited(id: string): Promise<void> {
    return this.liveOf(id).exited;
  }

  async create(body: CreateRequest, name: string | undefined): Promise<{ Id: string; Warnings: string[] }> {
    if (!body || typeof body !== 'object') throw invalid('config cannot be empty in order to create a container');
    if (!body.Image) throw invalid('No image specified');
    const hc: HostConfig = body.HostConfig ?? {};
    validateHostConfig(hc);
    validateHealthcheck(body.Healthcheck);
    const endpoint = this.network.validate(hc, body.NetworkingConfig);
    const image = await this.images.resolve(body.Image);
    const id = randomBytes(32).toString('hex');
    const fullName = this.store.reserveName(name || randomName((n) => this.store.hasName(n)), id);
    try {
      const config = mergeConfig(body, image.config);
      const entry = config.Entrypoint ?? [];
      const cmd = config.Cmd ?? [];
      const argv = [...entry, ...cmd];
      if (argv.length === 0) throw invalid('no command specified');
      config.Hostname = config.Hostname || id.slice(0, 12);
      const wanted = wantedMounts(hc, Object.keys(config.Volumes ?? {}));
      config.Image = body.Image;
      const dir = this.store.dir(id);
      const c: ContainerRecord = {
        ID: id,
        Created: isoNow(),
        Path: argv[0]!,
        Args: argv.slice(1),
        Name: fullName,
        Image: image.id,
        ImageRef: image.ref,
        Config: config,
        HostConfig: { ...hc, NetworkMode: hc.NetworkMode || 'bridge', LogConfig: hc.LogConfig?.Type ? hc.LogConfig : { Type: 'json-file', Config: hc.LogConfig?.Config ?? {} } },
        State: newState(),
        RestartCount: 0,
        LogPath: join(dir, `${id}-json.log`),
        ResolvConfPath: join(dir, 'resolv.conf'),
        HostnamePath: join(dir, 'hostname'),
        HostsPath: join(dir, 'hosts'),
        Mounts: [],
        ...(endpoint?.ipv4 ? { RequestedIPv4: endpoint.ipv4 } : {}),
      };
      this.store.save(c);
      try {
        this.writeEtcFiles(c);
        const rootfs = await this.images.prepareRootfs(id, image.id);
        try {
          const rootMounts = await this.images.rootfsMounts(id);
          const user = resolveUserInRootfs(c.Config.User, rootMounts);
          const planned = planMounts(wanted, this.volumes, rootMounts);
          c.Mounts = planned.points;
          this.store.save(c);
          const paths = { hostsPath: c.HostsPath, hostnamePath: c.HostnamePath, resolvConfPath: c.ResolvConfPath, initPath: hc.Init ? initBinary() : undefined };
          const spec = buildSpec(c, paths, user, planned.spec, this.network.netns(c));
          await this.tasks.createContainer(id, spec, rootfs, { 'berth.docker.name': fullName }, image.ref);
        } catch (e) {
          await this.images.removeRootfs(id).catch(() => {});
          throw e;
        }
      } catch (e) {
        this.store.delete(c);
        throw e;
      }
      this.emit('container', 'create', c);
      return { Id: id, Warnings: [] };
    } catch (e) {
      this.store.releaseName(fullName);
      throw e;
    }
  }

  /** `user` (an exec's, or the container's) resolved against the container's rootfs. */
  async userOf(c: ContainerRecord, user: string | undefined): Promise<ResolvedUser> {
    return resolveUserInRootfs(user, await this.images.rootfsMounts(c.ID));
  }

  private writeEtcFiles(c: ContainerRecord): void {
    const hc = c.HostConfig;
    const hostMode = hc.NetworkMode === 'host';
    const hostname = hostMode ? readFileSync('/etc/hostname', 'utf8').trim() : c.Config.Hostname!;
    writeFileSync(c.HostnamePath, `${hostname}\n`);
    let hosts = hostMode && existsSync('/etc/hosts') ? readFileSync('/etc/hosts', 'utf8') : '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';
    for (const h of hc.ExtraHosts ?? []) {
      const i = h.indexOf(':');
      hosts += `${h.slice(i + 1)}\t${h.slice(0, i)}\n`;
    }
    writeFileSync(c.HostsPath, hosts);
    let resolv = '';
    if (hc.Dns?.length || hc.DnsSearch?.length || hc.DnsOptions?.length) {
      for (const s of hc.Dns ?? []) resolv += `nameserver ${s}\n`;
      if (hc.DnsSearch?.length) resolv += `search ${hc.DnsSearch.join(' ')}\n`;
      if (hc.DnsOptions?.length) resolv += `options ${hc.DnsOptions.join(' ')}\n`;
    } else {
      try {
        resolv = readFileSync('/etc/resolv.conf', 'utf8');
      } catch {}
      // A loopback resolver on the host is unreachable from the container's namespace.
      if (!hostMode && /^nameserver\s+127\./m.test(resolv)) {
        resolv = resolv.replace(/^nameserver\s+127\..*$/gm, '').trim();
        if (!/^nameserver/m.test(resolv)) resolv += '\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n';
      }
    }
    writeFileSync(c.ResolvConfPath, resolv);
  }

  async start(ref: string): Promise<void> {
    const c = this.store.get(ref);
    if (c.State.Running) throw notModified();
    if (c.State.Status === 'removing') throw conflict(`container ${c.ID} is marked for removal and cannot be started`);
    await this.startTask(c);
  }

  private async startTask(c: ContainerRecord): Promise<void> {
    // A leftover task from an earlier run (exited but not deleted) goes first.
    await this.tasks.deleteTask(c.ID).catch(() => undefined);
    const live = this.liveOf(c.ID);
    let stdinPath: string | undefined;
    if (c.Config.OpenStdin) {
      stdinPath = join(this.store.dir(c.ID), 'init-stdin');
      rmSync(stdinPath, { force: true });
      await mkfifo(stdinPath);
    }
    const logOptions: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.HostConfig.LogConfig?.Config ?? {})) {
      if (k === 'max-size' || k === 'max-file') logOptions[k] = v;
    }
    let pid: number;
    try {
      const mounts = await this.images.rootfsMounts(c.ID);
      pid = await this.tasks.createTask(
        c.ID,
        { stdin: stdinPath, terminal: !!c.Config.Tty },
        { path: c.LogPath, options: logOptions },
        mounts,
      );
    } catch (e) {
      await this.startFailed(c, e);
      throw e;
    }
    if (stdinPath) this.connectStdin(c.ID, live, stdinPath);
    try {
      await this.network.setup(c, pid);
      await this.tasks.start(c.ID);
    } catch (e) {
      await this.tasks.kill(c.ID, 9, '', true).catch(() => {});
      await this.tasks.wait(c.ID).catch(() => {});
      await this.tasks.deleteTask(c.ID).catch(() => {});
      await this.network.teardown(c).catch(() => {});
      await this.startFailed(c, e);
      throw e;
    }
    Object.assign(c.State, {
      Status: 'running',
      Running: true,
      Paused: false,
      Restarting: false,
      Pid: pid,
      ExitCode: 0,
      Error: '',
      OOMKilled: false,
      StartedAt: isoNow(),
      FinishedAt: ZERO_TIME,
    });
    c.ManualStop = false;
    this.store.save(c);
    this.emit('container', 'start', c);
    this.watch(c);
  }

  /**
   * A start that failed ends the run as dockerd does: exit code 128 (127/126 when
   * the command is missing or not executable), waiters and attaches released, and
   * an auto-remove container removed.
   */
  private async startFailed(c: ContainerRecord, err: unknown): Promise<void> {
    const msg = (err as Error).message ?? String(err);
    c.State.Error = msg;
    c.State.ExitCode = /no such file|not found/i.test(msg) ? 127 : /permission denied/i.test(msg) ? 126 : 128;
    c.State.Status = c.State.StartedAt === ZERO_TIME ? 'created' : 'exited';
    c.State.FinishedAt = isoNow();
    this.store.save(c);
    const live = this.live.get(c.ID);
    live?.stdin?.destroy();
    live?.fifo?.destroy();
    this.live.delete(c.ID);
    live?.markExited();
    this.notify(c.ID, ['not-running', 'next-exit'], c.State.ExitCode, msg);
    // --rm takes the container's anonymous volumes with it, as dockerd's auto-remove does.
    if (c.HostConfig.AutoRemove) await this.remove(c.ID, { force: true, volumes: true }).catch(() => {});
  }

  /** Pipes the container's stdin into the FIFO the shim reads; its end becomes CloseIO. */
  private connectStdin(id: string, live: Live, path: string): void {
    live.fifo?.destroy();
    const fifo = openFifoWriter(path);
    fifo.on('error', () => {});
    live.fifo = fifo;
    live.stdin ??= new PassThrough();
    live.stdin.pipe(fifo);
    fifo.on('finish', () => {
      void fifoDrained(path)
        .then(() => this.tasks.closeStdin(id))
        .catch(() => {})
        .finally(() => fifo.destroy());
    });
  }

  /**
   * The kernel's OOM killer hit the container's memory cgroup (berth-shimd's
   * /tasks/oom, sent as the init exits): recorded in State.OOMKilled until the next
   * start, and reported as dockerd's `oom` event.
   */
  oomKilled(id: string): void {
    const c = this.store.find(id);
    if (!c) return;
    c.State.OOMKilled = true;
    this.store.save(c);
    this.emit('container', 'oom', c);
  }

  /** Follows the task until it exits, then records the exit. */
  private watch(c: ContainerRecord): void {
    this.tasks.wait(c.ID).then(
      (exit) => this.handleExit(c.ID, exit),
      (err) => {
        // shimd went away: the task may still run (live restore); reconnect() resumes.
        if ((err as DaemonError).kind === 'not-found') void this.handleExit(c.ID, { exitStatus: 255, exitedAt: isoNow() });
      },
    );
  }

  private async handleExit(id: string, exit: TaskExit): Promise<void> {
    const c = this.store.find(id);
    if (!c?.State.Running) return;
    const live = this.liveOf(id);
    let done!: () => void;
    live.handling = new Promise<void>((r) => {
      done = r;
    });
    try {
      await this.tasks.deleteTask(id).catch(() => undefined);
      await this.network.teardown(c).catch(() => {});
      live.stdin?.destroy();
      live.fifo?.destroy();
      Object.assign(c.State, {
        Status: 'exited',
        Running: false,
        Paused: false,
        Pid: 0,
        ExitCode: exit.exitStatus,
        FinishedAt: exit.exitedAt || isoNow(),
      });
      this.store.save(c);
      this.emit('container', 'die', c, { exitCode: String(exit.exitStatus) });
      this.live.delete(id);
      live.markExited();
      this.notify(id, ['not-running', 'next-exit'], exit.exitStatus);
      if (c.HostConfig.AutoRemove) {
        await this.drainHolds(id);
        await this.remove(c.ID, { force: true, volumes: true }).catch(() => {});
      } else if (this.shouldRestart(c)) {
        c.RestartCount++;
        c.State.Restarting = true;
        c.State.Status = 'restarting';
        this.store.save(c);
        const delay = Math.min(100 * 2 ** Math.min(c.RestartCount - 1, 10), 60_000);
        setTimeout(() => {
          const cur = this.store.find(id);
          if (!cur || cur.ManualStop || cur.State.Running) return;
          cur.State.Restarting = false;
          this.startTask(cur).catch((e) => {
            cur.State.Status = 'exited';
            cur.State.Error = (e as Error).message;
            this.store.save(cur);
          });
        }, delay).unref();
      }
    } finally {
      done();
      live.handling = undefined;
    }
  }

  private shouldRestart(c: ContainerRecord): boolean {
    if (c.ManualStop) return false;
    const p = c.HostConfig.RestartPolicy ?? {};
    switch (p.Name) {
      case 'always':
      case 'unless-stopped':
        return true;
      case 'on-failure':
        return c.State.ExitCode !== 0 && (!p.MaximumRetryCount || c.RestartCount < p.MaximumRetryCount);
      default:
        return false;
    }
  }

  private notify(id: string, conditions: WaitCondition[], code: number, err?: string): void {
    const list = this.waiters.get(id);
    if (!list) return;
    const keep = list.filter((w) => {
      if (!conditions.includes(w.condition)) return true;
      w.resolve(code, err);
      return false;
    });
    if (keep.length) this.waiters.set(id, keep);
    else this.waiters.delete(id);
  }

  /**
   * Registers a wait. Returns a promise of the exit code; validation (unknown
   * container, bad condition) throws synchronously so the API can answer an error
   * before it flushes the 200 headers.
   */
  wait(ref: string, condition: WaitCondition): Promise<{ code: number; error?: string }> {
    const c = this.store.get(ref);
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw invalid(`invalid condition: "${condition}"`);
    if (condition === 'not-running' && !c.State.Running && !c.State.Restarting) {
      return Promise.resolve({ code: c.State.ExitCode });
    }
    return new Promise((resolve) => {
      const list = this.waiters.get(c.ID) ?? [];
      list.push({ condition, resolve: (code, error) => resolve({ code, error }) });
      this.waiters.set(c.ID, list);
    });
  }

  async kill(ref: string, signal?: string): Promise<void> {
    const c = this.store.get(ref);
    if (!c.State.Running) throw conflict(`Cannot kill container: ${ref}: container ${c.ID} is not running`);
    const sig = parseSignal(signal, 9);
    if (sig === 9) await this.beforeKill(c);
    if (sig === 9 || sig === 15) c.ManualStop = c.HostConfig.RestartPolicy?.Name !== 'always' ? true : c.ManualStop;
    await this.tasks.kill(c.ID, sig, '', sig === 9);
    this.emit('container', 'kill', c, { signal: String(sig) });
    if (sig === 9) await this.waitExitHandled(c.ID, 10_000);
  }

  private async waitExitHandled(id: string, ms: number): Promise<boolean> {
    const l = this.live.get(id);
    if (!l) return true;
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      l.exited.then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), ms);
      }),
    ]);
    clearTimeout(timer);
    return ok;
  }

  async stop(ref: string, opts: { t?: number; signal?: string } = {}): Promise<void> {
    const c = this.store.get(ref);
    c.ManualStop = true;
    if (!c.State.Running) {
      if (c.State.Restarting) {
        c.State.Restarting = false;
        c.State.Status = 'exited';
        this.store.save(c);
        return;
      }
      this.store.save(c);
      throw notModified();
    }
    this.store.save(c);
    const sig = parseSignal(opts.signal ?? c.Config.StopSignal, 15);
    const t = opts.t ?? c.Config.StopTimeout ?? 10;
    await this.beforeKill(c);
    if (c.State.Paused) await this.tasks.resume(c.ID).catch(() => {});
    await this.tasks.kill(c.ID, sig, '', false).catch(() => {});
    this.emit('container', 'kill', c, { signal: String(sig) });
    if (t < 0 ? await this.waitExitHandled(c.ID, 2 ** 31 - 1) : await this.waitExitHandled(c.ID, t * 1000)) {
      this.emit('container', 'stop', c);
      return;
    }
    await this.tasks.kill(c.ID, 9, '', true).catch(() => {});
    this.emit('container', 'kill', c, { signal: '9' });
    await this.waitExitHandled(c.ID, 10_000);
    this.emit('container', 'stop', c);
  }

  async restart(ref: string, opts: { t?: number; signal?: string } = {}): Promise<void> {
    const c = this.store.get(ref);
    if (c.State.Running) await this.stop(ref, opts);
    await this.startTask(c);
    this.emit('container', 'restart', c);
  }

  async remove(ref: string, opts: { force: boolean; volumes: boolean }): Promise<void> {
    const c = this.store.get(ref);
    if (c.State.Status === 'removing' && !c.State.Running) return;
    if (c.State.Running || c.State.Restarting) {
      if (!opts.force) {
        throw conflict(
          `cannot remove container "${c.Name}": container is ${c.State.Paused ? 'paused' : 'running'}: stop the container before removing or force remove`,
        );
      }
      c.ManualStop = true;
      c.HostConfig.AutoRemove = false; // we are removing it ourselves
      if (c.State.Running) {
        await this.beforeKill(c);
        if (c.State.Paused) await this.tasks.resume(c.ID).catch(() => {});
        await this.tasks.kill(c.ID, 9, '', true).catch(() => {});
        this.emit('container', 'kill', c, { signal: '9' });
        if (!(await this.waitExitHandled(c.ID, 10_000))) throw new DaemonError('internal', `could not kill container ${c.ID}`);
      }
    }
    const previous = c.State.Status;
    c.State.Status = 'removing';
    try {
      await this.tasks.deleteTask(c.ID).catch(() => undefined);
      await this.tasks.deleteContainer(c.ID);
      await this.images.removeRootfs(c.ID);
    } catch (e) {
      c.State.Status = previous === 'removing' ? 'dead' : previous;
      this.store.save(c);
      throw e;
    }
    this.store.delete(c);
    this.live.delete(c.ID);
    for (const m of c.Mounts) {
      if (m.Type !== 'volume' || !m.Name) continue;
      const v = this.volumes.find(m.Name);
      if (opts.volumes && v?.Anonymous) this.volumes.remove(m.Name, true);
      else this.volumes.unmountIfUnused(m.Name);
    }
    this.emit('container', 'destroy', c);
    this.notify(c.ID, ['removed', 'not-running', 'next-exit'], c.State.ExitCode);
  }

  /**
   * docker update: new limits (and restart policy) into the record and the stored
   * spec, and, while it runs, into the task's cgroup through shimd's Tasks.Update.
   */
  async update(ref: string, body: UpdateRequest): Promise<{ Warnings: string[] }> {
    const c = this.store.get(ref);
    if (!body || typeof body !== 'object') throw invalid('update body must be a JSON object');
    const next: HostConfig = { ...c.HostConfig };
    for (const k of UPDATABLE) if (body[k] !== undefined && body[k] !== null) (next as Record<string, unknown>)[k] = body[k];
    // --cpus replaces a quota/period set before, and the other way round.
    if (body.NanoCpus) {
      next.CpuQuota = 0;
      next.CpuPeriod = 0;
    } else if (body.CpuQuota || body.CpuPeriod) next.NanoCpus = 0;
    if (body.Memory && !body.MemorySwap && c.HostConfig.MemorySwap && c.HostConfig.MemorySwap > 0 && body.Memory > c.HostConfig.MemorySwap) {
      throw conflict(`Cannot update container ${c.ID}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time`);
    }
    if (body.RestartPolicy?.Name !== undefined) {
      if (c.HostConfig.AutoRemove && body.RestartPolicy.Name && body.RestartPolicy.Name !== 'no') {
        throw invalid('Restart policy cannot be updated because AutoRemove is enabled for the container');
      }
      next.RestartPolicy = { Name: body.RestartPolicy.Name, MaximumRetryCount: body.RestartPolicy.MaximumRetryCount ?? 0 };
    }
    validateHostConfig({ ...next, PortBindings: null });
    if (next.PidsLimit !== undefined && next.PidsLimit !== null && next.PidsLimit < 0) next.PidsLimit = 0;
    const resources = resourcesOf(next);
    const spec = await this.tasks.getSpec(c.ID);
    spec.linux ??= {};
    spec.linux.resources = { devices: spec.linux.resources?.devices, ...resources };
    if (c.State.Running) await this.tasks.update(c.ID, resources);
    await this.tasks.updateSpec(c.ID, spec);
    c.HostConfig = next;
    this.store.save(c);
    this.emit('container', 'update', c);
    return { Warnings: [] };
  }

  /** Bytes in the container's writable layer (docker ps -s, system df). */
  async sizeRw(c: ContainerRecord): Promise<number> {
    try {
      return writableSize(await this.images.rootfsMounts(c.ID));
    } catch {
      return 0;
    }
  }

  /** docker diff: the container's writable layer against its image. */
  async changes(ref: string): Promise<Change[]> {
    const c = this.store.get(ref);
    return rootfsChanges(await this.images.rootfsMounts(c.ID));
  }

  /** docker export: a tar of the container's merged rootfs. */
  async export(ref: string, tmpDir: string): Promise<Readable> {
    const c = this.store.get(ref);
    const tar = await exportRootfs(await this.images.rootfsMounts(c.ID), tmpDir);
    this.emit('container', 'export', c);
    return tar;
  }

  async rename(ref: string, name: string): Promise<void> {
    const c = this.store.get(ref);
    if (!name) throw invalid('Neither old nor new names may be empty');
    const old = c.Name;
    const full = this.store.reserveName(name, c.ID);
    if (full === old) throw invalid(`Renaming a container with the same name as its current name`);
    this.store.releaseName(old);
    c.Name = full;
    this.store.save(c);
    this.emit('container', 'rename', c, { oldName: old });
  }

  async pause(ref: string): Promise<void> {
    const c = this.store.get(ref);
    if (!c.State.Running) throw conflict(`Container ${c.ID} is not running`);
    if (c.State.Paused) throw conflict(`Container ${c.ID} is already paused`);
    await this.tasks.pause(c.ID);
    c.State.Paused = true;
    c.State.Status = 'paused';
    this.store.save(c);
    this.emit('container', 'pause', c);
  }

  async unpause(ref: string): Promise<void> {
    const c = this.store.get(ref);
    if (!c.State.Paused) throw conflict(`Container ${c.ID} is not paused`);
    await this.tasks.resume(c.ID);
    c.State.Paused = false;
    c.State.Status = 'running';
    this.store.save(c);
    this.emit('container', 'unpause', c);
  }

  /** Where an attach writes the container's stdin (before or after start). */
  stdin(id: string): PassThrough | undefined {
    const c = this.store.find(id);
    if (!c?.Config.OpenStdin) return undefined;
    const live = this.liveOf(c.ID);
    live.stdin ??= new PassThrough();
    return live.stdin;
  }

  /** Ends the container's stdin (StdinOnce): once piped to the FIFO, the shim closes it. */
  closeStdin(id: string): void {
    this.live.get(id)?.stdin?.end();
  }

  async resize(ref: string, h: number, w: number): Promise<void> {
    const c = this.store.get(ref);
    if (!c.State.Running) throw conflict(`Container ${c.ID} is not running`);
    await this.tasks.resize(c.ID, undefined, w, h);
    this.emit('container', 'resize', c, { height: String(h), width: String(w) });
  }

  /** Records an event the API layer observed (attach, detach, archive-path, extract-to-dir). */
  note(c: ContainerRecord, action: string, extra?: Record<string, string>): void {
    this.emit('container', action, c, extra);
  }

  async top(ref: string): Promise<number[]> {
    const c = this.store.get(ref);
    if (!c.State.Running) throw conflict(`Container ${c.ID} is not running`);
    const pids = await this.tasks.pids(c.ID);
    this.emit('container', 'top', c);
    return pids;
  }

  async metrics(ref: string): Promise<any> {
    const c = this.store.get(ref);
    if (!c.State.Running) return undefined;
    return this.tasks.metrics(c.ID);
  }

  /**
   * After a berthd restart: reconcile records with shimd's tasks. Running tasks are
   * watched again; tasks that exited meanwhile are recorded as exited.
   */
  async restore(): Promise<void> {
    for (const c of this.store.load()) {
      if (c.State.Status === 'removing') {
        await this.remove(c.ID, { force: true, volumes: false }).catch(() => {});
        continue;
      }
      if (!c.State.Running && !c.State.Restarting) continue;
      let st: Awaited<ReturnType<TaskService['state']>>;
      try {
        st = await this.tasks.state(c.ID);
      } catch (e) {
        // shimd did not answer: keep the record as it is; the watch retries.
        process.stderr.write(`berthd: restoring ${c.ID}: ${(e as Error).message}\n`);
        this.watch(c);
        continue;
      }
      if (st && (st.status === 'RUNNING' || st.status === 'PAUSED' || st.status === 'CREATED' || st.status === 'PAUSING')) {
        c.State.Pid = st.pid;
        c.State.Paused = st.status === 'PAUSED';
        c.State.Status = c.State.Paused ? 'paused' : 'running';
        c.State.Running = true;
        this.store.save(c);
        if (c.Config.OpenStdin) {
          const p = join(this.store.dir(c.ID), 'init-stdin');
          if (existsSync(p)) this.connectStdin(c.ID, this.liveOf(c.ID), p);
        }
        // stop/kill wait on the run's exit handling (network teardown included).
        this.liveOf(c.ID);
        this.watch(c);
      } else {
        if (process.env.BERTHD_DEBUG) process.stderr.write(`berthd: restoring ${c.ID}: task ${JSON.stringify(st)}\n`);
        c.State.Running = true; // so handleExit records it
        await this.handleExit(c.ID, { exitStatus: st?.exitStatus ?? 255, exitedAt: isoNow() });
      }
    }
    await this.network.sweep?.(this.store.all().filter((c) => c.State.Running || c.State.Paused).map((c) => c.ID));
    // As dockerd does at start: `always` containers come back even after docker stop,
    // unless-stopped and on-failure ones only when nobody stopped them.
    for (const c of this.store.all()) {
      if (c.State.Status !== 'exited' || c.State.StartedAt === ZERO_TIME || !this.restartsOnBoot(c)) continue;
      await this.startTask(c).catch((e) => process.stderr.write(`berthd: restarting ${c.ID}: ${(e as Error).message}\n`));
    }
  }

  private restartsOnBoot(c: ContainerRecord): boolean {
    const p = c.HostConfig.RestartPolicy ?? {};
    if (p.Name === 'always') return true;
    if (c.ManualStop) return false;
    if (p.Name === 'unless-stopped') return true;
    return p.Name === 'on-failure' && c.State.ExitCode !== 0 && (!p.MaximumRetryCount || c.RestartCount < p.MaximumRetryCount);
  }
}

function validateHostConfig(hc: HostConfig): void {
  for (const [port, bindings] of Object.entries(hc.PortBindings ?? {})) {
    const m = /^([0-9]+)(?:-([0-9]+))?(?:\/(tcp|udp|sctp))?$/.exec(port);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw invalid(`invalid port specification: "${port}"`);
    for (const b of bindings ?? []) {
      if (b.HostPort && !/^[0-9]+(-[0-9]+)?$/.test(b.HostPort)) throw invalid(`invalid port specification: "${b.HostPort}"`);
      if (b.HostPort && Number(b.HostPort.split('-')[0]) > 65535) throw invalid(`invalid port specification: "${b.HostPort}"`);
    }
  }
  const rp = hc.RestartPolicy?.Name ?? '';
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(rp)) throw invalid(`invalid restart policy: unknown policy '${rp}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  if (rp && rp !== 'no' && hc.AutoRemove) throw invalid("can't create 'AutoRemove' container with restart policy");
  if (hc.RestartPolicy?.MaximumRetryCount && rp !== 'on-failure') {
    throw invalid(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  }
  if (hc.Memory && hc.Memory < 6 * 1024 * 1024) throw invalid('Minimum memory limit allowed is 6MB');
  if (hc.MemorySwap && hc.MemorySwap > 0 && hc.Memory && hc.MemorySwap < hc.Memory) {
    throw invalid('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (hc.LogConfig?.Type && hc.LogConfig.Type !== 'json-file') {
    throw invalid(`logging driver "${hc.LogConfig.Type}" is not supported: berthd writes json-file logs only`);
  }
}

function mergeConfig(body: CreateRequest, img: ImageRunConfig): ContainerConfig {
  const { HostConfig: _h, NetworkingConfig: _n, ...config } = body;
  const out: ContainerConfig = { ...config };
  out.Env = mergeEnv(img.Env, config.Env ?? []);
  if (!config.Entrypoint?.length && config.Entrypoint !== null) out.Entrypoint = img.Entrypoint ?? null;
  else if (config.Entrypoint === null) out.Entrypoint = img.Entrypoint ?? null;
  // An explicit entrypoint discards the image's Cmd, as Docker does.
  const explicitEntry = !!config.Entrypoint?.length;
  if (!config.Cmd?.length) out.Cmd = explicitEntry ? null : (img.Cmd ?? null);
  if (config.Entrypoint && config.Entrypoint.length === 1 && config.Entrypoint[0] === '') out.Entrypoint = null;
  out.WorkingDir = config.WorkingDir || img.WorkingDir || '';
  out.User = config.User || img.User || '';
  out.Labels = { ...(img.Labels ?? {}), ...(config.Labels ?? {}) };
  out.ExposedPorts = { ...(img.ExposedPorts ?? {}), ...(config.ExposedPorts ?? {}) };
  out.Volumes = { ...(img.Volumes ?? {}), ...(config.Volumes ?? {}) };
  out.StopSignal = config.StopSignal || img.StopSignal;
  out.Healthcheck = config.Healthcheck ?? img.Healthcheck;
  return out;
}
