// The Engine API multiplexes a non-TTY container's stdout and stderr on one stream:
// each frame is an 8-byte header [stream, 0, 0, 0, size (uint32 big-endian)] followed
// by `size` bytes of payload. stream 0 is stdin (echoed), 1 stdout, 2 stderr, and 3
// (systemerr) carries an error message from the daemon.

export type StreamKind = 0 | 1 | 2 | 3;

export interface Frame {
  stream: StreamKind;
  data: Buffer;
}

/** Incremental decoder: feed it chunks in any split, it hands back whole frames. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= 8) {
      const stream = this.pending[0];
      if (stream > 3 || this.pending[1] !== 0 || this.pending[2] !== 0 || this.pending[3] !== 0) {
        throw new Error(`malformed stream frame header: ${this.pending.subarray(0, 8).toString('hex')}`);
      }
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      frames.push({ stream: stream as StreamKind, data: this.pending.subarray(8, 8 + size) });
      this.pending = this.pending.subarray(8 + size);
    }
    return frames;
  }

  /** Bytes of an unfinished frame left when the stream ended (0 when it ended cleanly). */
  get leftover(): number {
    return this.pending.length;
  }
}

/** Encodes one frame (used by the fake daemon in tests). */
export function encodeFrame(stream: StreamKind, data: Buffer | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Splits a multiplexed stream onto two writables; resolves when the source ends. */
export function demultiplex(
  source: NodeJS.ReadableStream,
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
): Promise<void> {
  const decoder = new FrameDecoder();
  return new Promise((resolve, reject) => {
    source.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        reject(e);
        return;
      }
      for (const f of frames) {
        if (f.stream === 3) stderr.write(`Error: ${f.data.toString()}\n`);
        else (f.stream === 2 ? stderr : stdout).write(f.data);
      }
    });
    source.on('end', () => resolve());
    source.on('close', () => resolve());
    source.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve() : reject(e)));
  });
}
