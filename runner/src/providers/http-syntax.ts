/** HTTP syntax the http provider and its secret substitution both check (RFC 9110). */

/** A header field value: visible ASCII, SP, HTAB, obs-text; never CR, LF or NUL. */
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
