// POST /auth: docker login. Parses the AuthConfig and formats the answer; the check
// against the registry is the login function's.
import { Router } from 'express';
import { invalid } from '../errors.js';
import type { AuthConfig, LoginResult } from '../registry/login.js';

export function authRouter(login: (auth: AuthConfig) => Promise<LoginResult>): Router {
  const r = Router();
  r.post('/auth', async (req, res) => {
    const body: unknown = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('invalid JSON: expected an AuthConfig object');
    const o = body as Record<string, unknown>;
    const str = (k: string): string | undefined => {
      const v = o[k];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'string') throw invalid(`invalid JSON: ${k} must be a string`);
      return v;
    };
    const result = await login({
      username: str('username'),
      password: str('password'),
      serveraddress: str('serveraddress'),
      identitytoken: str('identitytoken'),
      registrytoken: str('registrytoken'),
    });
    res.status(200).json(result);
  });
  return r;
}
