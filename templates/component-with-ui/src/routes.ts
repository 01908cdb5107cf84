/**
 * The contract between the UI (ui/main.ts) and the handler (src/index.ts): each key is an
 * endpoint in manifest.json. Change a type here and whichever side no longer fits stops compiling.
 */
export interface Note {
  id: string;
  text: string;
  createdAt: string;
}

export interface NotesApi {
  'GET /notes': { response: { notes: Note[] } };
  'POST /notes': { request: { text: string }; response: Note };
  'DELETE /notes/:id': { response: { deleted: boolean } };
}
