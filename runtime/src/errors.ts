// One error family for the runtime. The CLI prints them runc-style in one place
// (log.ts); the shim maps `kind` to gRPC codes when it calls the library.
export type ErrorKind = 'NotFound' | 'AlreadyExists' | 'InvalidArgument' | 'FailedPrecondition' | 'Internal';

export class RuntimeError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly errno?: number,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}

export const notFound = (m: string) => new RuntimeError('NotFound', m);
export const alreadyExists = (m: string) => new RuntimeError('AlreadyExists', m);
export const invalid = (m: string) => new RuntimeError('InvalidArgument', m);
export const precondition = (m: string) => new RuntimeError('FailedPrecondition', m);

/** The message of any thrown value, on one line. */
export function errorMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s*\n\s*/g, ' ').trim();
}
