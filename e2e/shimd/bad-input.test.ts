// Bad input gets the right gRPC code and a message naming the problem, and leaves
// nothing behind: no shim, no bundle, no mount, no record.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupShimd, type Client, mountsUnder, processesMatching, type Shimd, specFor, startShimd, uid, runtimeName, runtimes } from './helpers.js';

const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;
const INVALID_ARGUMENT = 3;

for (const runtime of runtimes) {
  describe(`bad input with ${runtimeName(runtime)}`, () => {
    let shimd: Shimd;
    let c: Client;

    beforeAll(async () => {
      shimd = await startShimd(runtime);
      c = shimd.client();
    });
    afterAll(async () => {
      c?.close();
      await cleanupShimd(shimd);
    });

    function nothingLeft(id: string): void {
      expect(processesMatching(`--id ${id} `)).toEqual([]);
      expect(existsSync(join(shimd.state, 'tasks', 'default', id))).toBe(false);
      expect(mountsUnder(shimd.state)).toEqual([]);
      const sockets = existsSync(join(shimd.state, 's')) ? readdirSync(join(shimd.state, 's')) : [];
      expect(sockets).toEqual([]);
    }

    it('unknown ids: NOT_FOUND naming the id', async () => {
      const id = uid();
      await expect(c.containers('Get', { id })).rejects.toMatchObject({ code: NOT_FOUND, details: expect.stringContaining(id) });
      await expect(c.containers('Delete', { id })).rejects.toMatchObject({ code: NOT_FOUND });
      await expect(c.tasks('Create', { container_id: id })).rejects.toMatchObject({ code: NOT_FOUND, details: expect.stringContaining(id) });
      for (const m of ['Start', 'Delete', 'Wait', 'Get', 'Pause', 'Resume', 'ListPids', 'Kill']) {
        await expect(c.tasks(m, { container_id: id })).rejects.toMatchObject({ code: NOT_FOUND });
      }
      await expect(c.containers('Update', { container: { id, labels: {} } })).rejects.toMatchObject({ code: NOT_FOUND });
      await expect(c.namespaces('Get', { name: 'shimd-none' })).rejects.toMatchObject({ code: NOT_FOUND });
      nothingLeft(id);
    });

    it('duplicates: ALREADY_EXISTS', async () => {
      const id = uid();
      await c.containers('Create', { container: { id, spec: specFor(['sleep', '1000']) } });
      await expect(c.containers('Create', { container: { id, spec: specFor(['true']) } })).rejects.toMatchObject({ code: ALREADY_EXISTS });
      await c.tasks('Create', { container_id: id });
      await expect(c.tasks('Create', { container_id: id })).rejects.toMatchObject({ code: ALREADY_EXISTS });
      await expect(c.containers('Delete', { id })).rejects.toMatchObject({ code: FAILED_PRECONDITION });
      await c.tasks('Exec', { container_id: id, exec_id: 'e1', spec: JSON.stringify({ args: ['true'], cwd: '/' }) }).catch((e) => e);
      await c.tasks('Delete', { container_id: id });
      await c.containers('Delete', { id });
      const ns = uid();
      await c.namespaces('Create', { namespace: { name: ns } });
      await expect(c.namespaces('Create', { namespace: { name: ns } })).rejects.toMatchObject({ code: ALREADY_EXISTS });
      await c.namespaces('Delete', { name: ns });
      nothingLeft(id);
    });

    it('malformed specs and ids: INVALID_ARGUMENT naming the problem', async () => {
      const cases: [object, string][] = [
        [{ id: uid(), spec: '{not json' }, 'not valid JSON'],
        [{ id: uid(), spec: '[]' }, 'JSON object'],
        [{ id: uid(), spec: JSON.stringify({ ociVersion: '1.2.0', process: { args: [], cwd: '/' } }) }, 'process.args'],
        [{ id: uid(), spec: JSON.stringify({ ociVersion: '1.2.0', process: { args: ['true'], cwd: 'rel' } }) }, 'cwd'],
        [{ id: 'bad/id', spec: specFor(['true']) }, 'invalid container id'],
        [{ id: '', spec: specFor(['true']) }, 'invalid container id'],
        [{ id: uid(), spec: specFor(['true']), rootfs_mounts: [{ type: 'bind', source: '/nonexistent', target: '/abs' }] }, 'must be relative'],
      ];
      for (const [container, msg] of cases) {
        await expect(c.containers('Create', { container })).rejects.toMatchObject({ code: INVALID_ARGUMENT, details: expect.stringContaining(msg) });
      }
      expect((await c.containers('List')).containers).toEqual([]);

      // Task-level problems are found before anything is started.
      const id = uid();
      await c.containers('Create', { container: { id, spec: specFor(['true'], (cfg) => { cfg.root.path = '/nonexistent/rootfs'; }) } });
      await expect(c.tasks('Create', { container_id: id })).rejects.toMatchObject({ code: INVALID_ARGUMENT, details: expect.stringContaining('root.path') });
      await expect(c.tasks('Create', { container_id: id, stdout: 'relative/path' })).rejects.toMatchObject({ code: INVALID_ARGUMENT });
      await expect(c.tasks('Create', { container_id: id, log_path: '/tmp/x.log', log_format: 'syslog' })).rejects.toMatchObject({ code: INVALID_ARGUMENT, details: expect.stringContaining('syslog') });
      await c.containers('Update', { container: { id, runtime: { name: 'no-such-runtime' } }, update_mask: ['runtime'] });
      await expect(c.tasks('Create', { container_id: id })).rejects.toMatchObject({ code: INVALID_ARGUMENT, details: expect.stringContaining('no-such-runtime') });
      await c.containers('Update', { container: { id, rootfs_mounts: [{ type: 'bind', source: '/nonexistent-src', target: '' }] }, update_mask: ['rootfs'] });
      await c.containers('Update', { container: { id, runtime: { name: '' } }, update_mask: ['runtime'] });
      await expect(c.tasks('Create', { container_id: id })).rejects.toMatchObject({ code: INVALID_ARGUMENT, details: expect.stringContaining('/nonexistent-src') });
      nothingLeft(id);
      await c.containers('Delete', { id });
    });

    it('a spec the runtime rejects fails Create and leaves no shim or bundle', async () => {
      const id = uid();
      await c.containers('Create', { container: { id, spec: specFor(['/no/such/binary']) } });
      await c.tasks('Create', { container_id: id }).then(
        async () => {
          // runc reports a missing binary at start, not create.
          await expect(c.tasks('Start', { container_id: id })).rejects.toMatchObject({ details: expect.stringContaining('/no/such/binary') });
          await c.tasks('Delete', { container_id: id });
        },
        (err) => expect(err.details).toContain('/no/such/binary'),
      );
      await c.containers('Delete', { id });
      nothingLeft(id);
    });

    it('unknown namespace: NOT_FOUND; invalid namespace name: INVALID_ARGUMENT', async () => {
      const other = shimd.client('shimd-nonexistent-ns');
      await expect(other.containers('List')).rejects.toMatchObject({ code: NOT_FOUND, details: expect.stringContaining('shimd-nonexistent-ns') });
      await expect(other.tasks('List')).rejects.toMatchObject({ code: NOT_FOUND });
      other.close();
      const bad = shimd.client('bad/ns');
      await expect(bad.containers('List')).rejects.toMatchObject({ code: INVALID_ARGUMENT });
      bad.close();
      await expect(c.namespaces('Create', { namespace: { name: 'bad name' } })).rejects.toMatchObject({ code: INVALID_ARGUMENT });
    });

    it('operations in the wrong state: FAILED_PRECONDITION', async () => {
      const id = uid();
      await c.containers('Create', { container: { id, spec: specFor(['sleep', '1000']) } });
      await c.tasks('Create', { container_id: id });
      await expect(c.tasks('Resume', { container_id: id })).rejects.toMatchObject({ code: FAILED_PRECONDITION });
      await c.tasks('Start', { container_id: id });
      await expect(c.tasks('Start', { container_id: id })).rejects.toMatchObject({ code: FAILED_PRECONDITION });
      await expect(c.tasks('Delete', { container_id: id })).rejects.toMatchObject({ code: FAILED_PRECONDITION, details: expect.stringContaining('running') });
      await expect(c.tasks('ResizePty', { container_id: id, width: 10, height: 10 })).rejects.toMatchObject({ code: FAILED_PRECONDITION });
      await expect(c.tasks('Exec', { container_id: id, exec_id: 'e1', spec: '{bad' })).rejects.toMatchObject({ code: INVALID_ARGUMENT });
      await expect(c.tasks('Exec', { container_id: id, exec_id: 'bad/exec', spec: '{}' })).rejects.toMatchObject({ code: INVALID_ARGUMENT });
      await c.tasks('Kill', { container_id: id, signal: 9 });
      await c.tasks('Wait', { container_id: id });
      await expect(c.tasks('Kill', { container_id: id, signal: 9 })).rejects.toMatchObject({ code: NOT_FOUND });
      await c.tasks('Delete', { container_id: id });
      await c.containers('Delete', { id });
      nothingLeft(id);
    });
  });
}
