import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Metadata } from '../metadata.js';
import type { Tasks } from '../tasks.js';
import { unary } from './common.js';

const stdio = (req: any) => ({ stdin: req.stdin ?? '', stdout: req.stdout ?? '', stderr: req.stderr ?? '', terminal: !!req.terminal });

export function tasksService(meta: Metadata, tasks: Tasks): UntypedServiceImplementation {
  const empty = {};
  return {
    Create: unary<any, any>(meta, (req, ns) => tasks.create(ns, { ...req, ...stdio(req) })),
    Start: unary<any, any>(meta, async (req, ns) => ({ pid: await tasks.start(ns, req.container_id, req.exec_id) })),
    Delete: unary<any, any>(meta, (req, ns) => tasks.delete(ns, req.container_id)),
    DeleteProcess: unary<any, any>(meta, (req, ns) => tasks.deleteProcess(ns, req.container_id, req.exec_id)),
    Kill: unary<any, any>(meta, async (req, ns) => {
      await tasks.kill(ns, req.container_id, req.exec_id, req.signal, req.all);
      return empty;
    }),
    Exec: unary<any, any>(meta, async (req, ns) => {
      await tasks.exec(ns, req.container_id, req.exec_id, stdio(req), req.spec);
      return empty;
    }),
    ResizePty: unary<any, any>(meta, async (req, ns) => {
      await tasks.resize(ns, req.container_id, req.exec_id, req.width, req.height);
      return empty;
    }),
    CloseIO: unary<any, any>(meta, async (req, ns) => {
      if (req.stdin) await tasks.closeIO(ns, req.container_id, req.exec_id);
      return empty;
    }),
    Pause: unary<any, any>(meta, async (req, ns) => {
      await tasks.pause(ns, req.container_id);
      return empty;
    }),
    Resume: unary<any, any>(meta, async (req, ns) => {
      await tasks.resume(ns, req.container_id);
      return empty;
    }),
    Wait: unary<any, any>(meta, (req, ns) => tasks.wait(ns, req.container_id, req.exec_id)),
    Get: unary<any, any>(meta, async (req, ns) => ({ process: await tasks.get(ns, req.container_id, req.exec_id) })),
    List: unary<any, any>(meta, async (_req, ns) => ({ tasks: await tasks.list(ns) })),
    ListPids: unary<any, any>(meta, async (req, ns) => ({ processes: await tasks.pids(ns, req.container_id) })),
    Metrics: unary<any, any>(meta, async (req, ns) => ({ metrics: await tasks.metrics(ns, req.container_ids ?? []) })),
    Update: unary<any, any>(meta, async (req, ns) => {
      await tasks.update(ns, req.container_id, req.resources);
      return empty;
    }),
  };
}
