// Healthchecks as dockerd runs them: a probe exec every Interval (StartInterval
// during StartPeriod) with a Timeout; Retries consecutive failures after the start
// period make the container unhealthy, one success makes it healthy. The last five
// results (output capped at 4096 bytes) are kept in State.Health.Log.
import { invalid } from '../errors.js';
import type { ContainerRecord, HealthConfig } from '../containers/model.js';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** What a probe needs: run a command in the container, capture its output, kill it on timeout. */
export interface ProbeRunner {
  run(containerId: string, cmd: string[], timeoutMs: number): Promise<{ exitCode: number; output: string; timedOut: boolean }>;
}

export interface HealthDeps {
  find(id: string): ContainerRecord | undefined;
  save(c: ContainerRecord): void;
  runner: ProbeRunner;
  emit(action: string, c: ContainerRecord): void;
}

const MS = 1_000_000; // Docker's durations are nanoseconds
const MAX_LOG = 5;
const MAX_OUTPUT = 4096;
const MIN_DURATION_NS = MS; // 1ms, as the API demands

export interface HealthSettings {
  interval: number;
  timeout: number;
  retries: number;
  startPeriod: number;
  startInterval: number;
}

/** Docker's defaults: 30s interval and timeout, 3 retries, no start period, 5s start interval. */
export function settings(h: HealthConfig & { StartInterval?: number }): HealthSettings {
  return {
    interval: h.Interval ? h.Interval / MS : 30_000,
    timeout: h.Timeout ? h.Timeout / MS : 30_000,
    retries: h.Retries && h.Retries > 0 ? h.Retries : 3,
    startPeriod: h.StartPeriod ? h.StartPeriod / MS : 0,
    startInterval: h.StartInterval ? h.StartInterval / MS : 5_000,
  };
}

/** The probe's argv, or undefined when there is no check (none configured, or NONE). */
export function probeCommand(test: string[] | undefined): string[] | undefined {
  if (!test?.length || test[0] === '' || test[0] === 'NONE') return undefined;
  if (test[0] === 'CMD') return test.length > 1 ? test.slice(1) : undefined;
  if (test[0] === 'CMD-SHELL') return ['/bin/sh', '-c', test.slice(1).join(' ')];
  return undefined;
}

/** Create-time checks with the API's messages. */
export function validateHealthcheck(h: (HealthConfig & { StartInterval?: number }) | undefined): void {
  if (!h) return;
  const t = h.Test ?? [];
  if (t.length && !['', 'NONE', 'CMD', 'CMD-SHELL'].includes(t[0]!)) {
    throw invalid(`unknown healthcheck type: "${t[0]}" (Test must start with NONE, CMD or CMD-SHELL)`);
  }
  if ((t[0] === 'CMD' || t[0] === 'CMD-SHELL') && t.length < 2) throw invalid('Healthcheck Test needs a command after ' + t[0]);
  for (const [k, v] of [
    ['Interval', h.Interval],
    ['Timeout', h.Timeout],
    ['StartPeriod', h.StartPeriod],
    ['StartInterval', h.StartInterval],
  ] as const) {
    if (v !== undefined && v !== 0 && v < MIN_DURATION_NS) throw invalid(`${k} in Healthcheck cannot be less than 1ms`);
  }
  if (h.Retries !== undefined && h.Retries < 0) throw invalid('Retries in Healthcheck cannot be negative');
}

interface Running {
  timer?: NodeJS.Timeout;
  /** The probe under way, if any. */
  inflight?: Promise<void>;
  stopped: boolean;
  startedAt: number;
}

export class HealthMonitor {
  private readonly running = new Map<string, Running>();

  constructor(private readonly deps: HealthDeps) {}

  /** A run started (or was found running after a restart): health starts over. */
  start(c: ContainerRecord): void {
    this.stop(c.ID);
    if (!probeCommand(c.Config.Healthcheck?.Test)) {
      if (c.State.Health) {
        delete c.State.Health;
        this.deps.save(c);
      }
      return;
    }
    c.State.Health = { Status: 'starting', FailingStreak: 0, Log: c.State.Health?.Log ?? [] };
    this.deps.save(c);
    const r: Running = { stopped: false, startedAt: Date.parse(c.State.StartedAt) || Date.now() };
    this.running.set(c.ID, r);
    this.schedule(c.ID, r, true);
  }

  stop(id: string): void {
    const r = this.running.get(id);
    if (!r) return;
    r.stopped = true;
    clearTimeout(r.timer);
    this.running.delete(id);
  }

  /**
   * Stops probing before the container is killed and waits (bounded) for a probe
   * under way: an exec racing the init's death can leave the task unkillable.
   */
  async halt(id: string): Promise<void> {
    const inflight = this.running.get(id)?.inflight;
    this.stop(id);
    if (inflight) await Promise.race([inflight, new Promise((r) => setTimeout(r, 3000).unref())]);
  }

  stopAll(): void {
    for (const id of [...this.running.keys()]) this.stop(id);
  }

  /** The first probe comes after Interval; later ones after StartInterval while still starting within StartPeriod. */
  private schedule(id: string, r: Running, first = false): void {
    const c = this.deps.find(id);
    if (!c?.Config.Healthcheck || r.stopped) return;
    const s = settings(c.Config.Healthcheck);
    const inStart = !first && c.State.Health?.Status === 'starting' && Date.now() - r.startedAt < s.startPeriod;
    r.timer = setTimeout(
      () => {
        r.inflight = this.probe(id, r).finally(() => {
          r.inflight = undefined;
          this.schedule(id, r);
        });
      },
      inStart ? s.startInterval : s.interval,
    );
    r.timer.unref();
  }

  private async probe(id: string, r: Running): Promise<void> {
    const c = this.deps.find(id);
    if (!c?.State.Running || c.State.Paused || r.stopped) return;
    const cmd = probeCommand(c.Config.Healthcheck?.Test);
    if (!cmd) return;
    const s = settings(c.Config.Healthcheck!);
    const start = new Date().toISOString();
    let exitCode: number;
    let output: string;
    try {
      const res = await this.deps.runner.run(id, cmd, s.timeout);
      exitCode = res.timedOut ? -1 : res.exitCode;
      output = res.timedOut ? `Health check exceeded timeout (${s.timeout / 1000}s)` : res.output;
    } catch (e) {
      exitCode = -1;
      output = (e as Error).message;
    }
    const cur = this.deps.find(id);
    if (r.stopped || !cur?.State.Running || !cur.State.Health) return;
    const health = cur.State.Health;
    const before = health.Status;
    (health.Log as HealthLogEntry[]).push({ Start: start, End: new Date().toISOString(), ExitCode: exitCode, Output: output.slice(0, MAX_OUTPUT) });
    while (health.Log.length > MAX_LOG) health.Log.shift();
    if (exitCode === 0) {
      health.Status = 'healthy';
      health.FailingStreak = 0;
    } else if (Date.now() - r.startedAt >= s.startPeriod || health.Status !== 'starting') {
      // Failures inside the start period do not count while the container is still starting.
      health.FailingStreak++;
      if (health.FailingStreak >= s.retries) health.Status = 'unhealthy';
    }
    this.deps.save(cur);
    if (health.Status !== before) this.deps.emit(`health_status: ${health.Status}`, cur);
  }
}
