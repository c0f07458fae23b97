// Runs a berth command in-process against a daemon address, capturing its output.
import { PassThrough } from 'node:stream';
import { splitArgs } from '../args.js';
import { commandTable } from '../commands/table.js';
import { runCommand } from '../dispatch.js';

export interface Result {
  status: number;
  out: string;
  err: string;
}

export async function berth(host: string, args: string[], opts: { configDir?: string; stdin?: string } = {}): Promise<Result> {
  const split = splitArgs(['-H', host, ...(opts.configDir ? ['--config', opts.configDir] : []), ...args]);
  const entry = commandTable.find((c) => c.name === split.command);
  if (!entry) throw new Error(`no command ${split.command}`);
  const out = new PassThrough();
  const err = new PassThrough();
  const input = new PassThrough() as unknown as NodeJS.ReadStream;
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c) => chunks.out.push(c));
  err.on('data', (c) => chunks.err.push(c));
  if (opts.stdin !== undefined) (input as unknown as PassThrough).end(opts.stdin);
  if (split.help) split.rest.push('--help');
  const status = await runCommand(split, entry, { out, err, in: input });
  return { status, out: Buffer.concat(chunks.out).toString(), err: Buffer.concat(chunks.err).toString() };
}
