// `update ID`: new linux.resources for a running container's cgroup, from
// --resources FILE (`-` for stdin, the form containerd uses) or runc's flags. As
// in runc, a resources file makes every other flag ignored; memory sizes take
// docker's units (`10m`, `1.5g`) and "-1" for unlimited; a value the kernel
// refuses fails with the file named.
import { existsSync, readFileSync } from 'node:fs';
import type { LinuxResources } from 'oci-spec-types';
import { invalid, precondition } from '../errors.js';
import type { GlobalOptions } from '../main.js';
import { parseArgs, requireId } from './args.js';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** docker/go-units RAMInBytes: binary units, optional `i`/`b` suffix, case-insensitive. */
export function ramInBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kmgtp])?i?b?$/i.exec(text);
  if (!m) throw new Error(`invalid size: '${text}'`);
  const n = Number.parseFloat(m[1]!);
  if (!Number.isFinite(n)) throw new Error(`invalid size: '${text}'`);
  return Math.trunc(n * UNITS[(m[2] ?? '').toLowerCase()]!);
}

function parseUint(opt: string, v: string): number {
  if (!/^\d+$/.test(v)) throw invalid(`invalid value for ${opt}: strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
}

function parseInt64(opt: string, v: string): number {
  if (!/^[+-]?\d+$/.test(v)) throw invalid(`invalid value for ${opt}: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
}

function parseMemory(opt: string, v: string): number {
  if (v === '-1') return -1;
  try {
    return ramInBytes(v);
  } catch (err: any) {
    throw invalid(`invalid value for ${opt}: ${err.message}`);
  }
}

/** Intel RDT needs the resctrl filesystem; this runtime has no RDT support beyond refusing clearly. */
function checkIntelRdt(l3: string | undefined, mb: string | undefined): void {
  if (l3 && !existsSync('/sys/fs/resctrl/info/L3')) throw invalid('Intel RDT/CAT: l3 cache schema is not enabled');
  if (mb && !existsSync('/sys/fs/resctrl/info/MB')) throw invalid('Intel RDT/MBA: memory bandwidth schema is not enabled');
  if (l3 || mb) throw invalid('Intel RDT: berth-runtime does not support resctrl schemas');
}

/** The resources an `update` command line asks for (exported for unit tests). */
export function resourcesFromArgs(argv: string[]): { id: string; resources: LinuxResources } {
  const p = parseArgs(argv, {
    resources: { type: 'string', short: 'r' },
    'blkio-weight': { type: 'number' },
    'cpu-period': { type: 'string' },
    'cpu-quota': { type: 'string' },
    'cpu-share': { type: 'string' },
    // Older docker/containerd spell it --cpu-shares; accepted as the same flag.
    'cpu-shares': { type: 'string' },
    'cpu-rt-period': { type: 'string' },
    'cpu-rt-runtime': { type: 'string' },
    'cpuset-cpus': { type: 'string' },
    'cpuset-mems': { type: 'string' },
    memory: { type: 'string' },
    'memory-reservation': { type: 'string' },
    'memory-swap': { type: 'string' },
    'kernel-memory': { type: 'string' },
    'kernel-memory-tcp': { type: 'string' },
    'pids-limit': { type: 'number' },
    'l3-cache-schema': { type: 'string' },
    'mem-bw-schema': { type: 'string' },
  });
  const id = requireId(p, 'update');
  const f = p.flags as Record<string, string | number | undefined>;
  checkIntelRdt(f['l3-cache-schema'] as string | undefined, f['mem-bw-schema'] as string | undefined);
  if (f.resources !== undefined) {
    const file = String(f.resources);
    let r: unknown;
    try {
      r = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
    } catch (err: any) {
      throw invalid(`update: resources ${file}: ${err?.message ?? err}`);
    }
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw invalid(`update: resources ${file}: must be a JSON object (linux.resources)`);
    return { id, resources: r as LinuxResources };
  }
  const r: LinuxResources = {};
  const cpu: NonNullable<LinuxResources['cpu']> = {};
  const memory: NonNullable<LinuxResources['memory']> = {};
  const str = (k: string) => (f[k] === undefined || f[k] === '' ? undefined : String(f[k]));
  const weight = f['blkio-weight'] as number | undefined;
  if (weight) {
    if (weight < 0 || weight > 65535) throw invalid(`invalid value for blkio-weight: ${weight}`);
    r.blockIO = { weight };
  }
  if (str('cpuset-cpus')) cpu.cpus = str('cpuset-cpus');
  if (str('cpuset-mems')) cpu.mems = str('cpuset-mems');
  const share = str('cpu-share') ?? str('cpu-shares');
  if (share !== undefined) cpu.shares = parseUint('cpu-share', share);
  if (str('cpu-period') !== undefined) cpu.period = parseUint('cpu-period', str('cpu-period')!);
  if (str('cpu-rt-period') !== undefined) cpu.realtimePeriod = parseUint('cpu-rt-period', str('cpu-rt-period')!);
  if (str('cpu-quota') !== undefined) cpu.quota = parseInt64('cpu-quota', str('cpu-quota')!);
  if (str('cpu-rt-runtime') !== undefined) cpu.realtimeRuntime = parseInt64('cpu-rt-runtime', str('cpu-rt-runtime')!);
  const mem: [string, 'limit' | 'swap' | 'reservation' | 'kernel' | 'kernelTCP'][] = [
    ['memory', 'limit'],
    ['memory-swap', 'swap'],
    ['memory-reservation', 'reservation'],
    ['kernel-memory', 'kernel'],
    ['kernel-memory-tcp', 'kernelTCP'],
  ];
  for (const [opt, key] of mem) {
    const v = str(opt);
    if (v !== undefined) memory[key] = parseMemory(opt, v);
  }
  const pids = f['pids-limit'] as number | undefined;
  if (pids) r.pids = { limit: pids };
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (Object.keys(memory).length) r.memory = memory;
  return { id, resources: r };
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const { id, resources } = resourcesFromArgs(argv);
  const { load } = await import('../container/lifecycle.js');
  const c = load(g.root, id);
  if (c.status === 'stopped') throw precondition('container not running');
  // Device rules stay as create set them (runc's update skips devices too): a resources
  // document from containerd carries the spec's list without the runtime's defaults.
  const { devices: _skipped, ...rest } = resources;
  c.cgroup.set(rest);
  return 0;
}
