/**
 * What ids and stored text may hold. An id (a user id: the JWT `sub`, a callee, a room, a call
 * or meeting id) is 1 to ID_MAX_LENGTH characters of SAFE_TEXT; free text that is stored or
 * shown (a meeting title, a nickname) is SAFE_TEXT within its field's length.
 */

/** The longest id, in UTF-16 code units (ids are stored as varchar(128)). */
export const ID_MAX_LENGTH = 128;

/**
 * A regular expression's source (no flags needed, so JSON schemas can use it as a `pattern`):
 * text with no control character (U+0000–U+001F, U+007F–U+009F: NUL, which PostgreSQL refuses,
 * included), no line or paragraph separator (U+2028, U+2029) and no unpaired surrogate (UTF-8
 * cannot carry one: it would be stored as U+FFFD, a different id).
 */
export const SAFE_TEXT_PATTERN =
  '^(?:[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\ud800-\\udfff]|[\\ud800-\\udbff][\\udc00-\\udfff])*$';

const SAFE_TEXT = new RegExp(SAFE_TEXT_PATTERN);

/** Whether `text` holds only characters SAFE_TEXT_PATTERN allows. */
export function isSafeText(text: string): boolean {
  return SAFE_TEXT.test(text);
}

/** Whether `value` is an id: a string of 1 to ID_MAX_LENGTH safe characters. */
export function isValidId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= ID_MAX_LENGTH &&
    SAFE_TEXT.test(value)
  );
}
