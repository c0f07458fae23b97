import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_OVERLAY_OPTIONS, Snapshotter } from './overlay.js';

describe('overlay mount options', () => {
  let dir: string;
  let links: string; // a short base, as /run/berth/l is
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'img-unit-overlay-'));
    links = mkdtempSync(join(tmpdir(), 'l-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(links, { recursive: true, force: true });
  });

  /** A chain of n committed layers; returns the top one's name. */
  const chain = (s: Snapshotter, n: number): string => {
    let parent: string | undefined;
    for (let i = 0; i < n; i++) {
      s.prepareDir(`x${i}`, parent);
      s.commit(`layer-${i}`, `x${i}`);
      parent = `layer-${i}`;
    }
    return parent!;
  };

  it('keeps full paths while they fit and switches to short links when they do not', () => {
    const root = join(dir, 'a-rather-long-directory-name-for-the-snapshotter-root', 'snapshots');
    const s = new Snapshotter(root, 'overlay', { linkBase: links });
    const top = chain(s, 20);
    const few = s.prepare('c1', 'layer-2')[0]!.options;
    expect(few.find((o) => o.startsWith('lowerdir='))).toBe(`lowerdir=${[2, 1, 0].map((i) => s.dir(`layer-${i}`)).join(':')}`);
    const opts = s.prepare('c2', top)[0]!.options;
    const lower = opts.find((o) => o.startsWith('lowerdir='))!.slice(9).split(':');
    expect(lower).toHaveLength(20);
    // 20 layers fit with full paths here.
    expect(lower[0]).toBe(s.dir('layer-19'));
  });

  it('names 120 lower dirs by short links that point at the layers, within a page', { timeout: 60_000 }, () => {
    const root = join(dir, 'a-rather-long-directory-name-for-the-snapshotter-root', 'snapshots');
    const s = new Snapshotter(root, 'overlay', { linkBase: links });
    const top = chain(s, 120);
    const opts = s.prepare('c', top)[0]!.options;
    expect(opts.join(',').length).toBeLessThanOrEqual(MAX_OVERLAY_OPTIONS);
    const lower = opts.find((o) => o.startsWith('lowerdir='))!.slice(9).split(':');
    expect(lower).toHaveLength(120);
    expect(lower.every((l) => l.startsWith(`${s.linkDir}/`))).toBe(true);
    expect(readlinkSync(lower[0]!)).toBe(s.dir('layer-119'));
    expect(readlinkSync(lower[119]!)).toBe(s.dir('layer-0'));
    // A read-only view of the same chain too.
    expect(s.view('v', top)[0]!.options[0]!.length).toBeLessThanOrEqual(MAX_OVERLAY_OPTIONS);
  });

  it('refuses a chain too deep even for short links, naming the depth, and makes no snapshot', () => {
    const s = new Snapshotter(join(dir, 'root'), 'overlay', { linkBase: links });
    const top = chain(s, 170);
    expect(() => s.prepare('c', top)).toThrow(/chain of 170 layers is too deep for one overlay mount/);
    expect(s.exists('c')).toBe(false);
    expect(s.list()).toHaveLength(170);
  }, 60_000);
});
