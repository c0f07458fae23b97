// berthd's one error family. Services throw DaemonError with a kind; the API layer
// turns kinds into HTTP status codes in exactly one place (httpStatus), as moby's
// errdefs → status mapping does.

export type ErrorKind =
  | 'invalid-argument' // 400
  | 'unauthorized' // 401
  | 'forbidden' // 403
  | 'not-found' // 404
  | 'conflict' // 409
  | 'not-modified' // 304
  | 'not-implemented' // 501
  | 'unavailable' // 503
  | 'internal'; // 500

export class DaemonError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DaemonError';
  }
}

export const invalid = (msg: string) => new DaemonError('invalid-argument', msg);
export const notFound = (msg: string) => new DaemonError('not-found', msg);
export const conflict = (msg: string) => new DaemonError('conflict', msg);
export const notModified = () => new DaemonError('not-modified', '');
export const notImplemented = (msg: string) => new DaemonError('not-implemented', msg);
export const unavailable = (msg: string) => new DaemonError('unavailable', msg);

const STATUS: Record<ErrorKind, number> = {
  'invalid-argument': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'not-modified': 304,
  'not-implemented': 501,
  unavailable: 503,
  internal: 500,
};

/** The one mapping from an error to the HTTP status and body berthd answers with. */
export function httpError(err: unknown): { status: number; body: { message: string } | undefined } {
  if (err instanceof DaemonError) {
    const status = STATUS[err.kind];
    return { status, body: status === 304 ? undefined : { message: err.message } };
  }
  // express's body parser marks malformed JSON with type 'entity.parse.failed'.
  const e = err as { type?: string; status?: number; message?: string };
  if (e && e.type === 'entity.parse.failed') {
    return { status: 400, body: { message: `invalid JSON: ${e.message ?? 'malformed body'}` } };
  }
  if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return { status: e.status, body: { message: e.message ?? 'bad request' } };
  }
  return { status: 500, body: { message: e?.message ?? String(err) } };
}
