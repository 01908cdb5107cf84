/**
 * The one catalog of error codes shared by runner, gateway and CLI.
 * Every error body on the wire is `{ error: { code, message, ... } }`.
 *
 * @example
 *   throw new AlgaError('E_BUNDLE_NOT_FOUND', `no bundle ${hash}`);
 *   res.status(err.status).json(err.toBody(requestId));
 */
export const errorCatalog = {
  E_AUTH: { status: 401, message: 'authentication failed' },
  E_FORBIDDEN: { status: 403, message: 'not allowed' },
  E_CSRF: { status: 403, message: 'cross-site request refused: session requests must come from the platform page with its CSRF token' },
  E_PUBLISHER_MISMATCH: { status: 403, message: 'the manifest names another publisher than the one whose key signed the bundle' },
  E_NAME_RESERVED: { status: 403, message: 'the extension name is under a prefix reserved for another publisher' },
  E_BAD_REQUEST: { status: 400, message: 'malformed request' },
  E_BODY_TOO_LARGE: { status: 413, message: 'the request body is larger than this route accepts' },
  E_HEADERS_TOO_LARGE: { status: 431, message: 'the request headers are larger than the server accepts' },
  E_REQUEST_TIMEOUT: { status: 408, message: 'the request did not arrive in time' },
  E_VALIDATION: { status: 400, message: 'validation failed' },
  E_NOT_FOUND: { status: 404, message: 'not found' },
  E_BUNDLE_NOT_FOUND: { status: 404, message: 'bundle not found' },
  E_BUNDLE_INVALID: { status: 422, message: 'bundle is invalid' },
  E_MANIFEST_INVALID: { status: 422, message: 'manifest is invalid' },
  E_SIGNATURE_INVALID: { status: 422, message: 'bundle signature is invalid' },
  E_UNDECLARED_IMPORT: { status: 422, message: 'component imports an interface no declared capability covers' },
  E_BUNDLE_TOO_LARGE: { status: 413, message: 'bundle exceeds the size limit' },
  E_MANIFEST_TOO_LARGE: { status: 413, message: 'manifest.json exceeds its size limit' },
  E_VERSION_EXISTS: { status: 409, message: 'this extension version is already published' },
  E_CONFLICT: { status: 409, message: 'conflict' },
  E_CONSENT_REQUIRED: { status: 409, message: 'the new version needs an admin to consent to more capabilities' },
  E_INSTALL_DISABLED: { status: 404, message: 'extension is not installed or is disabled' },
  E_ENDPOINT_NOT_DECLARED: { status: 404, message: 'the extension does not declare this endpoint' },
  E_CAPABILITY_DENIED: { status: 403, message: 'the component needs a capability the install was not granted' },
  E_CAPABILITY_DISABLED: { status: 403, message: 'the operator has switched off a capability this needs' },
  E_RATE_LIMITED: { status: 429, message: 'too many requests for this install' },
  E_QUOTA_EXCEEDED: { status: 507, message: 'the install has used up its storage quota' },
  E_STORE_FULL: { status: 507, message: 'the platform\'s storage is out of space' },
  E_HOST_UNAVAILABLE: { status: 503, message: 'the platform API is unreachable' },
  E_GUEST_TRAP: { status: 502, message: 'the extension failed while handling the request' },
  E_DEADLINE: { status: 504, message: 'the extension did not answer before its deadline' },
  E_MEMORY_LIMIT: { status: 507, message: 'the extension exceeded its memory limit' },
  // 508 Loop Detected (RFC 5842): the guest computed past its CPU budget; 504 stays "too slow to answer".
  E_CPU_LIMIT: { status: 508, message: 'the extension used more CPU time than its budget' },
  E_SECRETS_UNAVAILABLE: { status: 503, message: 'secrets could not be decrypted right now' },
  E_OVERLOADED: { status: 503, message: 'the runner is at capacity; retry shortly' },
  E_RUNNER_UNAVAILABLE: { status: 503, message: 'the extension runner is unreachable' },
  E_DATABASE_UNAVAILABLE: { status: 503, message: 'the database is unreachable' },
  E_INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId?: string; details?: unknown };
}

export class AlgaError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;

  constructor(code: ErrorCode, message?: string, details?: unknown) {
    super(message ?? errorCatalog[code].message);
    this.name = 'AlgaError';
    this.code = code;
    this.status = errorCatalog[code].status;
    this.details = details;
  }

  toBody(requestId?: string): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (requestId) error.requestId = requestId;
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCatalog, value);
}

/** Normalise anything thrown into an AlgaError; unknown errors become E_INTERNAL without leaking their text. */
export function toAlgaError(err: unknown): AlgaError {
  if (err instanceof AlgaError) return err;
  return new AlgaError('E_INTERNAL');
}
