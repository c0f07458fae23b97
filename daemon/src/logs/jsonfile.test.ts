import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type LogEntry, parseRaw, readLogs } from './jsonfile.js';

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

  it('parses the shim layout without JSON.parse, escapes and odd lines too', () => {
    const plain = parseRaw(Buffer.from(line('héllo "x"\tz\n', 'stderr').trimEnd()))!;
    expect(plain.stream).toBe('stderr');
    expect(Buffer.from(plain.bytes, 'latin1').toString()).toBe('héllo "x"\tz\n');
    expect(plain.time).toBe('2026-01-01T00:00:00.000000001Z');
    const tricky = '","stream":"stdout","time":"x"}';
    expect(parseRaw(Buffer.from(line(tricky).trimEnd()))!.bytes).toBe(tricky);
    const ctl = parseRaw(Buffer.from(line('\u0001\u001b[0m\\').trimEnd()))!;
    expect(ctl.bytes).toBe('\u0001\u001b[0m\\');
    const reordered = parseRaw(Buffer.from(JSON.stringify({ stream: 'stdout', log: 'r\n', time: 't' })))!;
    expect([reordered.bytes, reordered.time]).toEqual(['r\n', 't']);
    expect(parseRaw(Buffer.from('not json'))).toBeUndefined();
    expect(parseRaw(Buffer.from(''))).toBeUndefined();
  });

  it('tail seeks from the end across rotated files; tail 0 and tail beyond the count', async () => {
    const d = tmp();
    const p = join(d, 'c-json.log');
    writeFileSync(`${p}.2`, line('1\n') + line('2\n'));
    writeFileSync(`${p}.1`, line('3\n'));
    writeFileSync(p, line('4\n') + line('5\n') + '{"log":"partial');
    const tail = async (n: number) => (await collect(readLogs(p, { tail: n }))).map((e) => e.log.trim()).join(',');
    expect(await tail(1)).toBe('5');
    expect(await tail(2)).toBe('4,5');
    expect(await tail(3)).toBe('3,4,5');
    expect(await tail(4)).toBe('2,3,4,5');
    expect(await tail(50)).toBe('1,2,3,4,5');
    expect(await tail(0)).toBe('');
    const big = join(d, 'big-json.log');
    writeFileSync(big, Array.from({ length: 100_000 }, (_, i) => line(`${i}\n`)).join(''));
    expect((await collect(readLogs(big))).length).toBe(100_000);
    expect((await collect(readLogs(big, { tail: 3 }))).map((e) => e.log)).toEqual(['99997\n', '99998\n', '99999\n']);
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
