/** The contract the iframe UI (ui/main.ts) is type-checked against; the handler serves these endpoints. */
export interface Note { id: string; text: string; createdAt: number }

export interface NotesUiApi {
  'GET /tickets/:id/notes': { response: { ticketId: string; title: string | null; notes: Note[] } };
  'POST /tickets/:id/notes': { request: { text: string }; response: { note: Note; count: number } };
  'DELETE /tickets/:id/notes/:noteId': { response: { count: number } };
}
