// `events ID [--stats] [--interval]`: runc's JSON lines. The stats document has
// the shape runc gives for the same container, an OOM inside the memory limit
// produces an `oom` event, and the stream ends when the container stops.
// Runs against berth-runtime and, with BERTH_TEST_RUNTIME=runc, against runc.
// Divergence: runc 1.1.5 keeps printing stats of a stopped container forever;
// berth-runtime ends the stream when the container stops (only berth is held to that).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runtimeUnderTest } from '../helpers.js';
import { canRun, isBerth, suite } from './rt.js';

const v1 = existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes');
const hasRunc = spawnSync('runc', ['--version']).status === 0;

/** Paths of every leaf (`cpu.usage.total:number`), map-like objects (raw) left out. */
function shape(o: unknown, p = ''): string[] {
  if (o === null || typeof o !== 'object') return [`${p}:${o === null ? 'null' : typeof o}`];
  if (Array.isArray(o)) return [`${p}[]`];
  return Object.keys(o)
    .filter((k) => k !== 'raw')
    .flatMap((k) => shape((o as Record<string, unknown>)[k], `${p}.${k}`));
}

interface Stream {
  child: ChildProcess;
  lines: any[];
  exited: Promise<number | null>;
}

function follow(root: string, args: string[]): Stream {
  const child = spawn(runtimeUnderTest, ['--root', root, 'events', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: any[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

async function until(cond: () => boolean, ms = 15_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return cond();
}

describe.skipIf(!canRun || !v1)('events', () => {
  const s = suite('ev');
  const streams: Stream[] = [];
  afterEach(() => {
    for (const st of streams) if (st.child.exitCode === null) st.child.kill('SIGKILL');
    streams.length = 0;
  });

  const running = (args: string[], resources: object = {}) => {
    const id = s.id();
    const b = s.bundle({ args, edit: (c) => (c.linux.resources = { ...c.linux.resources, ...resources }) });
    expect(s.rt(['run', '-d', '-b', b, id], { files: true }).status).toBe(0);
    return { id, b };
  };

  it('--stats prints one stats event with runc’s fields and exits', () => {
    const { id, b } = running(['sleep', '60'], { pids: { limit: 50 }, memory: { limit: 64 * 1024 * 1024 } });
    const r = s.rt(['events', '--stats', id]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const e = JSON.parse(lines[0]!);
    expect(e.type).toBe('stats');
    expect(e.id).toBe(id);
    expect(Object.keys(e.data)).toEqual(['cpu', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb', 'intel_rdt', 'network_interfaces']);
    expect(e.data.pids).toEqual({ current: 1, limit: 50 });
    expect(e.data.memory.usage.limit).toBe(64 * 1024 * 1024);
    expect(e.data.memory.usage.usage).toBeGreaterThan(0);
    expect(e.data.cpu.usage.total).toBeGreaterThan(0);
    expect(e.data.memory.raw.total_rss).toBeTypeOf('number');
    // v1 "unlimited" is 2^63 - 4096: printed digit for digit, as Go does.
    expect(r.stdout).toMatch(/"kernel":\{"limit":9223372036854771712,/);

    if (isBerth && hasRunc) {
      // The same bundle under runc: the same fields (values differ, and zero ones are omitted alike).
      const root = mkdtempSync(join(tmpdir(), 'rt-ev-runc-'));
      const rid = `rt-ev-runc-${process.pid}`;
      try {
        expect(spawnSync('runc', ['--root', root, 'run', '-d', '-b', b, rid], { stdio: 'ignore' }).status).toBe(0);
        const theirs = JSON.parse(spawnSync('runc', ['--root', root, 'events', '--stats', rid], { encoding: 'utf8' }).stdout);
        const ignore = (k: string) => k.startsWith('.data.cpu.throttling') || k.startsWith('.data.memory.cache');
        expect(shape(e).filter((k) => !ignore(k)).sort()).toEqual(shape(theirs).filter((k) => !ignore(k)).sort());
        expect(Object.keys(e.data.memory.raw).sort()).toEqual(Object.keys(theirs.data.memory.raw).sort());
      } finally {
        spawnSync('runc', ['--root', root, 'delete', '--force', rid], { stdio: 'ignore' });
        rmSync(root, { recursive: true, force: true });
      }
    }
  });

  it('streams stats every interval and ends when the container stops', async () => {
    const { id } = running(['sleep', '60']);
    const st = follow(s.root, ['--interval', '200ms', id]);
    streams.push(st);
    expect(await until(() => st.lines.length >= 3)).toBe(true);
    expect(st.lines.every((l) => l.type === 'stats' && l.id === id)).toBe(true);
    expect(s.rt(['kill', id, 'KILL']).status).toBe(0);
    if (isBerth) expect(await st.exited).toBe(0);
  });

  it('reports an oom event when the container outgrows its memory limit', async () => {
    const { id } = running(['sh', '-c', 'sleep 1; tail /dev/zero'], { memory: { limit: 16 * 1024 * 1024, swap: 16 * 1024 * 1024 } });
    const st = follow(s.root, ['--interval', '10s', id]);
    streams.push(st);
    expect(await until(() => st.lines.some((l) => l.type === 'oom'))).toBe(true);
    expect(st.lines.find((l) => l.type === 'oom')).toEqual({ type: 'oom', id });
    if (isBerth) expect(await st.exited).toBe(0);
  });

  it('refuses a stopped container and a bad interval', async () => {
    const { id } = running(['true']);
    expect(await s.waitStatus(id, 'stopped')).toBe('stopped');
    const r = s.rt(['events', '--stats', id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`container with id ${id} is not running`));
    const bad = s.rt(['events', '--interval', 'soon', id]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/soon/);
  });
});
