/**
 * What a run of a check says (src/collectors/checks.ts). Apart, without the parsers' imports,
 * because the alert rules (CHECK_STATUS) and with them the dashboard's bundle need the list.
 */

/** TIMEOUT: the command ran past the check's timeout and was stopped. */
export const CHECK_STATUSES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN', 'TIMEOUT'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];
