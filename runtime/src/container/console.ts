// The terminal of an attached `run`/`exec` without --console-socket: like runc,
// the runtime itself receives the pty master (over a private socket, exactly as an
// outside caller would) and copies between it and its own stdio, with the caller's
// terminal in raw mode and window size changes passed on.
import { mkdtempSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadStream } from 'node:tty';
import { createKoffiSys } from '../sys/koffi.js';
import type { Sys } from '../sys/index.js';

export class ConsoleProxy {
  readonly path: string;
  private readonly dir: string;
  private readonly sys: Sys;
  private listenFd: number;
  private master = -1;
  private reader?: ReadStream;
  private rawSet = false;
  private readonly onWinch = () => this.resize();
  private readonly onInput = (d: Buffer) => this.write(d);

  constructor() {
    this.sys = createKoffiSys();
    this.dir = mkdtempSync(join(tmpdir(), 'berth-console-'));
    this.path = join(this.dir, 'console.sock');
    this.listenFd = this.sys.listenUnix(this.path);
  }

  /** Takes the master the container sent (it is queued on the socket) and starts copying. */
  attach(): void {
    this.master = this.sys.acceptFd(this.listenFd);
    this.closeListener();
    this.resize();
    process.on('SIGWINCH', this.onWinch);
    this.reader = new ReadStream(this.master);
    this.reader.on('data', (d) => process.stdout.write(d));
    // libuv ends the stream on POLLHUP after a short read, which a master reports once
    // the last slave closes even while the slave's last writes are still queued in the
    // kernel: read on synchronously until EIO (the fd is still open during 'end').
    this.reader.on('end', () => this.drainMaster());
    // EIO is how a pty master reports that every slave is closed: the end.
    this.reader.on('error', () => {});
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      this.rawSet = true;
    }
    process.stdin.on('data', this.onInput);
    process.stdin.on('end', () => this.write(Buffer.from([4]))); // ^D: end of input for the pty
  }

  private drainMaster(): void {
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      let n: number;
      try {
        n = readSync(this.master, buf, 0, buf.length, null);
      } catch {
        return; // EIO: every slave closed and nothing left; EAGAIN: nothing now
      }
      if (n <= 0) return;
      process.stdout.write(Buffer.from(buf.subarray(0, n)));
    }
  }

  private write(d: Buffer): void {
    let off = 0;
    while (off < d.length) {
      try {
        off += writeSync(this.master, d, off);
      } catch (err: any) {
        if (err?.code !== 'EAGAIN') return;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
    }
  }

  private resize(): void {
    if (this.master < 0 || !process.stdout.isTTY) return;
    try {
      this.sys.setWinsize(this.master, process.stdout.rows, process.stdout.columns);
    } catch {}
  }

  /** Resolves once everything the container wrote has been copied (the master reads EIO). */
  drained(ms = 2000): Promise<void> {
    const r = this.reader;
    if (!r) return Promise.resolve();
    return new Promise((res) => {
      const t = setTimeout(res, ms);
      const done = () => {
        clearTimeout(t);
        res();
      };
      r.once('error', done);
      r.once('end', done);
      r.once('close', done);
    });
  }

  close(): void {
    process.off('SIGWINCH', this.onWinch);
    process.stdin.off('data', this.onInput);
    process.stdin.pause();
    if (this.rawSet) process.stdin.setRawMode(false);
    this.reader?.destroy();
    this.closeListener();
  }

  private closeListener(): void {
    if (this.listenFd >= 0) {
      try {
        this.sys.close(this.listenFd);
      } catch {}
      this.listenFd = -1;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
