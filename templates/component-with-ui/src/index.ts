import { createRouter, jsonResponse, type Context } from '@alga-psa/extension-runtime';
import type { Note, NotesApi } from './routes.ts';

async function allNotes(ctx: Context): Promise<Note[]> {
  const { keys } = await ctx.storage.list('notes', { limit: 1000 });
  const notes = await Promise.all(keys.map(async (key) => (await ctx.storage.get<Note>('notes', key))?.value));
  return notes.filter((n): n is Note => n !== undefined).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

const app = createRouter().api<NotesApi>({
  'GET /notes': async ({ ctx }) => ({ notes: await allNotes(ctx) }),
  'POST /notes': async ({ body, ctx }) => {
    const text = body?.text?.trim() ?? '';
    if (!text) return jsonResponse(400, { error: { code: 'E_VALIDATION', message: 'text must not be empty' } });
    if ((await allNotes(ctx)).length >= ctx.config.maxNotes) {
      return jsonResponse(409, { error: { code: 'E_TOO_MANY_NOTES', message: `at most ${ctx.config.maxNotes} notes` } });
    }
    // The request id is unique per call (the guest has no random source: WASI random is off).
    const note: Note = { id: `${Date.now().toString(36)}-${ctx.install.requestId.slice(0, 8)}`, text, createdAt: new Date().toISOString() };
    await ctx.storage.put('notes', note.id, note, 0n);
    ctx.log.info('note added', { id: note.id });
    return note;
  },
  'DELETE /notes/:id': async ({ params, ctx }) => ({ deleted: await ctx.storage.delete('notes', params.id) }),
});

export const handler = app.handler();
