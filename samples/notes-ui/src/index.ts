import { createRouter, HostError, jsonResponse, type Context } from '@alga-psa/extension-runtime';
import type { Note } from './routes.ts';

const key = (ticketId: string) => `ticket:${ticketId}`;

async function ticketTitle(ctx: Context, ticketId: string): Promise<string | null> {
  try {
    const res = await ctx.uiProxy.call('GET', `/host/tickets/${encodeURIComponent(ticketId)}`);
    return res.status === 200 ? String(res.json<{ title?: unknown }>().title ?? '') : null;
  } catch (err) {
    if (err instanceof HostError) return null;
    throw err;
  }
}

/** Read-modify-write with compare-and-set, retried a few times when another request wrote first. */
async function updateNotes(ctx: Context, ticketId: string, change: (notes: Note[]) => Note[]): Promise<Note[]> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await ctx.storage.get<Note[]>('notes', key(ticketId));
    const next = change(current?.value ?? []);
    try {
      await ctx.storage.put('notes', key(ticketId), next, current?.revision ?? 0n);
      return next;
    } catch (err) {
      if (!(err instanceof HostError && err.kind === 'conflict')) throw err;
    }
  }
  throw new Error('too many concurrent writers');
}

const app = createRouter()
  .get('/tickets/:id/notes', async (req, ctx) => {
    const notes = (await ctx.storage.get<Note[]>('notes', key(req.params.id)))?.value ?? [];
    return jsonResponse(200, { ticketId: req.params.id, title: await ticketTitle(ctx, req.params.id), notes });
  })
  .post('/tickets/:id/notes', async (req, ctx) => {
    const text = String(req.json<{ text?: unknown }>()?.text ?? '').trim();
    if (!text || text.length > 2000) return jsonResponse(400, { error: { code: 'INVALID', message: 'text must be 1-2000 characters' } });
    const note: Note = { id: `${Date.now().toString(36)}-${ctx.install.requestId.slice(0, 8)}`, text, createdAt: Date.now() };
    const notes = await updateNotes(ctx, req.params.id, (list) => [...list, note]);
    ctx.log.info('note added', { ticketId: req.params.id, count: String(notes.length) });
    return jsonResponse(201, { note, count: notes.length });
  })
  .delete('/tickets/:id/notes/:noteId', async (req, ctx) => {
    const notes = await updateNotes(ctx, req.params.id, (list) => list.filter((n) => n.id !== req.params.noteId));
    return jsonResponse(200, { count: notes.length });
  });

export const handler = app.handler();
