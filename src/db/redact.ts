/**
 * Connection strings carry passwords (the embedded PostgreSQL's URL always does): any text
 * that may hold one (an error, a log line, a message printed at start) goes through here first.
 */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@/\s]*@/gi;
const KEY_VALUE_PASSWORD = /\b(password|passwd|pwd)=("[^"]*"|'[^']*'|[^\s&;]+)/gi;

export function redactSecrets(text: string): string {
  return text.replace(URL_PASSWORD, '$1:***@').replace(KEY_VALUE_PASSWORD, '$1=***');
}
