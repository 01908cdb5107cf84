/** A bug a few calls deep in a module of its own: what a mapped stack trace should point at. */
export function parseTicketRef(ref: string): { board: string; id: number } {
  const [board, id] = ref.split('-');
  if (!board || !/^\d+$/.test(id ?? '')) {
    throw new TypeError(`not a ticket reference: ${JSON.stringify(ref)}`);
  }
  return { board, id: Number(id) };
}
