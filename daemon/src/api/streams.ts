// Docker's stream formats: the 8-byte multiplexed frame header (stream type, three
// zero bytes, big-endian payload length) and the hijacked-connection handshake.
import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import type { Hijack } from '../server.js';
import { API_VERSION, SERVER_NAME } from './version.js';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;

export function frame(stream: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/**
 * Gathers frames into one Buffer per ~256 KiB write: the header bytes are set in
 * place and the payload (a binary string, one char per byte) copied once, since
 * per-line Buffers and per-line writes cost more than the parsing. Honours
 * back-pressure.
 */
export class OutputBatch {
  private buf = Buffer.allocUnsafe(512 << 10);
  private used = 0;

  constructor(private readonly out: { write(b: Buffer): boolean; once(ev: 'drain', f: () => void): unknown }) {}

  private room(n: number): void {
    if (this.used + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + n));
    this.buf.copy(next, 0, 0, this.used);
    this.buf = next;
  }

  /** Raw bytes (a TTY container's output). */
  push(bytes: string): void {
    this.room(bytes.length);
    this.used += this.buf.write(bytes, this.used, 'latin1');
  }

  frame(stream: number, bytes: string, prefix = ''): void {
    const len = bytes.length + prefix.length;
    this.room(8 + len);
    const b = this.buf;
    let at = this.used;
    b[at] = stream;
    b[at + 1] = 0;
    b[at + 2] = 0;
    b[at + 3] = 0;
    b[at + 4] = (len >>> 24) & 255;
    b[at + 5] = (len >>> 16) & 255;
    b[at + 6] = (len >>> 8) & 255;
    b[at + 7] = len & 255;
    at += 8;
    if (prefix) at += b.write(prefix, at, 'latin1');
    this.used = at + b.write(bytes, at, 'latin1');
  }

  /** Writes what was gathered once it is large (or always, with `now`). */
  async flush(now: boolean): Promise<void> {
    if (!this.used || (!now && this.used < 256 << 10)) return;
    const chunk = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafe(this.buf.length);
    this.used = 0;
    if (!this.out.write(chunk)) await new Promise<void>((r) => this.out.once('drain', () => r()));
  }
}

export const RAW = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED = 'application/vnd.docker.multiplexed-stream';

/**
 * Takes over the connection of an attach or exec start. With an Upgrade header the
 * answer is 101 UPGRADED; without one, dockerd answers 200 and streams anyway.
 */
export function hijack(req: Request, res: Response, contentType: string): Hijack {
  const h = (req as unknown as IncomingMessage & { hijack?: Hijack }).hijack;
  const lines = [
    h ? 'HTTP/1.1 101 UPGRADED' : 'HTTP/1.1 200 OK',
    `Content-Type: ${contentType}`,
    ...(h ? ['Connection: Upgrade', 'Upgrade: tcp'] : []),
    `Api-Version: ${API_VERSION}`,
    `Server: ${SERVER_NAME}`,
    'Ostype: linux',
    '',
    '',
  ];
  if (h) {
    h.socket.write(lines.join('\r\n'));
    return h;
  }
  // A plain request: detach the socket from express's response and write raw.
  const socket = req.socket;
  res.writeHead = (() => res) as any;
  socket.write(lines.join('\r\n'));
  return { socket, head: Buffer.alloc(0) };
}
