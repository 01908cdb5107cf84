/**
 * Reads an HTTP response body (an undici body stream) up to a byte cap. Past the cap, or when
 * `content-length` already announces more, the stream is destroyed without reading the rest
 * and `undefined` comes back: each caller maps that to its own error.
 *
 * @example
 *   const bytes = await readBodyCapped(res.body, 5 * 1024 * 1024, res.headers['content-length']);
 *   if (!bytes) throw witError('too-large');
 */
export interface DestroyableBody extends AsyncIterable<Buffer> {
  destroy(err?: Error): unknown;
}

export async function readBodyCapped(body: DestroyableBody, maxBytes: number, contentLength?: string | string[]): Promise<Buffer | undefined> {
  if (typeof contentLength === 'string' && /^\d+$/.test(contentLength) && Number(contentLength) > maxBytes) {
    body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > maxBytes) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
