/**
 * Unguessable ids for channels: 128 random bits, base64url (22 characters).
 *
 * @example
 *   const channelId = randomId();   // 'q3T0v8Xn2m1bL5c9YwZk4A'
 */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
