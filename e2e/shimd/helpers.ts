// Starts a real berth-shimd on temp dirs for a test file, and gives promise-based
// clients of its API. Every id is prefixed `shimd-` and every path comes from mkdtemp.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { grpc, grpcTarget, namespaceMetadata, shimdApi } from '../../proto/src/index.js';
import { defaultConfig, fixtures } from '../fixtures/index.js';
import { bins } from '../helpers.js';

/**
 * The runtime of the single-runtime suites: BERTH_SHIMD_RUNTIME (runc, crun,
 * berth-runtime or a path), else berth-runtime, berth-shimd's default.
 */
export const runtime = resolveName(process.env.BERTH_SHIMD_RUNTIME || 'berth-runtime');

/**
 * Runtimes the lifecycle, api, bad-input and restart suites loop over:
 * BERTH_SHIMD_RUNTIMES (comma list), else berth-runtime and runc (the peer), so a
 * difference between them shows up as a failure of one.
 */
export const runtimes: string[] = (process.env.BERTH_SHIMD_RUNTIMES || 'berth-runtime,runc')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
  .map(resolveName);

function resolveName(r: string): string {
  return r === 'berth-runtime' ? bins.runtime : r;
}

/** A runtime's short name for test titles: berth-runtime, runc, crun. */
export function runtimeName(rt: string): string {
  return rt === bins.runtime ? 'berth-runtime' : (rt.split('/').pop() ?? rt);
}

export const isBerthRuntime = (rt: string): boolean => rt === bins.runtime;

export interface Shimd {
  dir: string;
  address: string;
  root: string;
  state: string;
  proc: ChildProcess;
  /** Starts (again) on the same dirs. */
  start(): Promise<void>;
  /** kill -9, as a crash. */
  crash(): Promise<void>;
  stop(): Promise<void>;
  client(namespace?: string): Client;
}

export type Call = <T = any>(method: string, req?: object) => Promise<T>;

export interface Client {
  namespaces: Call;
  containers: Call;
  tasks: Call;
  events: Call;
  subscribe(req?: object): { events: any[]; next(topic: string, pred?: (e: any) => boolean): Promise<any>; close(): void };
  close(): void;
}

let seq = 0;
export function uid(prefix = 'shimd'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq++}`;
}

function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) resolve();
      else if (Date.now() > until) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

export async function startShimd(rt = runtime): Promise<Shimd> {
  const dir = mkdtempSync(join(tmpdir(), 'shimd-e2e-'));
  const s: Shimd = {
    dir,
    address: join(dir, 'shimd.sock'),
    root: join(dir, 'root'),
    state: join(dir, 'state'),
    proc: undefined as unknown as ChildProcess,
    async start() {
      rmSync(s.address, { force: true });
      const p = spawn(process.execPath, [bins.shimd, '--address', s.address, '--root', s.root, '--state', s.state, '--runtime', rt], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      p.stderr!.on('data', (d) => {
        err += d;
      });
      s.proc = p;
      await waitFor(() => existsSync(s.address) || p.exitCode !== null, 15000, 'berth-shimd socket');
      if (p.exitCode !== null) throw new Error(`berth-shimd exited: ${err}`);
    },
    async crash() {
      const p = s.proc;
      if (p.exitCode === null) {
        p.kill('SIGKILL');
        await new Promise((r) => p.once('exit', r));
      }
    },
    async stop() {
      await s.crash();
    },
    client(namespace = 'default') {
      return makeClient(s.address, namespace);
    },
  };
  await s.start();
  return s;
}

export function makeClient(address: string, namespace: string): Client {
  const api = shimdApi();
  const target = grpcTarget(address);
  const creds = grpc.credentials.createInsecure();
  const md = namespaceMetadata(namespace);
  const clients: grpc.Client[] = [];
  const mk = (Ctor: grpc.ServiceClientConstructor): [Call, any] => {
    const c = new Ctor(target, creds) as any;
    clients.push(c);
    return [
      (method, req = {}) =>
        new Promise((resolve, reject) => c[method](req, md, (e: any, r: any) => (e ? reject(e) : resolve(r)))),
      c,
    ];
  };
  const [events, eventsRaw] = mk(api.Events);
  return {
    namespaces: mk(api.Namespaces)[0],
    containers: mk(api.Containers)[0],
    tasks: mk(api.Tasks)[0],
    events,
    subscribe(req = {}) {
      const stream = eventsRaw.Subscribe(req, md);
      const got: any[] = [];
      const waiters: (() => void)[] = [];
      stream.on('data', (e: any) => {
        got.push({ ...e, event: JSON.parse(e.event) });
        for (const w of waiters.splice(0)) w();
      });
      stream.on('error', () => {});
      return {
        events: got,
        next(topic, pred = () => true) {
          return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no ${topic} event; got ${got.map((e) => e.topic).join(', ')}`)), 20000);
            const check = () => {
              const e = got.find((x) => x.topic === topic && pred(x.event));
              if (e) {
                clearTimeout(timer);
                resolve(e);
              } else waiters.push(check);
            };
            check();
          });
        },
        close: () => stream.cancel(),
      };
    },
    close() {
      for (const c of clients) c.close();
    },
  };
}

/** A container spec around the cached busybox rootfs (read-only, shared by all tests). */
export function specFor(args: string[], edit?: (cfg: any) => void): string {
  const cfg = defaultConfig(args);
  cfg.root = { path: fixtures().rootfs, readonly: true };
  edit?.(cfg);
  return JSON.stringify(cfg);
}

/** A rootfs mount list: the busybox rootfs bind-mounted read-only by shimd. */
export function rootfsMounts(): object[] {
  return [{ type: 'bind', source: fixtures().rootfs, target: '', options: ['rbind', 'ro'] }];
}

export function mkfifo(dir: string, name: string): string {
  const p = join(dir, name);
  execFileSync('mkfifo', [p]);
  return p;
}

/** Processes whose command line mentions `needle` (to prove nothing was left running). */
export function processesMatching(needle: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) out.push(Number(pid));
    } catch {}
  }
  return out;
}

export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(dir));
}

export function cgroupExists(ns: string, id: string): boolean {
  return ['memory', 'pids', 'cpu,cpuacct', 'freezer', 'unified'].some((c) => existsSync(`/sys/fs/cgroup/${c}/berth/${ns}/${id}`));
}

/** Removes what a test's shimd left (after stopping it): containers it ran, mounts, dirs. */
export async function cleanupShimd(s: Shimd | undefined): Promise<void> {
  if (!s) return;
  // Containers still running from this shimd's shims: kill them by their shims' process groups.
  for (const pid of processesMatching(s.state)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  await s.stop().catch(() => {});
  for (const m of mountsUnder(s.dir).reverse()) {
    try {
      execFileSync('umount', ['-l', m]);
    } catch {}
  }
  // Runtime state of containers whose shims we killed.
  const tasksDir = join(s.state, 'tasks');
  if (existsSync(tasksDir)) {
    for (const ns of readdirSync(tasksDir)) {
      for (const id of readdirSync(join(tasksDir, ns))) {
        const rt = join(tasksDir, ns, id, 'runtime-root');
        try {
          const rec = JSON.parse(readFileSync(join(tasksDir, ns, id, 'task.json'), 'utf8'));
          execFileSync(rec.runtime, ['--root', rt, 'delete', '--force', id], { stdio: 'ignore' });
        } catch {}
      }
    }
  }
  rmSync(s.dir, { recursive: true, force: true });
}
