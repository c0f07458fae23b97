// One error family for the image layer: a kind (containerd's errdefs) plus a message
// that names the offending thing. service.ts maps kinds to gRPC codes in one place.
export type ImageErrorKind =
  | 'NotFound'
  | 'AlreadyExists'
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'Unavailable'
  | 'PermissionDenied'
  | 'Unauthenticated'
  | 'DataLoss'
  | 'Internal';

export class ImageError extends Error {
  readonly kind: ImageErrorKind;
  constructor(kind: ImageErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = 'ImageError';
  }
}

export const notFound = (m: string) => new ImageError('NotFound', m);
export const alreadyExists = (m: string) => new ImageError('AlreadyExists', m);
export const invalidArgument = (m: string) => new ImageError('InvalidArgument', m);
export const failedPrecondition = (m: string) => new ImageError('FailedPrecondition', m);

export function isKind(err: unknown, kind: ImageErrorKind): boolean {
  return err instanceof ImageError && err.kind === kind;
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}
