// One error family for shimd and the shim; shimd maps kinds to gRPC codes in
// exactly one place (shimd/grpc-errors.ts), the shim carries them in frames.
export type ErrorKind = 'NotFound' | 'AlreadyExists' | 'FailedPrecondition' | 'InvalidArgument' | 'Unavailable' | 'Internal';

export class ShimdError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (m: string) => new ShimdError('NotFound', m);
export const alreadyExists = (m: string) => new ShimdError('AlreadyExists', m);
export const failedPrecondition = (m: string) => new ShimdError('FailedPrecondition', m);
export const invalidArgument = (m: string) => new ShimdError('InvalidArgument', m);
export const unavailable = (m: string) => new ShimdError('Unavailable', m);
export const internal = (m: string) => new ShimdError('Internal', m);

export function errorKind(err: unknown): ErrorKind {
  return err instanceof ShimdError ? err.kind : 'Internal';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** RFC 3339 UTC with nanoseconds, as every time in the API is written. */
export function rfc3339(date: Date = new Date(), extraNanos = 0): string {
  const iso = date.toISOString(); // ...SS.mmmZ
  const nanos = String(date.getUTCMilliseconds() * 1_000_000 + extraNanos).padStart(9, '0');
  return `${iso.slice(0, 19)}.${nanos}Z`;
}

/** Now, with the sub-millisecond part from the monotonic clock so close events stay ordered. */
export function nowRfc3339(): string {
  const micros = Number(process.hrtime.bigint() / 1000n) % 1000;
  return rfc3339(new Date(), micros * 1000);
}
