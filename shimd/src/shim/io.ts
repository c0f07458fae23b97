// A process's stdio as the shim owns it: pipes between the container and FIFO
// paths given by the client, a pty master received over the console socket, and
// Docker's json-file log.
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, constants as fsc, writeSync } from 'node:fs';
import net from 'node:net';
import tty from 'node:tty';
import { nowRfc3339 } from '../errors.js';
import { closeFd, pipe, setWinsize } from '../sys/index.js';

export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

export interface LogConfig {
  path: string;
  format: string;
  options: Record<string, string>;
}

/** Bytes from a size like "10m", "512k", "1g" or "1000". */
export function parseSize(s: string | undefined): number {
  if (!s) return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(s.trim());
  if (!m) throw new Error(`invalid log size ${JSON.stringify(s)}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * mult);
}

/**
 * Docker's json-file format: one object per line, {"log","stream","time"}; a line
 * longer than 16 KiB is split, as Docker does; rotation keeps max-file files.
 */
export class JsonFileLog {
  private fd: number;
  private size: number;
  private readonly maxSize: number;
  private readonly maxFile: number;
  private readonly partial: Record<string, Buffer[]> = {};

  constructor(private readonly path: string, options: Record<string, string>) {
    this.maxSize = parseSize(options['max-size']);
    this.maxFile = Math.max(1, Number(options['max-file'] ?? 1) || 1);
    this.fd = openSync(path, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o640);
    this.size = fstatSync(this.fd).size;
  }

  write(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      const pending = this.partial[stream] ?? [];
      pending.push(chunk.subarray(start, nl + 1));
      this.partial[stream] = [];
      this.line(stream, Buffer.concat(pending));
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.partial[stream] ??= [];
      const pending = this.partial[stream];
      pending.push(chunk.subarray(start));
      const total = pending.reduce((n, b) => n + b.length, 0);
      if (total >= 16 * 1024) this.flush(stream);
    }
  }

  /** Writes a trailing partial line (no newline) of `stream`. */
  flush(stream: 'stdout' | 'stderr'): void {
    const pending = this.partial[stream];
    if (pending?.length) {
      this.partial[stream] = [];
      this.line(stream, Buffer.concat(pending));
    }
  }

  close(): void {
    this.flush('stdout');
    this.flush('stderr');
    closeSync(this.fd);
  }

  private line(stream: string, text: Buffer): void {
    const rec = Buffer.from(`${JSON.stringify({ log: text.toString('utf8'), stream, time: nowRfc3339() })}\n`);
    if (this.maxSize > 0 && this.size > 0 && this.size + rec.length > this.maxSize) this.rotate();
    writeSync(this.fd, rec);
    this.size += rec.length;
  }

  private rotate(): void {
    closeSync(this.fd);
    if (this.maxFile > 1) {
      rmSync(`${this.path}.${this.maxFile - 1}`, { force: true });
      for (let i = this.maxFile - 2; i >= 1; i--) {
        try {
          renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
        } catch {}
      }
      renameSync(this.path, `${this.path}.1`);
      this.fd = openSync(this.path, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o640);
    } else {
      this.fd = openSync(this.path, fsc.O_WRONLY | fsc.O_TRUNC | fsc.O_CREAT, 0o640);
    }
    this.size = 0;
  }
}

type Sink = { write(b: Buffer): void; end(): void };

/**
 * Opens a client's stdio path. FIFOs are opened read-write: that never blocks or
 * fails for want of a peer, and a reader that goes away does not kill the container
 * with SIGPIPE. Other paths (regular files, /dev/null) are opened plainly.
 */
function openOutput(path: string): Sink {
  const fd = openSync(path, fsc.O_RDWR | fsc.O_NONBLOCK | fsc.O_APPEND);
  if (fstatSync(fd).isFIFO()) {
    const s = new net.Socket({ fd, readable: false, writable: true });
    s.on('error', () => {});
    return { write: (b) => void s.write(b), end: () => s.end() };
  }
  return {
    write: (b) => {
      try {
        writeSync(fd, b);
      } catch {}
    },
    end: () => closeSync(fd),
  };
}

function openInput(path: string): net.Socket | undefined {
  const fd = openSync(path, fsc.O_RDWR | fsc.O_NONBLOCK);
  if (!fstatSync(fd).isFIFO()) {
    closeSync(fd);
    return undefined;
  }
  const s = new net.Socket({ fd, readable: true, writable: false });
  s.on('error', () => {});
  return s;
}

/**
 * Reads what a pty master still holds, synchronously, until EIO (every slave closed
 * and nothing left), EAGAIN (a slave is open again: nothing more now) or EOF (hung up).
 */
export function drainPtyMaster(fd: number, out: (d: Buffer) => void): void {
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch {
      return;
    }
    if (n <= 0) return;
    out(Buffer.from(buf.subarray(0, n)));
  }
}

/** The stdio of one process, from before the runtime runs until the output is drained. */
export class ProcessIO {
  /** The fds the runtime gets as 0, 1, 2 (pass-through to the container). */
  readonly runtimeStdio: (number | 'ignore')[] = ['ignore', 'ignore', 'ignore'];
  /** Resolves once all output has been read (every writer in the container closed it). */
  readonly drained: Promise<void>;
  private childEnds: number[] = [];
  private stdinSrc?: net.Socket;
  private stdinDst?: net.Socket;
  private master?: tty.ReadStream;
  private masterFd = -1;
  private sinks: { stdout?: Sink; stderr?: Sink } = {};
  private resolveDrained!: () => void;
  private pendingOutputs = 0;

  constructor(
    readonly paths: StdioPaths,
    private readonly log?: JsonFileLog,
  ) {
    this.drained = new Promise((r) => {
      this.resolveDrained = r;
    });
    try {
      if (paths.stdout) this.sinks.stdout = openOutput(paths.stdout);
      if (paths.stderr && !paths.terminal) this.sinks.stderr = paths.stderr === paths.stdout ? this.sinks.stdout : openOutput(paths.stderr);
      if (paths.terminal) return; // wired in attachConsole
      if (paths.stdin) {
        const [r, w] = pipe();
        this.runtimeStdio[0] = r;
        this.childEnds.push(r);
        this.stdinDst = new net.Socket({ fd: w, readable: false, writable: true });
        this.stdinDst.on('error', () => {});
        this.stdinSrc = openInput(paths.stdin);
        this.stdinSrc?.pipe(this.stdinDst);
      }
      for (const [i, stream] of [[1, 'stdout'], [2, 'stderr']] as const) {
        if (!this.sinks[stream] && !log) continue;
        const [r, w] = pipe();
        this.runtimeStdio[i] = w;
        this.childEnds.push(w);
        this.pendingOutputs++;
        const reader = new net.Socket({ fd: r, readable: true, writable: false });
        reader.on('data', (d: Buffer) => this.output(stream, d));
        reader.on('error', () => {});
        reader.on('close', () => this.outputDone(stream));
      }
    } catch (err) {
      this.close();
      throw err;
    }
    if (this.pendingOutputs === 0) this.resolveDrained();
  }

  /** After the runtime has started: our copies of the container's ends must go, or EOF never comes. */
  afterSpawn(): void {
    for (const fd of this.childEnds) closeFd(fd);
    this.childEnds = [];
  }

  /** Wires a pty master received from the runtime. */
  attachConsole(masterFd: number): void {
    this.masterFd = masterFd;
    const m = new tty.ReadStream(masterFd);
    this.master = m;
    this.pendingOutputs++;
    m.on('data', (d: Buffer) => this.output('stdout', d));
    // libuv ends a stream when epoll reports POLLHUP after a short read, without reading
    // again. A pty master reports POLLHUP as soon as the last slave fd closes, while the
    // slave's last writes may still sit in the kernel's flip buffer (the first read got
    // only what the line discipline had already taken in). So the 'end' of a master is
    // not the end of its output: read on until the kernel says EIO (it flushes pending
    // input before returning that). The fd is still open while 'end' is emitted.
    m.on('end', () => drainPtyMaster(masterFd, (d) => this.output('stdout', d)));
    // EIO once the last slave fd closes: the process is gone.
    m.on('error', () => m.destroy());
    m.on('close', () => this.outputDone('stdout'));
    if (this.paths.stdin) {
      this.stdinSrc = openInput(this.paths.stdin);
      this.stdinSrc?.on('data', (d: Buffer) => {
        if (!m.destroyed) m.write(d);
      });
    }
  }

  resize(width: number, height: number): void {
    if (this.masterFd < 0 || this.master?.destroyed) throw new Error('process has no terminal');
    setWinsize(this.masterFd, width, height);
  }

  closeStdin(): void {
    this.stdinSrc?.destroy();
    this.stdinSrc = undefined;
    this.stdinDst?.end();
    this.stdinDst = undefined;
  }

  /** Waits for the output to drain, but not forever: an escaped child may hold a pipe. */
  async settle(ms = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.drained, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /** The process is gone and its output read: readers of the FIFOs get EOF. */
  finishOutput(): void {
    this.sinks.stdout?.end();
    if (this.sinks.stderr !== this.sinks.stdout) this.sinks.stderr?.end();
    this.sinks = {};
  }

  close(): void {
    this.afterSpawn();
    this.closeStdin();
    this.master?.destroy();
    this.sinks.stdout?.end();
    if (this.sinks.stderr !== this.sinks.stdout) this.sinks.stderr?.end();
    this.sinks = {};
    this.log?.flush('stdout');
    this.log?.flush('stderr');
  }

  private output(stream: 'stdout' | 'stderr', d: Buffer): void {
    this.sinks[stream]?.write(d);
    this.log?.write(stream, d);
  }

  private outputDone(stream: 'stdout' | 'stderr'): void {
    this.log?.flush(stream);
    if (--this.pendingOutputs <= 0) this.resolveDrained();
  }
}
