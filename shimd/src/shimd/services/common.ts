// What every gRPC adapter shares: the call's namespace, and errors turned into
// gRPC statuses (by grpc-errors.ts, the one place that maps kinds to codes).
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { NAMESPACE_METADATA_KEY } from '@berth/proto';
import { toGrpcError } from '../grpc-errors.js';
import type { Metadata } from '../metadata.js';

export function namespaceOf(call: { metadata: { get(key: string): unknown[] } }): string | undefined {
  const v = call.metadata.get(NAMESPACE_METADATA_KEY)[0];
  return v === undefined ? undefined : String(v);
}

/** A unary handler: `fn` gets the request (and the resolved namespace when `meta` is given). */
export function unary<Req, Res>(meta: Metadata | undefined, fn: (req: Req, ns: string) => Res | Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    (async () => fn(call.request, meta ? meta.resolveNamespace(namespaceOf(call)) : ''))().then(
      (res) => callback(null, res),
      (err) => callback(toGrpcError(err) as any),
    );
  };
}
