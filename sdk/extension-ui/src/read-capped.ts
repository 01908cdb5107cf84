/**
 * A response body as UTF-8 text, refused once it passes `maxBytes`: the host stops reading (and
 * cancels the stream) instead of buffering whatever an extension chooses to return.
 *
 * @example
 *   const text = await readTextCapped(await fetch(url), 4 * 1024 * 1024);   // or E_RESPONSE_TOO_LARGE
 */
import { ExtensionUiError } from './errors.ts';

export async function readTextCapped(response: Response, maxBytes: number): Promise<string> {
  const tooLarge = () => new ExtensionUiError('E_RESPONSE_TOO_LARGE', `the response body is larger than the host passes to a frame (${maxBytes} bytes)`, { status: response.status });
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}
