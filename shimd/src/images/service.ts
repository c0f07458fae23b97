// Placeholder: the images work replaces this with the Images, Content and Snapshots
// gRPC services. berth-shimd calls registerImageServices at start-up.
import type { Server } from '@grpc/grpc-js';

export interface ImageServiceContext {
  /** shimd's data root: content, snapshots and image metadata live below it. */
  root: string;
  /** Publishes an event to shimd's event stream. */
  publish(topic: string, namespace: string, event: object): void;
}

export function registerImageServices(_server: Server, _ctx: ImageServiceContext): void {}
