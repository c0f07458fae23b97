import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fifoPending, mkfifo, openFifoReader, openFifoWriter } from './fifo.js';

describe('fifos', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  it('reads what another opener writes, and ends when the writer closes', async () => {
    const d = mkdtempSync(join(tmpdir(), 'daemon-fifo-'));
    dirs.push(d);
    const p = join(d, 'out');
    await mkfifo(p);
    const r = openFifoReader(p);
    const chunks: Buffer[] = [];
    r.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((res) => r.on('end', () => res()));
    // Opened before any writer: the reader must not see EOF yet.
    await new Promise((res) => setTimeout(res, 50));
    writeFileSync(p, 'hello\n');
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe('hello\n');
  });
  it('opens a writer without a reader present', async () => {
    const d = mkdtempSync(join(tmpdir(), 'daemon-fifo-'));
    dirs.push(d);
    const p = join(d, 'in');
    await mkfifo(p);
    const w = openFifoWriter(p);
    await new Promise<void>((res) => w.write('x', () => res()));
    expect(await fifoPending(p)).toBe(1);
    const r = openFifoReader(p);
    const got = await new Promise<string>((res) => r.once('data', (c: Buffer) => res(c.toString())));
    expect(got).toBe('x');
    expect(await fifoPending(p)).toBe(0);
    const ended = new Promise<void>((res) => r.on('end', () => res()));
    r.resume();
    w.destroy();
    await ended;
  });
});
