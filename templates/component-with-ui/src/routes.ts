/**
 * The contract between the UI (ui/main.ts) and the handler (src/index.ts): each key is an
 * endpoint in manifest.json. Change a type here and whichever side no longer fits stops compiling.
 */
export interface Note {
  /** `n0000000001`, `n0000000002`, …: ids sort in the order notes were added. */
  id: string;
  text: string;
}

export interface NotesApi {
  'GET /notes': { response: { notes: Note[] } };
  'POST /notes': { request: { text: string }; response: Note };
  'DELETE /notes/:id': { response: { deleted: boolean } };
}
