// 20 containers at once through one shimd; with them idle, the PSS of each
// berth-shim is measured (/proc/PID/smaps_rollup) and printed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupShimd, type Client, processesMatching, type Shimd, specFor, startShimd, uid } from './helpers.js';

const N = 20;

function pssKb(pid: number): number {
  const m = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+) kB/m);
  return Number(m?.[1] ?? 0);
}

describe('20 containers concurrently', () => {
  let shimd: Shimd;
  let c: Client;

  beforeAll(async () => {
    shimd = await startShimd();
    c = shimd.client();
  });
  afterAll(async () => {
    c?.close();
    await cleanupShimd(shimd);
  });

  it('creates, starts, measures, kills and deletes 20 tasks in parallel', async () => {
    const ids = Array.from({ length: N }, () => uid());
    await Promise.all(
      ids.map(async (id) => {
        await c.containers('Create', { container: { id, spec: specFor(['sleep', '1000']) } });
        await c.tasks('Create', { container_id: id });
        await c.tasks('Start', { container_id: id });
      }),
    );
    const tasks = (await c.tasks('List')).tasks.filter((t: any) => ids.includes(t.container_id));
    expect(tasks).toHaveLength(N);
    for (const t of tasks) expect(t.status).toBe('RUNNING');
    expect(new Set(tasks.map((t: any) => t.pid)).size).toBe(N);

    const shimPids = ids.map((id) => JSON.parse(readFileSync(join(shimd.state, 'tasks', 'default', id, 'task.json'), 'utf8')).shim_pid as number);
    const pss = shimPids.map(pssKb);
    const avg = pss.reduce((a, b) => a + b, 0) / pss.length;
    console.log(`berth-shim PSS with ${N} idle containers: avg ${(avg / 1024).toFixed(2)} MB, min ${(Math.min(...pss) / 1024).toFixed(2)}, max ${(Math.max(...pss) / 1024).toFixed(2)}`);
    expect(avg).toBeGreaterThan(0);

    await Promise.all(ids.map((id) => c.tasks('Kill', { container_id: id, signal: 9 })));
    const waits = await Promise.all(ids.map((id) => c.tasks('Wait', { container_id: id })));
    for (const w of waits) expect(w.exit_status).toBe(137);
    await Promise.all(
      ids.map(async (id) => {
        await c.tasks('Delete', { container_id: id });
        await c.containers('Delete', { id });
      }),
    );
    for (const id of ids) expect(processesMatching(`--id ${id} `)).toEqual([]);
    expect((await c.containers('List')).containers).toEqual([]);
  });
});
