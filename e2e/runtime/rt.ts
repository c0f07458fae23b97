// Helpers for the runtime suites: drive the runtime under test (berth-runtime, or
// the peer named by BERTH_TEST_RUNTIME such as runc) with a private --root, make
// bundles, and clean every container, root and bundle up even when a test fails.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { type BundleOptions, makeBundle } from '../fixtures/index.js';
import { isRoot, runtimeUnderTest } from '../helpers.js';

export const peer = process.env.BERTH_TEST_RUNTIME ? process.env.BERTH_TEST_RUNTIME.split('/').pop()! : undefined;
export const isBerth = !peer;
/** Root-only suites are skipped (not failed) for unprivileged runs. */
export const canRun = isRoot;

/** Whether python3 can receive fds (socket.recv_fds): the console-socket peer below needs it. */
export const hasPython = spawnSync('python3', ['-c', 'import socket; socket.recv_fds'], { stdio: 'ignore' }).status === 0;

/**
 * A --console-socket peer (Node cannot receive fds): `python3 -c CONSOLE_RECEIVER SOCK [INPUT]`
 * prints `listening`, takes the pty master, reports the message and fd count on stderr,
 * writes INPUT to the master if given, then copies what the container writes to stdout as
 * it comes, until EIO.
 */
export const CONSOLE_RECEIVER = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
conn, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
sys.stderr.write("name=%s fds=%d\\n" % (msg.decode(), len(fds)))
if len(sys.argv) > 2:
    os.write(fds[0], sys.argv[2].encode())
while True:
    try:
        chunk = os.read(fds[0], 4096)
    except OSError:
        break
    if not chunk:
        break
    sys.stdout.write(chunk.decode()); sys.stdout.flush()
`;

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function result(r: SpawnSyncReturns<string>): Result {
  if (r.error) throw r.error;
  return { status: r.status ?? (r.signal ? 128 : null), stdout: r.stdout, stderr: r.stderr };
}

/** One suite's context: a private state root and the containers and bundles it made. */
export function suite(area: string) {
  const root = mkdtempSync(join(tmpdir(), `rt-root-${area}-`));
  const ids = new Set<string>();
  const dirs = new Set<string>();

  /**
   * Runs the runtime. With `files`, stdout/stderr go to files rather than pipes: a
   * detached container inherits them, and a pipe would then never reach EOF.
   */
  const rt = (args: string[], opts: { input?: string; timeout?: number; files?: boolean } = {}): Result => {
    if (!opts.files) {
      return result(
        spawnSync(runtimeUnderTest, ['--root', root, ...args], { encoding: 'utf8', input: opts.input ?? '', timeout: opts.timeout ?? 30_000 }),
      );
    }
    const dir = mkdtempSync(join(tmpdir(), `rt-${area}-out-`));
    const out = openSync(join(dir, 'out'), 'w+');
    const err = openSync(join(dir, 'err'), 'w+');
    try {
      const r = spawnSync(runtimeUnderTest, ['--root', root, ...args], { stdio: ['ignore', out, err], timeout: opts.timeout ?? 30_000 });
      if (r.error) throw r.error;
      return { status: r.status, stdout: readFileSync(join(dir, 'out'), 'utf8'), stderr: readFileSync(join(dir, 'err'), 'utf8') };
    } finally {
      closeSync(out);
      closeSync(err);
      rmSync(dir, { recursive: true, force: true });
    }
  };

  const id = (name = 'c'): string => {
    const v = `rt-${area}-${name}-${randomBytes(4).toString('hex')}`;
    ids.add(v);
    return v;
  };

  const bundle = (opts: BundleOptions = {}): string => {
    const b = makeBundle(opts);
    dirs.add(b);
    return b;
  };

  const tempDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), `rt-${area}-`));
    dirs.add(d);
    return d;
  };

  /** Status from `state`, or undefined when the container does not exist. */
  const status = (cid: string): string | undefined => {
    const r = rt(['state', cid]);
    return r.status === 0 ? JSON.parse(r.stdout).status : undefined;
  };

  /** Polls until `state` reports `want` (containers stop asynchronously). */
  const waitStatus = async (cid: string, want: string, ms = 10_000): Promise<string | undefined> => {
    const end = Date.now() + ms;
    let s = status(cid);
    while (s !== want && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      s = status(cid);
    }
    return s;
  };

  afterEach(() => {
    for (const cid of ids) {
      if (existsSync(join(root, cid))) rt(['delete', '--force', cid]);
    }
    ids.clear();
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });

  return { root, rt, id, bundle, tempDir, status, waitStatus };
}

/** The host pid's cgroup (v1 pids hierarchy) path, to check a cgroup is gone. */
export function cgroupOf(pid: number, controller = 'pids'): string | undefined {
  try {
    for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
      const [, ctrls, path] = line.split(':');
      if (ctrls?.split(',').includes(controller)) return path;
    }
  } catch {}
  return undefined;
}

export function alive(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(st);
  } catch {
    return false;
  }
}
