// notes-ui's iframe UI: sandboxed, no network; the platform page's bridge carries each call to
// this extension's endpoints (typed by src/routes.ts).
import { createApi, ExtensionUiError, onReady, resize } from '@alga-psa/extension-ui/client';
import type { Note, NotesUiApi } from '../src/routes.ts';

const api = createApi<NotesUiApi>();
const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;
let ticket = '42';

function render(title: string | null, notes: Note[]): void {
  $('#title').textContent = title ? `#${ticket}: ${title}` : `Ticket #${ticket}`;
  $<HTMLUListElement>('#notes').replaceChildren(...notes.map((note) => {
    const item = document.createElement('li');
    const text = document.createElement('span');
    text.textContent = note.text;
    const remove = document.createElement('button');
    remove.textContent = 'Delete';
    remove.addEventListener('click', () => void run(() => api.call('DELETE /tickets/:id/notes/:noteId', { params: { id: ticket, noteId: note.id } })));
    item.append(text, remove);
    return item;
  }));
  void resize();
}

async function run(action?: () => Promise<unknown>): Promise<void> {
  $('#status').textContent = '';
  try {
    await action?.();
    const { title, notes } = await api.call('GET /tickets/:id/notes', { params: { id: ticket } });
    render(title, notes);
  } catch (err) {
    $('#status').textContent = err instanceof ExtensionUiError ? err.message : String(err);
  }
}

$<HTMLFormElement>('#pick').addEventListener('submit', (e) => { e.preventDefault(); ticket = $<HTMLInputElement>('#ticket').value.trim() || ticket; void run(); });
$<HTMLFormElement>('#add').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('#text');
  const text = input.value;
  input.value = '';
  void run(() => api.call('POST /tickets/:id/notes', { params: { id: ticket }, body: { text } }));
});

onReady(() => void run());
