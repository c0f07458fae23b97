import type { GlobalOptions } from '../main.js';

export default async function (_argv: string[], _g: GlobalOptions): Promise<number> {
  const { features } = await import('../container/spec.js');
  const out = features() as any;
  // runtime-spec features.md: rdma limits are written when the host has the controller;
  // Intel RDT (resctrl) is refused (see container/cgroup.ts checkIntelRdt).
  if (out.linux?.cgroup) out.linux.cgroup.rdma = true;
  if (out.linux) out.linux.intelRdt = { enabled: false };
  process.stdout.write(`${JSON.stringify(out, null, '    ')}\n`);
  return 0;
}
