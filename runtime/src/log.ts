// runc's logging contract (logrus): errors and --debug lines go to --log FILE or
// stderr, as `time="…" level=error msg="…"` or, with --log-format json, one JSON
// object per line. When a log file is set, the plain message also goes to stderr.
import { appendFileSync } from 'node:fs';

export interface LogOptions {
  file?: string;
  format: 'text' | 'json';
  debug: boolean;
}

let opts: LogOptions = { format: 'text', debug: false };

export function configureLog(o: LogOptions): void {
  opts = o;
}

function line(level: string, msg: string): string {
  const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  if (opts.format === 'json') return `${JSON.stringify({ level, msg, time })}\n`;
  return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

function emit(level: string, msg: string): void {
  const text = line(level, msg);
  if (opts.file) {
    try {
      appendFileSync(opts.file, text);
      return;
    } catch {
      // fall through to stderr
    }
  }
  process.stderr.write(text);
}

export function logError(msg: string): void {
  emit('error', msg);
  if (opts.file) process.stderr.write(`${msg}\n`);
}

export function logDebug(msg: string): void {
  if (opts.debug) emit('debug', msg);
}

export function logWarn(msg: string): void {
  emit('warning', msg);
}
