// API versioning as dockerd does it: paths with or without /v1.NN, the headers on
// every response, and Docker's messages for versions out of range.
import type { NextFunction, Request, Response } from 'express';
import { invalid } from '../errors.js';

export const API_VERSION = '1.51';
export const MIN_API_VERSION = '1.40';
export const SERVER_NAME = `berthd/${process.env.BERTH_VERSION ?? '0.0.0-dev'} (linux)`;

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** The API version a request was made with (from its path), kept on res.locals. */
export function requestVersion(res: Response): string {
  return (res.locals.apiVersion as string | undefined) ?? API_VERSION;
}

export function versionMiddleware(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Api-Version', API_VERSION);
  res.setHeader('Server', SERVER_NAME);
  res.setHeader('Ostype', 'linux');
  res.setHeader('Docker-Experimental', 'false');
  const m = /^\/v([0-9]+(?:\.[0-9]+)*)(\/.*)$/.exec(req.url);
  if (m) {
    const v = m[1]!;
    req.url = m[2]!;
    res.locals.apiVersion = v;
    if (compareVersions(v, MIN_API_VERSION) < 0) {
      next(
        invalid(
          `client version ${v} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
        ),
      );
      return;
    }
    if (compareVersions(v, API_VERSION) > 0) {
      next(invalid(`client version ${v} is too new. Maximum supported API version is ${API_VERSION}`));
      return;
    }
  }
  next();
}
