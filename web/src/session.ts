/** What every page gets from the signed-in session. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api/client.ts';
import type { Me } from './api/documents.ts';
import type { FleetStore } from './fleet.ts';

export interface Session {
  api: Api;
  me: Me;
  /** OPERATOR and ADMIN change things; a VIEWER sees no edit controls at all. */
  canEdit: boolean;
  fleet: FleetStore;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in session');
  return s;
}
