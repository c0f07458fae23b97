// Loads berth's APIs for gRPC clients and servers from protobufjs JSON descriptors
// (parsed from the .proto files when run from sources, made at build time in a
// bundle: see descriptors.ts). Service definitions are built here from protobufjs
// reflection rather than by @grpc/proto-loader, whose per-method file descriptors
// cost ~20-35 ms at every start and are only needed for gRPC server reflection.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs/light.js';
import { type DescriptorName, descriptor } from './descriptors.js';

/** The grpc-js this loader builds on, for packages that do not depend on it themselves. */
export { grpc };

/** gRPC metadata key that carries the namespace of a call (containerd: `containerd-namespace`). */
export const NAMESPACE_METADATA_KEY = 'berth-namespace';
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_ADDRESS = '/run/berth/shimd.sock';

export type ProtoName = Exclude<DescriptorName, 'shim'>;

/**
 * How messages look in JS for every user of this loader: field names as written in
 * the .proto (snake_case; the descriptors keep case), 64-bit integers as numbers
 * (cgroup counters stay far below 2^53), enums as their names, unset fields filled
 * with defaults. The same as @grpc/proto-loader's options of those names.
 */
export const conversionOptions: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

const roots = new Map<ProtoName, protobuf.Root>();

/** The protobufjs Root of one API (with its dependencies). */
export function loadRoot(name: ProtoName): protobuf.Root {
  let root = roots.get(name);
  if (!root) {
    root = protobuf.Root.fromJSON(descriptor(name));
    root.resolveAll();
    roots.set(name, root);
  }
  return root;
}

export type PackageDefinition = Record<string, grpc.ServiceDefinition>;

function methodDefinition(service: string, m: protobuf.Method): grpc.MethodDefinition<object, object> {
  const req = m.resolvedRequestType!;
  const res = m.resolvedResponseType!;
  const serialize = (t: protobuf.Type) => (value: object) => Buffer.from(t.encode(t.fromObject(value)).finish());
  const deserialize = (t: protobuf.Type) => (bytes: Buffer) => t.toObject(t.decode(bytes), conversionOptions);
  return {
    path: `/${service}/${m.name}`,
    requestStream: !!m.requestStream,
    responseStream: !!m.responseStream,
    requestSerialize: serialize(req),
    requestDeserialize: deserialize(req),
    responseSerialize: serialize(res),
    responseDeserialize: deserialize(res),
    originalName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
  };
}

/** The services of one API keyed by full name (`berth.shimd.v1.Tasks`), for `grpc.loadPackageDefinition`. */
export function loadPackageDefinition(name: ProtoName): PackageDefinition {
  const def: PackageDefinition = {};
  const walk = (ns: protobuf.NamespaceBase, prefix: string) => {
    for (const o of ns.nestedArray) {
      const full = prefix ? `${prefix}.${o.name}` : o.name;
      if (o instanceof protobuf.Service) {
        const service: Record<string, grpc.MethodDefinition<object, object>> = {};
        for (const m of o.methodsArray) service[m.name] = methodDefinition(full, m);
        def[full] = service as grpc.ServiceDefinition;
      } else if (o instanceof protobuf.Namespace) walk(o, full);
    }
  };
  walk(loadRoot(name), '');
  return def;
}

/** The gRPC object tree of one API: e.g. `loadProto('shimd').berth.shimd.v1.Tasks`. */
export function loadProto(name: ProtoName): grpc.GrpcObject {
  return grpc.loadPackageDefinition(loadPackageDefinition(name));
}

export interface ShimdApi {
  Namespaces: grpc.ServiceClientConstructor;
  Containers: grpc.ServiceClientConstructor;
  Tasks: grpc.ServiceClientConstructor;
  Events: grpc.ServiceClientConstructor;
}

/** The berth.shimd.v1 services (clients: `new api.Tasks(target, creds)`; servers: `api.Tasks.service`). */
export function shimdApi(): ShimdApi {
  const pkg = loadProto('shimd') as any;
  return pkg.berth.shimd.v1 as ShimdApi;
}

/** gRPC target for a unix socket path (or an address that already has a scheme). */
export function grpcTarget(address: string): string {
  return address.includes('://') || address.startsWith('unix:') ? address : `unix://${address}`;
}

/** Call metadata naming the namespace. */
export function namespaceMetadata(namespace: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(NAMESPACE_METADATA_KEY, namespace);
  return md;
}
