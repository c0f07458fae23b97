// Helpers for the drop-in suites: berth-runtime installed the way a real consumer
// (containerd, dockerd, podman) finds it — an executable path with an absolute-node
// shebang, since those daemons run the runtime with a minimal PATH — plus daemons
// started on private temp dirs and stopped by PID, and checks that nothing is left.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; stdin is empty unless `input` is given. */
export function run(cmd: string, args: string[], opts: { input?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {}): Result {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input ?? '', timeout: opts.timeout ?? 60_000, env: opts.env ?? process.env });
  if (r.error) throw r.error;
  return { status: r.status ?? (r.signal ? 128 : null), stdout: r.stdout, stderr: r.stderr };
}

/** Runs `cmdline` under script(1), so the command gets a real terminal as its stdin/stdout. */
export function inTerminal(cmdline: string, env?: NodeJS.ProcessEnv): Result {
  // -e returns the child's exit status; the typescript file is /dev/null.
  return run('script', ['-qec', cmdline, '/dev/null'], { env });
}

/** A shell word: single-quoted, for building script(1) command lines. */
export function sh(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** Whether `name` is an executable on PATH (or an existing absolute path). */
export function which(name: string): string | undefined {
  if (name.startsWith('/')) return existsSync(name) ? name : undefined;
  const r = spawnSync('sh', ['-c', `command -v ${sh(name)}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

export const canRunDropin = isRoot && !!which('script');

/** A private temp dir; the caller removes it. */
export function tempDir(area: string): string {
  return mkdtempSync(join(tmpdir(), `dropin-${area}-`));
}

export function uniqueId(area: string): string {
  return `dropin-${area}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export interface InstalledRuntime {
  /** The executable a consumer is given (`--runc-binary`, `--add-runtime`, `--runtime`). */
  path: string;
  /** berth-runtime or the peer's name (BERTH_DROPIN_RUNTIME=runc runs the suites against runc). */
  name: string;
  isBerth: boolean;
  remove(): void;
}

/**
 * The runtime under test as a consumer sees it. BERTH_DROPIN_RUNTIME names another
 * executable (runc, crun, or an installed berth-runtime) to run the same suite
 * against; otherwise the built bundles are installed with scripts/install-bins.sh
 * under a temp PREFIX and bin/berth-runtime is used.
 */
export function installRuntime(): InstalledRuntime {
  const chosen = process.env.BERTH_DROPIN_RUNTIME;
  if (chosen) {
    const path = which(chosen);
    if (!path) throw new Error(`BERTH_DROPIN_RUNTIME=${chosen} is not an executable`);
    const name = path.split('/').pop() ?? path;
    return { path, name, isBerth: name.startsWith('berth-runtime'), remove() {} };
  }
  const prefix = tempDir('prefix');
  // World-traversable like /usr/local: with a user namespace the stage runs as the
  // container's mapped root, which must still reach the runtime's own files.
  chmodSync(prefix, 0o755);
  const r = run('bash', [join(repoRoot, 'scripts', 'install-bins.sh')], { env: { ...process.env, PREFIX: prefix } });
  if (r.status !== 0) {
    rmSync(prefix, { recursive: true, force: true });
    throw new Error(`install-bins.sh failed (run pnpm build first): ${r.stderr}`);
  }
  return {
    path: join(prefix, 'bin', 'berth-runtime'),
    name: 'berth-runtime',
    isBerth: true,
    remove: () => rmSync(prefix, { recursive: true, force: true }),
  };
}

export function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      let ok = false;
      try {
        ok = cond();
      } catch {}
      if (ok) resolve();
      else if (Date.now() > until) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 50);
    };
    tick();
  });
}

export interface Daemon {
  proc: ChildProcess;
  pid: number;
  log: string;
  /** SIGTERM by PID, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts a long-running daemon with its output in a file (not a pipe: the shims it
 * spawns inherit its stdio and would hold a pipe open after it exits).
 */
export async function startDaemon(cmd: string, args: string[], log: string, ready: () => boolean, what: string, env?: NodeJS.ProcessEnv): Promise<Daemon> {
  const fd = openSync(log, 'a');
  const proc = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: env ?? process.env });
  closeSync(fd);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const pid = proc.pid;
  if (!pid) throw new Error(`${what} did not start`);
  const d: Daemon = {
    proc,
    pid,
    log,
    async stop(graceMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      process.kill(pid, 'SIGTERM');
      const timer = new Promise<boolean>((r) => setTimeout(() => r(false), graceMs));
      if (!(await Promise.race([exited.then(() => true), timer]))) {
        process.kill(pid, 'SIGKILL');
        await exited;
      }
    },
  };
  try {
    await waitFor(() => proc.exitCode !== null || ready(), 30_000, what);
  } catch (e) {
    await d.stop(2000);
    throw e;
  }
  if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}: ${tail(log)}`);
  return d;
}


/** A containerd on its own root, state and sockets under `dir` (no CRI), serving ctr at `<dir>/containerd.sock`. */
export async function startContainerd(dir: string, env?: NodeJS.ProcessEnv): Promise<{ daemon: Daemon; address: string }> {
  const address = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      // CRI wants CNI and a sandbox image; ctr needs none of it.
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${address}.ttrpc"`,
      '[debug]',
      `  address = "${join(dir, 'debug.sock')}"`,
      '',
    ].join('\n'),
  );
  const ready = () => run('ctr', ['-a', address, 'version'], { timeout: 5000 }).status === 0;
  const daemon = await startDaemon('containerd', ['--config', config], join(dir, 'containerd.log'), ready, 'containerd', env);
  return { daemon, address };
}
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** PIDs whose command line mentions `needle` (shims carry their daemon's socket path). */
export function processesMatching(needle: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) out.push(Number(pid));
    } catch {}
  }
  return out;
}

/** Mount points at or below `dir` (from /proc/self/mountinfo), deepest first. */
export function mountsUnder(dir: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4].replace(/\\040/g, ' '))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** cgroup directories named `name` directly under any v1 controller or the v2 mount. */
export function cgroupDirs(name: string): string[] {
  const found: string[] = [];
  const roots = ['/sys/fs/cgroup'];
  for (const e of readdirSync('/sys/fs/cgroup')) roots.push(join('/sys/fs/cgroup', e));
  for (const r of roots) {
    const p = join(r, name);
    if (existsSync(join(p, 'cgroup.procs'))) found.push(p);
  }
  return found;
}

/**
 * Last-resort cleanup after a suite: kill leftover processes by PID, lazily
 * unmount what is left under `dir`, remove empty cgroup dirs the consumer made,
 * and remove `dir`. Returns what had to be cleaned (a passing suite leaves none).
 */
export function sweep(dir: string, needle: string, cgroupNames: string[] = []): string[] {
  const left: string[] = [];
  for (const pid of processesMatching(needle)) {
    left.push(`process ${pid}`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  for (const m of mountsUnder(dir)) {
    left.push(`mount ${m}`);
    spawnSync('umount', ['-l', m]);
  }
  for (const name of cgroupNames) {
    for (const cg of cgroupDirs(name)) {
      // Children first; rmdir only succeeds on an empty cgroup, which is the point.
      const r = spawnSync('sh', ['-c', `find ${sh(cg)} -depth -type d -exec rmdir {} + 2>/dev/null`]);
      if (existsSync(cg) && r.status !== 0) left.push(`cgroup ${cg}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return left;
}
