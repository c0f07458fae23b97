// The one place where shimd's error kinds become gRPC status codes.
import { status, type ServiceError, Metadata } from '@grpc/grpc-js';
import { type ErrorKind, errorKind, errorMessage } from '../errors.js';

const CODES: Record<ErrorKind, status> = {
  NotFound: status.NOT_FOUND,
  AlreadyExists: status.ALREADY_EXISTS,
  FailedPrecondition: status.FAILED_PRECONDITION,
  InvalidArgument: status.INVALID_ARGUMENT,
  Unavailable: status.UNAVAILABLE,
  Internal: status.INTERNAL,
};

export function toGrpcError(err: unknown): Partial<ServiceError> {
  const code = CODES[errorKind(err)];
  return { code, details: errorMessage(err), message: errorMessage(err), metadata: new Metadata() };
}
