// `events ID [--stats] [--interval 5s]`: runc's event stream, one JSON object a
// line: {"type":"stats","id":…,"data":{…}} every interval (once with --stats),
// and {"type":"oom","id":…} when the memory cgroup hits its limit. Ends when the
// container stops. OOM: v1 through an eventfd registered on memory.oom_control
// with cgroup.event_control (the kernel's notification API, as runc uses it); v2
// by watching the `oom` counter of memory.events.
import { closeSync, existsSync, openSync, read, writeSync } from 'node:fs';
import { join } from 'node:path';
import { realCgroupFs } from '../cgroups/fs.js';
import { runcStats, stringifyStats } from '../cgroups/runc-stats.js';
import { errorMessage, invalid, precondition } from '../errors.js';
import { logWarn } from '../log.js';
import type { GlobalOptions } from '../main.js';
import type { CgroupNative } from '../sys/cgroup-native.js';
import { parseArgs, requireId } from './args.js';

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`5s`, `100ms`, `1m30s`) in milliseconds. */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw invalid(`invalid value "${text}" for flag -interval: parse error`);
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos === 0) throw invalid(`invalid value "${text}" for flag -interval: parse error`);
  return total;
}

const WAKE = 1n << 40n;

/** Calls `onOom` for each v1 OOM notification; returns a stop function. */
function watchOomV1(native: CgroupNative, memDir: string, onOom: () => void): () => void {
  const efd = native.eventfd(0, 0o2000000 /* EFD_CLOEXEC */);
  const ofd = openSync(join(memDir, 'memory.oom_control'), 'r');
  try {
    realCgroupFs.write(join(memDir, 'cgroup.event_control'), `${efd} ${ofd}`);
  } catch (err) {
    closeSync(ofd);
    native.close(efd);
    throw err;
  }
  let stopped = false;
  const buf = Buffer.alloc(8);
  // A blocking read on libuv's thread pool; stop() wakes it by adding WAKE to the
  // counter, so a read holding both our wake-up and a kernel notification tells them apart.
  const next = () =>
    read(efd, buf, 0, 8, null, (err, n) => {
      if (err || n !== 8) return;
      const value = buf.readBigUInt64LE(0);
      // The kernel also signals the eventfd when the cgroup is removed: not an OOM.
      if (value % WAKE !== 0n && existsSync(join(memDir, 'cgroup.event_control'))) onOom();
      if (value >= WAKE) {
        closeSync(ofd);
        native.close(efd);
        return;
      }
      next();
    });
  next();
  return () => {
    if (stopped) return;
    stopped = true;
    const wake = Buffer.alloc(8);
    wake.writeBigUInt64LE(WAKE);
    writeSync(efd, wake);
  };
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseArgs(argv, { stats: { type: 'bool' }, interval: { type: 'string' } });
  const id = requireId(p, 'events');
  const interval = parseDuration((p.flags.interval as string | undefined) ?? '5s');
  if (interval <= 0) throw invalid('duration interval must be greater than 0');
  const { load } = await import('../container/lifecycle.js');
  const c = load(g.root, id);
  if (c.status === 'stopped') throw precondition(`container with id ${id} is not running`);
  const emit = (e: object) => process.stdout.write(`${stringifyStats(e)}\n`);
  const stats = () => ({ type: 'stats', id, data: runcStats(c.cgroup, realCgroupFs) });
  if (p.flags.stats) {
    emit(stats());
    return 0;
  }

  const oom = () => emit({ type: 'oom', id });
  let stopOom = () => {};
  let lastOom = 0;
  const v2Dir = c.cgroup.version === 2 ? c.cgroup.paths[''] : undefined;
  const oomCount = () => {
    const m = /(?:^|\n)oom (\d+)/.exec(realCgroupFs.read(join(v2Dir!, 'memory.events')));
    return m ? Number(m[1]) : 0;
  };
  if (c.cgroup.version === 1 && c.cgroup.paths.memory) {
    const { loadCgroupNative } = await import('../sys/cgroup-native.js');
    try {
      stopOom = watchOomV1(loadCgroupNative(), c.cgroup.paths.memory, oom);
    } catch (err) {
      // Stats still stream; only OOM notifications are missing (say why).
      logWarn(`events: no OOM notifications for ${id}: ${errorMessage(err)}`);
    }
  }
  else if (v2Dir && existsSync(join(v2Dir, 'memory.events'))) lastOom = oomCount();

  return new Promise<number>((resolve) => {
    let nextStats = Date.now() + interval;
    const tick = () => {
      if (v2Dir && existsSync(join(v2Dir, 'memory.events'))) {
        const n = oomCount();
        for (; lastOom < n; lastOom++) oom();
      }
      const now = load(g.root, id);
      if (now.status === 'stopped') {
        // Give a pending OOM notification of the last moment the chance to print.
        setTimeout(() => {
          stopOom();
          resolve(0);
        }, 50);
        return;
      }
      if (Date.now() >= nextStats) {
        try {
          emit(stats());
        } catch {}
        nextStats += interval;
      }
      setTimeout(tick, Math.min(100, Math.max(1, nextStats - Date.now())));
    };
    setTimeout(tick, Math.min(100, interval));
  });
}
