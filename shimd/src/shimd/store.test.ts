import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Exchange } from './events.js';
import { Metadata } from './metadata.js';
import { RecordStore } from './store.js';

describe('record store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shimd-unit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('puts, gets, lists and deletes records, leaving no temp files', () => {
    const s = new RecordStore<{ v: number }>(join(dir, 'r'));
    s.put('b', { v: 2 });
    s.put('a', { v: 1 });
    s.put('a', { v: 3 });
    expect(s.get('a')).toEqual({ v: 3 });
    expect(s.keys()).toEqual(['a', 'b']);
    s.delete('b');
    expect(s.list()).toEqual([{ v: 3 }]);
    expect(readdirSync(join(dir, 'r'))).toEqual(['a.json']);
  });

  it('ignores and sweeps the temp file of an interrupted write', () => {
    const s = new RecordStore<{ v: number }>(join(dir, 'r'));
    s.put('a', { v: 1 });
    writeFileSync(join(dir, 'r', '.123.456.x.tmp'), '{"v":');
    expect(s.list()).toEqual([{ v: 1 }]);
    expect(readdirSync(join(dir, 'r'))).toEqual(['a.json']);
  });
});

describe('metadata', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shimd-unit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const spec = JSON.stringify({ ociVersion: '1.2.0', process: { args: ['true'], cwd: '/' }, root: { path: '/' } });

  it('publishes container events in order and filters lists by label', () => {
    const ex = new Exchange();
    const seen: string[] = [];
    ex.subscribe({ topics: ['/containers/'], namespaces: [] }, (e) => seen.push(`${e.namespace} ${e.topic}`));
    const m = new Metadata(dir, ex);
    const ns = m.resolveNamespace(undefined);
    m.createContainer(ns, { id: 'a', spec, labels: { x: '1' } });
    m.createContainer(ns, { id: 'b', spec, labels: { x: '2' } });
    m.updateContainer(ns, { id: 'a', labels: { y: 'z' } }, ['labels.y']);
    m.deleteContainer(ns, 'b', false);
    expect(seen).toEqual(['default /containers/create', 'default /containers/create', 'default /containers/update', 'default /containers/delete']);
    expect(m.listContainers(ns, { x: '1' }).map((c) => c.id)).toEqual(['a']);
    expect(m.getContainer(ns, 'a').labels).toEqual({ x: '1', y: 'z' });
  });

  it('names the problem with bad input', () => {
    const m = new Metadata(dir, new Exchange());
    expect(() => m.resolveNamespace('nope')).toThrow(/namespace nope not found/);
    expect(() => m.createContainer('default', { id: 'a/b', spec })).toThrow(/invalid container id/);
    expect(() => m.createContainer('default', { id: 'a', spec: '{' })).toThrow(/not valid JSON/);
    expect(() => m.createContainer('default', { id: 'a', spec: JSON.stringify({ ociVersion: '1', process: { args: [] } }) })).toThrow(/process.args/);
    m.resolveNamespace('default');
    m.createContainer('default', { id: 'a', spec });
    expect(() => m.createContainer('default', { id: 'a', spec })).toThrow(/already exists/);
    expect(() => m.deleteContainer('default', 'a', true)).toThrow(/has a task/);
    expect(() => m.deleteNamespace('default', () => false)).toThrow(/must be empty/);
  });
});
