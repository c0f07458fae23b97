// The e2e suite for the berth CLI: a real berth-shimd and berthd on temp dirs, the
// bundled berth binary, and the docker CLI (28.x) as the reference client against
// the same daemon. Every name is prefixed `cli-` and every path comes from mkdtemp.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bins } from '../helpers.js';

export const DOCKER = '/usr/local/bin/docker';

export interface Result {
  status: number;
  out: string;
  err: string;
}

export interface Daemon {
  dir: string;
  host: string;
  berth(args: string[], opts?: { input?: string | Buffer; env?: NodeJS.ProcessEnv }): Promise<Result>;
  docker(args: string[]): Promise<Result>;
  /** Whether berthd and berth-shimd are both still running. */
  alive(): boolean;
  /** Their stderr so far. */
  log(): string;
  stop(): Promise<void>;
}

let seq = 0;
export function uid(prefix = 'cli'): string {
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

export function exec(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string | Buffer } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env: opts.env, maxBuffer: 64 << 20, encoding: 'buffer' }, (error, stdout, stderr) => {
      const status = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ status, out: stdout.toString(), err: stderr.toString() });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Runs the bundled berth with the given environment (no daemon needed). */
export function berthBin(args: string[], env: NodeJS.ProcessEnv = process.env, input?: string): Promise<Result> {
  return exec(process.execPath, [bins.cli, ...args], { env, input });
}

function spawnLogged(args: string[], log: string[]): ChildProcess {
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr?.on('data', (d) => log.push(String(d)));
  return p;
}

async function kill(p: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill(signal);
  await new Promise((r) => p.once('exit', r));
}

function processTable(): Array<{ pid: number; ppid: number; cmd: string[] }> {
  const out = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const ppid = Number(readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      out.push({ pid: Number(p), ppid, cmd: readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0') });
    } catch {}
  }
  return out;
}

/** Kills the shims serving containers under `dir` and everything below them, and removes their cgroups. */
function reapShims(dir: string): void {
  const table = processTable();
  const shims = table.filter((p) => p.cmd.some((a) => a.startsWith(dir)) && p.cmd.some((a) => a.endsWith('berth-shim.cjs')));
  const ids: string[] = [];
  for (const shim of shims) {
    const i = shim.cmd.indexOf('--id');
    if (i >= 0) ids.push(shim.cmd[i + 1]);
    const queue = [shim.pid];
    const all: number[] = [];
    while (queue.length) {
      const p = queue.shift() as number;
      all.push(p);
      for (const c of table.filter((x) => x.ppid === p)) queue.push(c.pid);
    }
    for (const p of all.reverse()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {}
    }
  }
  if (ids.length === 0) return;
  spawnSync('sleep', ['0.2']);
  for (const controller of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    for (const id of ids) {
      const cg = join('/sys/fs/cgroup', controller, 'berth', id);
      try {
        if (existsSync(cg)) rmdirSync(cg);
      } catch {}
    }
  }
}

/** Starts berth-shimd (driving runc) and berthd on a fresh temp dir. */
export async function startDaemon(): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'cli-e2e-'));
  const log: string[] = [];
  const shimdSock = join(dir, 'shimd.sock');
  const sock = join(dir, 'berthd.sock');
  const shimd = spawnLogged([bins.shimd, '--address', shimdSock, '--root', join(dir, 'shimd-root'), '--state', join(dir, 'shimd-state'), '--runtime', 'runc'], log);
  let daemon: ChildProcess | undefined;
  const host = `unix://${sock}`;
  const env = { ...process.env, BERTH_HOST: host, DOCKER_HOST: host, HOME: dir, DOCKER_CONFIG: join(dir, 'docker-config'), BERTH_CONFIG: join(dir, 'berth-config') };
  const d: Daemon = {
    dir,
    host,
    berth: (args, opts = {}) => exec(process.execPath, [bins.cli, ...args], { env: { ...env, ...opts.env }, input: opts.input }),
    docker: (args) => exec(DOCKER, args, { env }),
    alive: () => [shimd, daemon].every((p) => p !== undefined && p.exitCode === null && p.signalCode === null),
    log: () => log.join(''),
    async stop() {
      try {
        // Leave nothing behind: containers first (they hold snapshots), then the daemons.
        const ids = (await d.berth(['ps', '-aq', '--no-trunc'])).out.split('\n').filter(Boolean);
        if (ids.length) await d.berth(['rm', '-f', ...ids]);
      } finally {
        if (daemon) await kill(daemon, 'SIGTERM');
        await kill(shimd, 'SIGTERM');
        // If a daemon died, shims (which outlive shimd by design) and containers remain.
        reapShims(dir);
        for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n').reverse()) {
          const target = line.split(' ')[1];
          if (target?.startsWith(dir)) spawnSync('umount', ['-l', target]);
        }
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    await waitFor(() => existsSync(shimdSock) || shimd.exitCode !== null, 15000, 'berth-shimd socket');
    if (shimd.exitCode !== null) throw new Error(`berth-shimd exited: ${log.join('')}`);
    daemon = spawnLogged([bins.daemon, '-H', host, '--data-root', join(dir, 'data'), '--shimd-address', shimdSock], log);
    await waitFor(() => existsSync(sock) || daemon?.exitCode !== null, 15000, 'berthd socket');
    if (daemon.exitCode !== null) throw new Error(`berthd exited: ${log.join('')}`);
  } catch (e) {
    await d.stop();
    throw e;
  }
  return d;
}

/** Whether this berthd can run a container yet (start is still being built). */
export async function canRunContainers(d: Daemon): Promise<boolean> {
  const r = await d.berth(['run', '--rm', 'busybox', 'true']);
  return r.status === 0;
}

/** Column values with the times blanked, for comparing two clients' output of one moment. */
export function lines(text: string): string[] {
  return text.split('\n');
}

/**
 * Runs a test body; if it fails and berthd or berth-shimd died under it, the failure
 * carries the end of the daemon's log, since a crash of a lower layer is the real cause.
 */
export async function guarded(d: Daemon, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (!d.alive()) throw new Error(`a daemon died during the test: ${d.log().slice(-600)}`, { cause: e });
    throw e;
  }
}
