// Runs against the BUILT component (dist/) in the real runner: `alga component test`.
import { describe, expect, it } from 'vitest';
import { loadExtension } from '@alga-psa/extension-runtime/testing';

describe('{{title}}', () => {
  it('adds, lists and deletes notes', async () => {
    const ext = await loadExtension();
    try {
      const added = await ext.request('POST', '/notes', { body: { text: '  buy toner  ' } });
      expect(added.status).toBe(200);
      const note = added.json<{ id: string; text: string }>();
      expect(note.text).toBe('buy toner');
      expect((await ext.request('GET', '/notes')).json()).toEqual({ notes: [expect.objectContaining({ id: note.id, text: 'buy toner' })] });
      const second = (await ext.request('POST', '/notes', { body: { text: 'call back' } })).json<{ id: string }>();
      expect(second.id > note.id).toBe(true);
      expect((await ext.request('GET', '/notes')).json<{ notes: Array<{ text: string }> }>().notes.map((n) => n.text)).toEqual(['buy toner', 'call back']);
      expect((await ext.request('DELETE', `/notes/${note.id}`)).json()).toEqual({ deleted: true });
      expect(await ext.storage.dump()).toEqual({ notes: { [second.id]: { id: second.id, text: 'call back' } }, counters: { notes: 2 } });
    } finally {
      await ext.close();
    }
  });

  it('refuses an empty note and keeps to the configured maximum', async () => {
    const ext = await loadExtension({ config: { maxNotes: 1 } });
    try {
      expect((await ext.request('POST', '/notes', { body: { text: ' ' } })).status).toBe(400);
      expect((await ext.request('POST', '/notes', { body: { text: 'one' } })).status).toBe(200);
      const full = await ext.request('POST', '/notes', { body: { text: 'two' } });
      expect(full.status).toBe(409);
      expect(full.json()).toMatchObject({ error: { code: 'E_TOO_MANY_NOTES' } });
    } finally {
      await ext.close();
    }
  });
});
