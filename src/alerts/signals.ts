/**
 * In-process "rules, channels or silences changed" signal: the GraphQL mutations raise it and
 * the evaluator reloads its caches at once instead of at its next periodic refresh (which
 * still covers changes made by another instance).
 */
export type ConfigKind = 'rules' | 'silences' | 'channels';

const listeners = new Set<(kind: ConfigKind) => void>();

export function alertConfigChanged(kind: ConfigKind): void {
  for (const l of listeners) l(kind);
}

export function onAlertConfigChanged(listener: (kind: ConfigKind) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
