// `update ID`: new linux.resources for a running container's cgroup, from
// --resources FILE (`-` for stdin, the form containerd uses) and/or runc's flags.
import { readFileSync } from 'node:fs';
import { invalid } from '../errors.js';
import type { GlobalOptions } from '../main.js';
import { parseArgs, requireId } from './args.js';

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseArgs(argv, {
    resources: { type: 'string', short: 'r' },
    memory: { type: 'number' },
    'memory-reservation': { type: 'number' },
    'memory-swap': { type: 'number' },
    'pids-limit': { type: 'number' },
    'cpu-shares': { type: 'number' },
    'cpu-quota': { type: 'number' },
    'cpu-period': { type: 'number' },
    'cpuset-cpus': { type: 'string' },
    'cpuset-mems': { type: 'string' },
  });
  const id = requireId(p, 'update');
  let r: any = {};
  if (p.flags.resources) {
    const file = p.flags.resources as string;
    try {
      r = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
    } catch (err: any) {
      throw invalid(`update: resources ${file}: ${err?.message ?? err}`);
    }
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw invalid('update: resources must be a JSON object');
  }
  const f = p.flags;
  const set = (group: string, key: string, v: unknown) => {
    if (v === undefined) return;
    r[group] = { ...(r[group] ?? {}), [key]: v };
  };
  set('memory', 'limit', f.memory);
  set('memory', 'reservation', f['memory-reservation']);
  set('memory', 'swap', f['memory-swap']);
  set('pids', 'limit', f['pids-limit']);
  set('cpu', 'shares', f['cpu-shares']);
  set('cpu', 'quota', f['cpu-quota']);
  set('cpu', 'period', f['cpu-period']);
  set('cpu', 'cpus', f['cpuset-cpus']);
  set('cpu', 'mems', f['cpuset-mems']);
  const { load } = await import('../container/lifecycle.js');
  const c = load(g.root, id);
  if (c.status === 'stopped') throw invalid('container not running');
  c.cgroup.set(r);
  return 0;
}
