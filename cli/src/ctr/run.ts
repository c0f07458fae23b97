import { parseFlags, UsageError } from './args.js';
import type { ShimdClient } from './client.js';
import { CREATE_USAGE, createContainer, createFlags, deleteContainer } from './containers.js';
import { runProcess } from './tasks.js';

/** `run [--rm] [-d] [--log PATH] (IMAGE ID | --rootfs PATH ID | --bundle DIR ID) [ARGS...]`: create + start. */
export async function run(c: ShimdClient, argv: string[]): Promise<number> {
  const p = parseFlags(argv, { ...createFlags, values: [...createFlags.values, 'log'] }, 1);
  if (!p.args[0]) throw new UsageError(`usage: berth ctr run [--rm] [-d] [--log PATH] ${CREATE_USAGE}`);
  if (p.flags.rm && p.flags.detach) throw new UsageError('--rm and --detach cannot be combined');
  const { id, snapshotKey } = await createContainer(c, p.flags, p.multi, p.args);
  try {
    return await runProcess(c, id, { tty: !!p.flags.tty, detach: !!p.flags.detach, rm: !!p.flags.rm, log: p.flags.log as string | undefined });
  } catch (err) {
    if (p.flags.rm) {
      // Leave nothing behind when the task could not even start.
      await c.tasks('Delete', { container_id: id }).catch(() => {});
      await deleteContainer(c, id).catch(() => {});
      if (snapshotKey) await c.snapshots('Remove', { key: snapshotKey }).catch(() => {});
    }
    throw err;
  }
}
