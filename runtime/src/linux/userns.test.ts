import { describe, expect, it } from 'vitest';
import { nsexecPrefix, userNamespaceOf } from './userns.js';

const map = (containerID: number, hostID: number, size: number) => ({ containerID, hostID, size });
const withUser = (extra: Record<string, unknown>, ns: Record<string, unknown> = { type: 'user' }) => ({
  namespaces: [{ type: 'pid' }, { type: 'mount' }, ns],
  ...extra,
});

describe('userNamespaceOf', () => {
  it('no user namespace and no maps', () => {
    expect(userNamespaceOf({ namespaces: [{ type: 'pid' }] })).toEqual({ mode: 'none' });
    expect(userNamespaceOf(undefined)).toEqual({ mode: 'none' });
  });

  it('a new one with its maps', () => {
    const ns = userNamespaceOf(withUser({ uidMappings: [map(0, 1000, 1), map(1, 100000, 65535)], gidMappings: [map(0, 1000, 1)] }));
    expect(ns).toEqual({ mode: 'new', uidMappings: [map(0, 1000, 1), map(1, 100000, 65535)], gidMappings: [map(0, 1000, 1)] });
  });

  it('joined by path, maps ignored', () => {
    expect(userNamespaceOf(withUser({ uidMappings: [map(0, 1, 1)] }, { type: 'user', path: '/proc/self/ns/user' }))).toEqual({
      mode: 'join',
      path: '/proc/self/ns/user',
    });
  });

  it.each([
    [{ uidMappings: [map(0, 1, 1)], gidMappings: [map(0, 1, 1)], namespaces: [{ type: 'pid' }] }, /no user namespace/],
    [withUser({ gidMappings: [map(0, 1, 1)] }), /uidMappings is missing/],
    [withUser({ uidMappings: [map(0, 1, 1)] }), /gidMappings is missing/],
    [withUser({ uidMappings: [], gidMappings: [map(0, 1, 1)] }), /uidMappings: must not be empty/],
    [withUser({ uidMappings: [map(0, 1, 0)], gidMappings: [map(0, 1, 1)] }), /uidMappings\[0\]\.size/],
    [withUser({ uidMappings: [{ containerID: 0, hostID: '1', size: 1 }], gidMappings: [map(0, 1, 1)] }), /uidMappings\[0\]\.hostID/],
    [withUser({ uidMappings: [map(0, 100, 10), map(10, 105, 10)], gidMappings: [map(0, 1, 1)] }), /uidMappings\[1\] overlaps .*uidMappings\[0\] \(hostID/],
    [withUser({ uidMappings: [map(0, 100, 10), map(5, 500, 10)], gidMappings: [map(0, 1, 1)] }), /uidMappings\[1\] overlaps .*\(containerID/],
    [withUser({ uidMappings: [map(1, 100, 10)], gidMappings: [map(0, 1, 1)] }), /uidMappings: does not map id 0/],
    [withUser({}, { type: 'user', path: '/no/such/ns' }), /\/no\/such\/ns does not exist/],
  ])('refuses %j', (linux, message) => {
    expect(() => userNamespaceOf(linux)).toThrow(message);
  });
});

describe('nsexecPrefix', () => {
  it('a new user and pid namespace, waited for or not; or a joined user namespace', () => {
    const created = { mode: 'new' as const, uidMappings: [map(0, 1, 1)], gidMappings: [map(0, 1, 1)] };
    expect(nsexecPrefix('/x/berth-nsexec', 4, created, true, true)).toEqual(['/x/berth-nsexec', '-s', '4', '-U', '-p', '-w', '--']);
    expect(nsexecPrefix('/x/berth-nsexec', 4, created, true, false)).toEqual(['/x/berth-nsexec', '-s', '4', '-U', '-p', '--']);
    expect(nsexecPrefix('/x/berth-nsexec', 3, { mode: 'join', path: '/proc/9/ns/user' }, false, true)).toEqual([
      '/x/berth-nsexec',
      '-s',
      '3',
      '-u',
      '/proc/9/ns/user',
      '--',
    ]);
  });
});
