// shimd's side of the shim protocol: requests over one unix-socket connection,
// events pushed by the shim delivered in arrival order.
import net from 'node:net';
import { type ShimCodec, type ShimFrame, shimCodec } from '@berth/proto/shim';
import { type ErrorKind, ShimdError, unavailable } from '../errors.js';

export class ShimClient {
  private readonly codec: ShimCodec = shimCodec();
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (f: ShimFrame) => void; reject: (e: Error) => void }>();
  closed = false;
  onEvent: (topic: string, event: any) => void = () => {};
  onClose: () => void = () => {};

  private constructor(private readonly sock: net.Socket) {
    const feed = this.codec.decoder((frame) => {
      if (frame.kind === 'EVENT' && frame.event) {
        let body: any = {};
        try {
          body = JSON.parse(frame.event.event || '{}');
        } catch {}
        this.onEvent(frame.event.topic, body);
      } else if (frame.kind === 'RESPONSE') {
        const p = this.pending.get(frame.id);
        this.pending.delete(frame.id);
        p?.resolve(frame);
      }
    });
    sock.on('data', (d) => {
      try {
        feed(d);
      } catch (err) {
        process.stderr.write(`berth-shimd: shim connection: ${(err as Error)?.stack ?? err}\n`);
        sock.destroy();
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
      for (const p of this.pending.values()) p.reject(unavailable('connection to shim lost'));
      this.pending.clear();
      this.onClose();
    });
  }

  static connect(path: string): Promise<ShimClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(path);
      sock.once('connect', () => {
        sock.removeAllListeners('error');
        resolve(new ShimClient(sock));
      });
      sock.once('error', (err) => reject(unavailable(`shim at ${path}: ${err.message}`)));
    });
  }

  async call<T = any>(method: string, reqType: string, req: object, respType: string): Promise<T> {
    if (this.closed) throw unavailable('connection to shim lost');
    const id = this.nextId++;
    const frame = await new Promise<ShimFrame>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.sock.write(this.codec.encodeFrame({ kind: 'REQUEST', id, method, payload: this.codec.encode(reqType, req) }));
    });
    if (frame.error_kind) throw new ShimdError(frame.error_kind as ErrorKind, frame.error ?? 'shim error');
    return this.codec.decode<T>(respType, frame.payload);
  }

  close(): void {
    this.sock.destroy();
  }
}
