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
