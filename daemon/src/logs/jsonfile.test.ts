import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type LogEntry, readLogs } from './jsonfile.js';

const line = (log: string, stream = 'stdout', time = '2026-01-01T00:00:00.000000001Z') =>
  `${JSON.stringify({ log, stream, time })}\n`;

async function collect(it: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('json-file log reader', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'daemon-logs-'));
    dirs.push(d);
    return d;
  };

  it('reads rotated files oldest first, with tail and since', async () => {
    const d = tmp();
    const p = join(d, 'c-json.log');
    writeFileSync(`${p}.1`, line('a\n') + line('b\n', 'stderr', '2026-01-01T00:00:05Z'));
    writeFileSync(p, line('c\n', 'stdout', '2026-01-01T00:00:10Z') + '{"log":"partial');
    expect((await collect(readLogs(p))).map((e) => e.log)).toEqual(['a\n', 'b\n', 'c\n']);
    expect((await collect(readLogs(p, { tail: 2 }))).map((e) => e.log)).toEqual(['b\n', 'c\n']);
    const since = Date.parse('2026-01-01T00:00:05Z') / 1000;
    expect((await collect(readLogs(p, { since }))).map((e) => e.stream)).toEqual(['stderr', 'stdout']);
  });

  it('follows appended lines until the container is done', async () => {
    const d = tmp();
    const p = join(d, 'c-json.log');
    writeFileSync(p, line('one\n'));
    let done!: () => void;
    const finished = new Promise<void>((r) => {
      done = r;
    });
    const got: string[] = [];
    const reading = (async () => {
      for await (const e of readLogs(p, { follow: true, done: finished })) {
        got.push(e.log);
        if (got.length === 1) {
          appendFileSync(p, line('two\n'));
        } else if (got.length === 2) {
          appendFileSync(p, line('three\n'));
          done();
        }
      }
    })();
    await reading;
    expect(got).toEqual(['one\n', 'two\n', 'three\n']);
  });
});
