// The UI runs sandboxed with no network: every call goes through the platform page's bridge
// to this extension's own endpoints, typed by src/routes.ts.
import { createApi, ExtensionUiError, onReady, resize } from '@alga-psa/extension-ui/client';
import type { Note, NotesApi } from '../src/routes.ts';

const api = createApi<NotesApi>();
const list = document.querySelector<HTMLUListElement>('#notes')!;
const status = document.querySelector<HTMLParagraphElement>('#status')!;

function show(notes: Note[]): void {
  list.replaceChildren(...notes.map((note) => {
    const item = document.createElement('li');
    const text = document.createElement('span');
    text.textContent = note.text;
    const remove = document.createElement('button');
    remove.textContent = 'Delete';
    remove.addEventListener('click', () => void run(async () => { await api.call('DELETE /notes/:id', { params: { id: note.id } }); }));
    item.append(text, remove);
    return item;
  }));
  void resize();
}

async function run(action: () => Promise<void>): Promise<void> {
  status.textContent = '';
  try {
    await action();
    show((await api.call('GET /notes')).notes);
  } catch (err) {
    status.textContent = err instanceof ExtensionUiError ? err.message : String(err);
  }
}

document.querySelector<HTMLFormElement>('#add')!.addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.querySelector<HTMLInputElement>('#text')!;
  const text = input.value;
  input.value = '';
  void run(async () => { await api.call('POST /notes', { body: { text } }); });
});

onReady(() => void run(async () => {}));
