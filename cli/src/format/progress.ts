// Shows the daemon's JSON progress stream (pull, push, load, import): on a terminal
// one line per layer id, redrawn in place with a progress bar; otherwise one plain
// line per message.
import { humanSize } from './units.js';

export interface JsonMessage {
  id?: string;
  status?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: unknown;
}

export class StreamError extends Error {}

/** `[=====>      ]  1.2MB/3.4MB`, as docker draws it (50 columns of bar). */
export function progressBar(current: number, total: number, width = 50): string {
  if (total <= 0) return current > 0 ? humanSize(current) : '';
  const pct = Math.min(1, current / total);
  const filled = Math.floor(pct * width);
  const bar = filled >= width ? '='.repeat(width) : `${'='.repeat(filled)}>${' '.repeat(width - filled - 1)}`;
  return `[${bar}]  ${humanSize(current)}/${humanSize(total)}`;
}

export class ProgressPrinter {
  private readonly lines = new Map<string, number>();
  private count = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly tty: boolean,
  ) {}

  private text(m: JsonMessage): string {
    const prefix = m.id ? `${m.id}: ` : '';
    let progress = '';
    if (this.tty) {
      if (m.progressDetail && (m.progressDetail.total ?? 0) > 0) progress = ` ${progressBar(m.progressDetail.current ?? 0, m.progressDetail.total ?? 0)}`;
      else if (m.progress) progress = ` ${m.progress}`;
    }
    return `${prefix}${m.status ?? ''}${progress}`;
  }

  /** Handles one message; throws StreamError for an error message. */
  write(m: JsonMessage): void {
    if (m.error || m.errorDetail?.message) throw new StreamError(m.errorDetail?.message || m.error || 'unknown error');
    if (m.stream !== undefined) {
      this.out.write(m.stream);
      return;
    }
    if (m.status === undefined) return;
    // Off a terminal docker drops the messages that carry a progress bar (its jsonmessage
    // Display returns early for them): only the status changes remain, one line each.
    if (!this.tty && m.progressDetail && ((m.progressDetail.current ?? 0) > 0 || (m.progressDetail.total ?? 0) > 0)) return;
    if (!this.tty || !m.id) {
      this.out.write(`${this.text(m)}\n`);
      if (this.tty) this.count++;
      return;
    }
    const line = this.lines.get(m.id);
    if (line === undefined) {
      this.lines.set(m.id, this.count++);
      this.out.write(`${this.text(m)}\n`);
      return;
    }
    const up = this.count - line;
    // Move up to the layer's line, rewrite it, come back down.
    this.out.write(`\x1b[${up}A\r\x1b[2K${this.text(m)}\r\x1b[${up}B`);
  }
}
