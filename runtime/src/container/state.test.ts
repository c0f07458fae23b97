import { describe, expect, it } from 'vitest';
import { checkId, computeStatus, type SavedState, toOciState } from './state.js';

const saved = (pid: number): SavedState => ({
  ociVersion: '1.2.0',
  id: 'c1',
  pid,
  pidStartTime: 'nope',
  bundle: '/b',
  rootfs: '/b/rootfs',
  created: '2026-01-01T00:00:00Z',
  owner: '',
  namespaces: {},
  newPidNs: true,
});

describe('state', () => {
  it('a dead or reused pid is stopped, and stopped reports pid 0', () => {
    // Our own pid is alive, but its start time does not match: a reused pid.
    expect(computeStatus('/nonexistent', saved(process.pid), () => false)).toBe('stopped');
    expect(toOciState(saved(process.pid), 'stopped').pid).toBe(0);
  });

  it('prints runc\'s fields, annotations only when present', () => {
    const s = toOciState(saved(42), 'running');
    expect(Object.keys(s)).toEqual(['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner']);
    expect(toOciState({ ...saved(42), annotations: { a: 'b' } }, 'running').annotations).toEqual({ a: 'b' });
  });

  it('checks ids like runc', () => {
    expect(() => checkId('ok-id_1.2+x')).not.toThrow();
    for (const bad of ['', '.', '..', 'a/b', 'a b']) expect(() => checkId(bad)).toThrow(/invalid id format/);
  });
});
