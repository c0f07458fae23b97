import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { invalidArgument } from '../../errors.js';
import type { Metadata } from '../metadata.js';
import type { Tasks } from '../tasks.js';
import { unary } from './common.js';

export function containersService(meta: Metadata, tasks: Tasks): UntypedServiceImplementation {
  return {
    Create: unary<any, any>(meta, (req, ns) => {
      if (!req.container) throw invalidArgument('container is required');
      return { container: meta.createContainer(ns, req.container) };
    }),
    Get: unary<any, any>(meta, (req, ns) => ({ container: meta.getContainer(ns, req.id) })),
    List: unary<any, any>(meta, (req, ns) => ({ containers: meta.listContainers(ns, req.labels ?? {}) })),
    Update: unary<any, any>(meta, (req, ns) => {
      if (!req.container) throw invalidArgument('container is required');
      return { container: meta.updateContainer(ns, req.container, req.update_mask ?? []) };
    }),
    Delete: unary<any, any>(meta, (req, ns) => {
      meta.deleteContainer(ns, req.id, tasks.hasTask(ns, req.id));
      return {};
    }),
  };
}
