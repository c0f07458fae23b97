// The parent↔stage channel on a socket fd: newline-delimited JSON. The stage side
// reads and writes synchronously (it must stay on its main thread); the parent side
// uses the ChildProcess's stream.
import { readSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';

export type StageMessage =
  | { type: 'ready'; pid?: number }
  | { type: 'userns' }
  | { type: 'pid'; pid: number }
  | { type: 'joined' }
  | { type: 'booted' }
  | { type: 'hooks' }
  | { type: 'error'; message: string };

export function readMessageSync(fd: number): any {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (err: any) {
      if (err?.code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      throw err;
    }
    if (n === 0) throw new Error('parent closed the sync channel');
    const nl = buf.subarray(0, n).indexOf(10);
    if (nl >= 0) {
      chunks.push(Buffer.from(buf.subarray(0, nl)));
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    }
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
}

export function writeMessageSync(fd: number, msg: unknown): void {
  const data = Buffer.from(`${JSON.stringify(msg)}\n`);
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off);
}

/** Reads the stage's messages in order; next() rejects once the stage has exited. */
export class MessageReader {
  private text = '';
  private queue: StageMessage[] = [];
  private waiting?: { resolve: (m: StageMessage) => void; reject: (e: Error) => void };
  private gone?: Error;
  private readonly onData = (d: Buffer) => {
    this.text += d.toString('utf8');
    for (let nl = this.text.indexOf('\n'); nl >= 0; nl = this.text.indexOf('\n')) {
      const line = this.text.slice(0, nl);
      this.text = this.text.slice(nl + 1);
      try {
        this.queue.push(JSON.parse(line));
      } catch {
        this.queue.push({ type: 'error', message: `bad message from the container init: ${line.slice(0, 200)}` });
      }
    }
    this.pump();
  };

  constructor(
    private readonly stream: Readable,
    exited: Promise<{ code: number | null; signal: string | null }>,
  ) {
    stream.on('data', this.onData);
    exited.then((e) => {
      this.gone = new Error(`container init exited before it was ready (${e.signal ?? `status ${e.code}`})`);
      // Let a final message that raced with the exit be read first.
      setImmediate(() => this.pump());
    });
  }

  private pump(): void {
    if (!this.waiting) return;
    const w = this.waiting;
    if (this.queue.length) {
      this.waiting = undefined;
      w.resolve(this.queue.shift()!);
    } else if (this.gone) {
      this.waiting = undefined;
      w.reject(this.gone);
    }
  }

  next(): Promise<StageMessage> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.pump();
    });
  }

  close(): void {
    this.stream.off('data', this.onData);
    this.stream.destroy();
  }
}
