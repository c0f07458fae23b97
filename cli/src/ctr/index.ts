// `berth ctr`: containerd's ctr verbs over berth-shimd's gRPC API.
import { DEFAULT_ADDRESS, DEFAULT_NAMESPACE } from '@berth/proto';
import { parseFlags, UsageError } from './args.js';
import { connect, describeError, type Globals } from './client.js';

const USAGE = `usage: berth ctr [--address PATH] [-n NAMESPACE] COMMAND

Commands:
  namespaces, ns   ls | create NAME [K=V...] | label NAME [K=V...] | rm NAME...
  containers, c    create [-t] [--runtime R] (IMAGE ID | --rootfs PATH ID | --bundle DIR ID) [ARGS...]
                   | ls | info ID | rm [--keep-snapshot] ID...
  tasks, t         start | ls | kill | ps | pause | resume | exec | metrics | delete | attach
  run              [--rm] [-t] [-d] [--runtime R] [--log PATH] (IMAGE ID | --rootfs PATH ID | --bundle DIR ID) [ARGS...]
  events           [--topic T]... [--namespace NS]...
  images, i        (image store)
  content          (content store)
  snapshots        (snapshots)

Global options:
  --address, -a    berth-shimd socket (default $BERTH_SHIMD_ADDRESS or ${DEFAULT_ADDRESS})
  --namespace, -n  namespace (default $BERTH_NAMESPACE or "${DEFAULT_NAMESPACE}")
`;

export async function main(argv: string[]): Promise<number> {
  let p: ReturnType<typeof parseFlags>;
  try {
    p = parseFlags(argv, { values: ['address', 'namespace'], bools: ['help'], aliases: { a: 'address', n: 'namespace', h: 'help' } }, 1);
  } catch (err) {
    process.stderr.write(`berth ctr: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const [cmd, ...rest] = p.args;
  if (!cmd || p.flags.help || cmd === 'help') {
    process.stdout.write(USAGE);
    return cmd || p.flags.help ? 0 : 2;
  }
  const g: Globals = {
    address: (p.flags.address as string) || process.env.BERTH_SHIMD_ADDRESS || DEFAULT_ADDRESS,
    namespace: (p.flags.namespace as string) || process.env.BERTH_NAMESPACE || DEFAULT_NAMESPACE,
  };
  switch (cmd) {
    case 'images':
    case 'image':
    case 'i':
      return (await import('./images.js')).main(rest, g);
    case 'content':
      return (await import('./content.js')).main(rest, g);
    case 'snapshots':
    case 'snapshot':
      return (await import('./snapshots.js')).main(rest, g);
  }
  const c = connect(g);
  try {
    switch (cmd) {
      case 'namespaces':
      case 'namespace':
      case 'ns':
        return await (await import('./namespaces.js')).namespaces(c, rest);
      case 'containers':
      case 'container':
      case 'c':
        return await (await import('./containers.js')).containers(c, rest);
      case 'tasks':
      case 'task':
      case 't':
        return await (await import('./tasks.js')).tasks(c, rest);
      case 'run':
        return await (await import('./run.js')).run(c, rest);
      case 'events':
      case 'event':
        return await (await import('./events.js')).events(c, rest);
      default:
        throw new UsageError(`unknown command ${cmd}\n${USAGE}`);
    }
  } catch (err) {
    process.stderr.write(`berth ctr: ${err instanceof UsageError ? err.message : describeError(err)}\n`);
    return err instanceof UsageError ? 2 : 1;
  } finally {
    c.close();
  }
}
