// For the e2e suites (whose package does not depend on gRPC): the gRPC library and
// the proto loader as this package resolves them, so tests drive the same code.
export * as grpc from '@grpc/grpc-js';
export { loadProto, namespaceMetadata } from '@berth/proto';
