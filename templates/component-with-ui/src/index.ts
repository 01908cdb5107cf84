import { createRouter, jsonResponse, type Context } from '@alga-psa/extension-runtime';
import type { Note, NotesApi } from './routes.ts';

// Keys come back in byte order, and ids are zero-padded sequence numbers: the list is in the order notes were added.
async function allNotes(ctx: Context): Promise<Note[]> {
  const { keys } = await ctx.storage.list('notes', { limit: 1000 });
  const notes = await Promise.all(keys.map(async (key) => (await ctx.storage.get<Note>('notes', key))?.value));
  return notes.filter((n): n is Note => n !== undefined);
}

/**
 * The next note id from a counter kept with compare-and-set, so concurrent adds never share one.
 * (A guest has no clock or random source: WASI clocks and random are off, so `Date.now()` is fixed.)
 */
async function nextNoteId(ctx: Context): Promise<string> {
  for (;;) {
    const current = await ctx.storage.get<number>('counters', 'notes');
    const next = (current?.value ?? 0) + 1;
    try {
      await ctx.storage.put('counters', 'notes', next, current?.revision ?? 0n);
      return `n${String(next).padStart(10, '0')}`;
    } catch (err) {
      if ((err as { kind?: string }).kind !== 'conflict') throw err;
    }
  }
}

const app = createRouter().api<NotesApi>({
  'GET /notes': async ({ ctx }) => ({ notes: await allNotes(ctx) }),
  'POST /notes': async ({ body, ctx }) => {
    const text = body?.text?.trim() ?? '';
    if (!text) return jsonResponse(400, { error: { code: 'E_VALIDATION', message: 'text must not be empty' } });
    if ((await allNotes(ctx)).length >= ctx.config.maxNotes) {
      return jsonResponse(409, { error: { code: 'E_TOO_MANY_NOTES', message: `at most ${ctx.config.maxNotes} notes` } });
    }
    const note: Note = { id: await nextNoteId(ctx), text };
    await ctx.storage.put('notes', note.id, note, 0n);
    ctx.log.info('note added', { id: note.id });
    return note;
  },
  'DELETE /notes/:id': async ({ params, ctx }) => ({ deleted: await ctx.storage.delete('notes', params.id) }),
});

export const handler = app.handler();
