import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../digest.js';
import { ContentStore } from './store.js';

describe('content store', () => {
  let dir: string;
  let store: ContentStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'img-unit-content-'));
    store = new ContentStore(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores blobs by digest and reads them back', () => {
    const d = store.writeBlob(Buffer.from('hello'));
    expect(d).toBe(sha256('hello'));
    expect(readFileSync(store.blobPath(d), 'utf8')).toBe('hello');
    expect(store.info(d)).toMatchObject({ digest: d, size: 5, labels: {} });
    expect(store.list().map((i) => i.digest)).toEqual([d]);
    expect(store.writeBlob(Buffer.from('hello'))).toBe(d); // idempotent
  });

  it('refuses data that does not match the expected digest or size, keeping nothing', () => {
    expect(() => store.writeBlob(Buffer.from('hello'), { digest: sha256('other') })).toThrow(/digest mismatch/);
    const w = store.writer('r1', { digest: sha256('abc'), size: 3 });
    w.write(Buffer.from('abd'));
    expect(() => w.commit()).toThrow(/digest mismatch: expected sha256:ba78/);
    expect(store.list()).toEqual([]);
    expect(readdirSync(join(dir, 'ingest'))).toEqual([]);
    const w2 = store.writer('r2', { size: 2 });
    expect(() => w2.write(Buffer.from('abc'))).toThrow(/more than the expected 2/);
  });

  it('resumes an interrupted ingest at its offset', () => {
    const data = Buffer.from('0123456789'.repeat(100));
    const w = store.writer('resume-me', { digest: sha256(data), size: data.length });
    w.write(data.subarray(0, 333));
    w.close(); // the writer goes away
    expect(store.ingests()).toMatchObject([{ ref: 'resume-me', offset: 333, total: 1000 }]);
    const w2 = store.writer('resume-me', { digest: sha256(data), size: data.length });
    expect(w2.offset).toBe(333);
    w2.write(data.subarray(333));
    expect(w2.commit()).toBe(sha256(data));
    expect(store.readBytes(sha256(data)).equals(data)).toBe(true);
    expect(store.ingests()).toEqual([]);
  });

  it('keeps labels, and deletes blobs with them', () => {
    const d = store.writeBlob(Buffer.from('x'), {}, { a: '1' });
    expect(store.setLabels(d, { b: '2', a: '' })).toEqual({ b: '2' });
    store.delete(d);
    expect(store.has(d)).toBe(false);
    expect(existsSync(join(dir, 'labels', `${d.slice(7)}.json`))).toBe(false);
    expect(() => store.delete(d)).toThrow(/not found/);
    expect(() => store.info('sha256:../../x')).toThrow(/invalid digest/);
  });

  it('streams a source in and verifies it', async () => {
    async function* gen() {
      yield Buffer.from('ab');
      yield Buffer.from('cd');
    }
    const seen: number[] = [];
    expect(await store.writeFrom('s', gen(), { digest: sha256('abcd'), size: 4 }, (n) => seen.push(n))).toBe(sha256('abcd'));
    expect(seen).toEqual([2, 4]);
    await expect(store.writeFrom('t', gen(), { digest: sha256('nope') })).rejects.toThrow(/digest mismatch/);
  });

  it('keeps what a failing source delivered, when asked, so the next attempt resumes there', async () => {
    async function* cut() {
      yield Buffer.from('ab');
      throw new Error('socket hang up');
    }
    async function* rest() {
      yield Buffer.from('cd');
    }
    const want = { digest: sha256('abcd'), size: 4 };
    await expect(store.writeFrom('r', cut(), want, undefined, undefined, { keepOnSourceError: true })).rejects.toThrow(/hang up/);
    expect(store.ingestOffset('r')).toBe(2);
    expect(await store.writeFrom('r', rest(), want, undefined, 2, { keepOnSourceError: true })).toBe(want.digest);
    expect(store.ingests()).toEqual([]);
    // Without the option, or on bad data, nothing stays.
    await expect(store.writeFrom('q', cut(), { digest: sha256('abzz'), size: 4 })).rejects.toThrow(/hang up/);
    expect(store.ingests()).toEqual([]);
    async function* tooMuch() {
      yield Buffer.from('abcdef');
    }
    await expect(store.writeFrom('p', tooMuch(), { digest: sha256('x'), size: 4 }, undefined, undefined, { keepOnSourceError: true })).rejects.toThrow(/more than the expected 4/);
    expect(store.ingests()).toEqual([]);
  });
});
