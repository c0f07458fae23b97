// FIFOs for process stdio, opened without blocking: Node's fs.open on a FIFO would
// park a libuv worker thread until the other side opens it.
import { closeSync, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';

let mkfifoFn: ((path: string, mode: number) => number) | undefined;
let ioctlFn: ((fd: number, req: number, out: number[]) => number) | undefined;

async function loadMkfifo(): Promise<(path: string, mode: number) => number> {
  if (!mkfifoFn) {
    // koffi is loaded lazily: only a daemon that starts containers pays for it.
    const mod: any = await import('koffi');
    const koffi = mod.default ?? mod;
    const lib = koffi.load('libc.so.6');
    mkfifoFn = lib.func('int mkfifo(const char *path, uint32_t mode)') as (path: string, mode: number) => number;
    ioctlFn = lib.func('int ioctl(int fd, unsigned long req, _Out_ int *out)') as (fd: number, req: number, out: number[]) => number;
  }
  return mkfifoFn;
}

export async function mkfifo(path: string, mode = 0o600): Promise<void> {
  if ((await loadMkfifo())(path, mode) !== 0) throw new Error(`mkfifo ${path} failed`);
}

/** The read end, as a stream: ends when the last writer closes (after one has opened). */
export function openFifoReader(path: string): Socket {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return new Socket({ fd, readable: true, writable: false });
}

/** A write end that never blocks on open (O_RDWR keeps the FIFO open for both). */
export function openFifoWriter(path: string): Socket {
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  return new Socket({ fd, readable: false, writable: true });
}

const FIONREAD = 0x541b;

/** Bytes written to the FIFO and not yet read by the other side. */
export async function fifoPending(path: string): Promise<number> {
  await loadMkfifo();
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  } catch {
    return 0;
  }
  try {
    const out = [0];
    return ioctlFn!(fd, FIONREAD, out) === 0 ? out[0]! : 0;
  } finally {
    closeSync(fd);
  }
}

/**
 * Waits (bounded) until the reader has taken everything from the FIFO: closing a
 * process's stdin (CloseIO) before that would drop what is still in the pipe.
 */
export async function fifoDrained(path: string, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await fifoPending(path)) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}
