import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, constants as fsc, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drainPtyMaster, JsonFileLog, parseSize } from './io.js';

describe('json-file log', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shimd-unit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const records = (f: string) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  it('writes one JSON object per line, joining chunks and keeping streams apart', () => {
    const path = join(dir, 'c.log');
    const log = new JsonFileLog(path, {});
    log.write('stdout', Buffer.from('hel'));
    log.write('stderr', Buffer.from('oops\n'));
    log.write('stdout', Buffer.from('lo\nsecond\nparti'));
    log.close();
    const recs = records(path);
    expect(recs.map((r) => [r.stream, r.log])).toEqual([
      ['stderr', 'oops\n'],
      ['stdout', 'hello\n'],
      ['stdout', 'second\n'],
      ['stdout', 'parti'],
    ]);
    for (const r of recs) expect(r.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  it('rotates at max-size and keeps max-file files', () => {
    const path = join(dir, 'c.log');
    const log = new JsonFileLog(path, { 'max-size': '200', 'max-file': '3' });
    for (let i = 0; i < 40; i++) log.write('stdout', Buffer.from(`line number ${i}\n`));
    log.close();
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    for (const f of [path, `${path}.1`, `${path}.2`]) expect(readFileSync(f).length).toBeLessThanOrEqual(200);
    expect(records(path).at(-1).log).toBe('line number 39\n');
    // Order across files: .2 is oldest.
    const all = [`${path}.2`, `${path}.1`, path].flatMap(records).map((r) => Number(r.log.split(' ')[2]));
    expect(all).toEqual([...all].sort((a, b) => a - b));
  });

  it('truncates in place with max-file 1', () => {
    const path = join(dir, 'c.log');
    const log = new JsonFileLog(path, { 'max-size': '100' });
    for (let i = 0; i < 10; i++) log.write('stdout', Buffer.from(`line ${i}\n`));
    log.close();
    expect(existsSync(`${path}.1`)).toBe(false);
    expect(readFileSync(path).length).toBeLessThanOrEqual(100);
  });

  it('parses Docker-style sizes', () => {
    expect(parseSize('10m')).toBe(10 * 1024 * 1024);
    expect(parseSize('512k')).toBe(512 * 1024);
    expect(parseSize('1g')).toBe(1024 ** 3);
    expect(parseSize('1000')).toBe(1000);
    expect(parseSize(undefined)).toBe(0);
    expect(() => parseSize('ten')).toThrow(/invalid log size/);
  });
});

describe('drainPtyMaster', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shimd-unit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads everything queued, in order, and stops at EAGAIN or EOF without blocking', () => {
    const fifo = join(dir, 'f');
    execFileSync('mkfifo', [fifo]);
    const r = openSync(fifo, fsc.O_RDONLY | fsc.O_NONBLOCK);
    const w = openSync(fifo, fsc.O_WRONLY);
    try {
      const big = Buffer.alloc(50 * 1024, 'x');
      writeSync(w, big);
      writeSync(w, 'END');
      const got: Buffer[] = [];
      drainPtyMaster(r, (d) => got.push(d));
      expect(Buffer.concat(got).toString()).toBe(`${big.toString()}END`);
      // A writer still open and nothing queued: EAGAIN ends the drain.
      got.length = 0;
      drainPtyMaster(r, (d) => got.push(d));
      expect(got).toEqual([]);
      writeSync(w, 'tail');
      closeSync(w);
      drainPtyMaster(r, (d) => got.push(d));
      expect(Buffer.concat(got).toString()).toBe('tail');
    } finally {
      closeSync(r);
      try {
        closeSync(w);
      } catch {}
    }
  });
});
