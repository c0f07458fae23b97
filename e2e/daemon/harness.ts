// Runs berth-shimd and berthd on private sockets and directories for one test file,
// and the real docker CLI against them. stop() leaves nothing behind: containers
// are removed through the API, both daemons are stopped by PID, stray mounts under
// the temp dir are detached and the dir is deleted.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { bins, runtimeUnderTest } from '../helpers.js';

export const DOCKER = '/usr/local/bin/docker';

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Env {
  dir: string;
  bridge: string;
  subnet: string;
  sock: string;
  docker(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): Promise<Result>;
  /** Restarts berthd only (state on disk and in shimd stays). */
  restartDaemon(signal?: NodeJS.Signals): Promise<void>;
  /** Stops berthd and berth-shimd together, then starts both (live restore). */
  restartAll(signal?: NodeJS.Signals): Promise<void>;
  /** Stops berthd and leaves it down until startDaemon(). */
  stopDaemon(signal?: NodeJS.Signals): Promise<void>;
  startDaemon(): Promise<void>;
  /** berthd's pid, for memory figures. */
  daemonPid(): number | undefined;
  logs(): string;
  stop(): Promise<void>;
}

/** One Engine API call on berthd's socket: status and decoded JSON body. */
export function api(sock: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request({ socketPath: sock, method, path, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: any;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

let seq = 0;
/** A name unique to this process and call, prefixed with the area. */
export function uid(prefix = 'daemon'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq++}`;
}

function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() > until) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 25);
    };
    tick();
  });
}

function stopProcess(p: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill(signal);
  });
}

export interface EnvOptions {
  /** More berthd flags (e.g. another --host with TLS). */
  daemonArgs?: string[];
}

export async function startEnv(opts: EnvOptions = {}): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'daemon-e2e-'));
  const shimdSock = join(dir, 'shimd.sock');
  const sock = join(dir, 'berthd.sock');
  const out: string[] = [];
  // A bridge and subnet of our own: other daemons may run tests beside us.
  const n = process.pid % 250;
  const bridge = `bd${process.pid}`.slice(0, 15);
  const subnet = `172.31.${n}.0/24`;
  const launch = (args: string[]) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout?.on('data', (d) => out.push(String(d)));
    p.stderr?.on('data', (d) => out.push(String(d)));
    // Say how a daemon ended, so an outside kill is told apart from a crash.
    p.on('exit', (code, signal) => out.push(`[${args[0]?.split('/').pop()} pid ${p.pid} exited: code ${code} signal ${signal}]\n`));
    return p;
  };
  const shimdArgs = [bins.shimd, '--address', shimdSock, '--root', join(dir, 'shimd-root'), '--state', join(dir, 'shimd-state'), '--runtime', runtimeUnderTest];
  let shimd = launch(shimdArgs);
  const startShimd = async () => {
    rmSync(shimdSock, { force: true });
    shimd = launch(shimdArgs);
    const p = shimd;
    await waitFor(() => existsSync(shimdSock) || p.exitCode !== null, 20000, 'berth-shimd socket');
    if (p.exitCode !== null) throw new Error(`berth-shimd exited: ${out.join('')}`);
  };
  let berthd: ChildProcess | undefined;
  const startBerthd = async () => {
    rmSync(sock, { force: true });
    berthd = launch([bins.daemon, '--host', `unix://${sock}`, '--data-root', join(dir, 'data'), '--shimd-address', shimdSock, '--bridge', bridge, '--bridge-subnet', subnet, ...(opts.daemonArgs ?? [])]);
    const p = berthd;
    await waitFor(() => existsSync(sock) || p.exitCode !== null, 20000, 'berthd socket');
    if (p.exitCode !== null) throw new Error(`berthd exited: ${out.join('')}`);
  };
  const env: Env = {
    dir,
    bridge,
    subnet,
    sock,
    docker(args, opts = {}) {
      return new Promise((resolve) => {
        const child = execFile(
          DOCKER,
          args,
          {
            env: { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(dir, 'docker-config'), HOME: dir },
            timeout: opts.timeoutMs ?? 30000,
            maxBuffer: 64 * 1024 * 1024,
          },
          (err, stdout, stderr) => resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout, stderr }),
        );
        if (opts.input !== undefined) child.stdin?.end(opts.input);
        else child.stdin?.end();
      });
    },
    async restartDaemon(signal = 'SIGTERM') {
      await stopProcess(berthd, signal);
      await startBerthd();
    },
    async restartAll(signal = 'SIGTERM') {
      await stopProcess(berthd, signal);
      await stopProcess(shimd, signal);
      await startShimd();
      await startBerthd();
    },
    stopDaemon: (signal = 'SIGTERM') => stopProcess(berthd, signal),
    startDaemon: () => startBerthd(),
    daemonPid: () => berthd?.pid,
    logs: () => out.join(''),
    async stop() {
      try {
        if (berthd && berthd.exitCode === null) {
          const ids = (await env.docker(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
          if (ids.length) await env.docker(['rm', '-f', ...ids]);
          const imgs = (await env.docker(['images', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean);
          if (imgs.length) await env.docker(['rmi', '-f', ...new Set(imgs)]);
          // User-defined networks: their bridges and isolation rules go with them.
          await env.docker(['network', 'prune', '-f']);
        }
      } finally {
        await stopProcess(berthd);
        await stopProcess(shimd);
        for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n').reverse()) {
          const target = line.split(' ')[1];
          if (target?.startsWith(dir)) await new Promise((r) => execFile('umount', ['-l', target], () => r(undefined)));
        }
        rmSync(dir, { recursive: true, force: true });
        await new Promise((r) => execFile('ip', ['link', 'del', bridge], () => r(undefined)));
      }
    },
  };
  try {
    await waitFor(() => existsSync(shimdSock) || shimd.exitCode !== null, 20000, 'berth-shimd socket');
    if (shimd.exitCode !== null) throw new Error(`berth-shimd exited: ${out.join('')}`);
    await startBerthd();
  } catch (e) {
    await env.stop();
    throw e;
  }
  return env;
}
