// Client-side stdio for a task, as containerd's ctr does it: FIFOs in a temp dir
// that the shim opens; we copy between them and our own stdio.
import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsc, mkdtempSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Fifos {
  dir: string;
  stdin: string;
  stdout: string;
  stderr: string;
}

export function makeFifos(terminal: boolean): Fifos {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ctr-'));
  const f = { dir, stdin: join(dir, 'stdin'), stdout: join(dir, 'stdout'), stderr: terminal ? '' : join(dir, 'stderr') };
  execFileSync('mkfifo', ['-m', '0600', f.stdin, f.stdout, ...(f.stderr ? [f.stderr] : [])]);
  return f;
}

export function removeFifos(f: Fifos | undefined): void {
  if (f?.dir) rmSync(f.dir, { recursive: true, force: true });
}

export interface Attached {
  /** Resolves when the output FIFOs reach EOF (the shim closed them). */
  outputDone: Promise<void>;
  /** Resolves when our stdin ended (EOF). */
  stdinDone: Promise<void>;
  /** Call once the shim has opened the FIFOs: from then on EOF means the process's output ended. */
  release(): void;
  detach(): void;
}

/**
 * Connects FIFOs to our stdio. The read ends are opened first, with a writer of our
 * own held open until `release()`: a FIFO's buffer dies with its last open fd, so a
 * process that exits before we would otherwise open it does not lose its output,
 * and no reader sees EOF before the shim has opened its end.
 */
export function attach(f: { stdin: string; stdout: string; stderr: string }, terminal: boolean): Attached {
  const streams: net.Socket[] = [];
  const holders: number[] = [];
  const outputs: Promise<void>[] = [];
  for (const [path, dest] of [[f.stdout, process.stdout], [f.stderr, process.stderr]] as const) {
    if (!path) continue;
    const s = new net.Socket({ fd: openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK), readable: true, writable: false });
    holders.push(openSync(path, fsc.O_WRONLY | fsc.O_NONBLOCK));
    streams.push(s);
    s.on('error', () => {});
    outputs.push(new Promise((r) => s.on('close', () => r())));
    s.pipe(dest, { end: false });
  }
  let stdinDone: Promise<void> = Promise.resolve();
  if (f.stdin) {
    const input = new net.Socket({ fd: openSync(f.stdin, fsc.O_RDWR | fsc.O_NONBLOCK), readable: false, writable: true });
    input.on('error', () => {});
    streams.push(input);
    if (terminal && process.stdin.isTTY) process.stdin.setRawMode(true);
    stdinDone = new Promise((r) => process.stdin.on('end', () => r()));
    process.stdin.pipe(input, { end: false });
  }
  const release = () => {
    for (const fd of holders.splice(0)) closeSync(fd);
  };
  return {
    outputDone: Promise.all(outputs).then(() => {}),
    stdinDone,
    release,
    detach() {
      release();
      if (terminal && process.stdin.isTTY) process.stdin.setRawMode(false);
      process.stdin.unpipe();
      process.stdin.pause();
      process.stdin.destroy();
      for (const s of streams) s.destroy();
    },
  };
}

/** Waits for `p`, but at most `ms`. */
export async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (t = setTimeout(r, ms)))]);
  clearTimeout(t);
}
