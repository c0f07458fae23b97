import { parseFlags, UsageError } from './args.js';
import type { ShimdClient } from './client.js';
import { createContainer, createFlags } from './containers.js';
import { runProcess } from './tasks.js';

/** `run [--rm] [-t] [-d] [--runtime R] (--rootfs PATH | --bundle DIR) ID [ARGS...]`: create + start. */
export async function run(c: ShimdClient, argv: string[]): Promise<number> {
  const p = parseFlags(argv, { ...createFlags, values: [...createFlags.values, 'log'] }, 1);
  const id = p.args[0];
  if (!id) throw new UsageError('usage: berth ctr run [--rm] [-t] [-d] [--runtime R] (--rootfs PATH | --bundle DIR) ID [ARGS...]');
  if (p.flags.rm && p.flags.detach) throw new UsageError('--rm and --detach cannot be combined');
  await createContainer(c, p.flags, p.multi, id, p.args.slice(1));
  try {
    return await runProcess(c, id, { tty: !!p.flags.tty, detach: !!p.flags.detach, rm: !!p.flags.rm, log: p.flags.log as string | undefined });
  } catch (err) {
    if (p.flags.rm) {
      // Leave nothing behind when the task could not even start.
      await c.tasks('Delete', { container_id: id }).catch(() => {});
      await c.containers('Delete', { id }).catch(() => {});
    }
    throw err;
  }
}
