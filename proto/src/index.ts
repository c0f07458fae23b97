// Loads berth's .proto files for gRPC clients and servers. The .proto text is
// inlined at build time (`?raw`), so a bundled binary needs no files beside it.
import * as grpc from '@grpc/grpc-js';
import { fromJSON, type Options, type PackageDefinition } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import imagesText from '../images.proto?raw';
import shimdText from '../shimd.proto?raw';

/** The grpc-js this loader builds on, for packages that do not depend on it themselves. */
export { grpc };

/** gRPC metadata key that carries the namespace of a call (containerd: `containerd-namespace`). */
export const NAMESPACE_METADATA_KEY = 'berth-namespace';
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_ADDRESS = '/run/berth/shimd.sock';

export type ProtoName = 'shimd' | 'images';

/**
 * How messages look in JS for every user of this loader: field names as written in
 * the .proto (snake_case), 64-bit integers as numbers (cgroup counters stay far
 * below 2^53), enums as their names, unset fields filled with defaults.
 */
export const loaderOptions: Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

// images.proto builds on shimd.proto's shared messages, so shimd.proto always goes first.
const sources: Record<ProtoName, { file: string; text: string }[]> = {
  shimd: [{ file: 'shimd.proto', text: shimdText }],
  images: [
    { file: 'shimd.proto', text: shimdText },
    { file: 'images.proto', text: imagesText },
  ],
};

/** The protobufjs Root of one API (with its dependencies). */
export function loadRoot(name: ProtoName): protobuf.Root {
  const root = new protobuf.Root();
  for (const { file, text } of sources[name]) {
    const parsed = protobuf.parse(text, root, { keepCase: true });
    for (const imp of [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])]) {
      const m = /^google\/protobuf\/(.+)\.proto$/.exec(imp);
      if (!m) continue; // our own files are parsed in dependency order above
      const common = protobuf.common.get(imp) ?? protobuf.common.get(m[1]!);
      if (!common) throw new Error(`${file}: unsupported import ${imp}`);
      if (!root.lookup(`google.protobuf.${m[1]}`)) root.addJSON(common.nested as any);
    }
    void file;
  }
  root.resolveAll();
  return root;
}

/** A proto-loader package definition (for `grpc.loadPackageDefinition` or `server.addService`). */
export function loadPackageDefinition(name: ProtoName): PackageDefinition {
  return fromJSON(loadRoot(name).toJSON({ keepComments: false }) as any, loaderOptions);
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
