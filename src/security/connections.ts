/**
 * Open connections (graphql-ws sockets, SSE streams, in-flight HTTP responses) by the token
 * that opened them, so a revoked or expired token's connections can be closed at once.
 */
export type CloseReason = 'revoked' | 'expired';

export interface ConnectionRegistry {
  /** Registers a closer; the returned function unregisters it (call it on close). */
  add(tokenId: string, close: (reason: CloseReason) => void): () => void;
  /** Closes every connection of the token; returns how many. */
  closeToken(tokenId: string, reason: CloseReason): number;
  tokenIds(): string[];
}

export function createConnectionRegistry(): ConnectionRegistry {
  const byToken = new Map<string, Set<(reason: CloseReason) => void>>();
  return {
    add(tokenId, close) {
      let set = byToken.get(tokenId);
      if (!set) byToken.set(tokenId, (set = new Set()));
      set.add(close);
      return () => {
        const s = byToken.get(tokenId);
        if (!s) return;
        s.delete(close);
        if (s.size === 0) byToken.delete(tokenId);
      };
    },
    closeToken(tokenId, reason) {
      const set = byToken.get(tokenId);
      if (!set) return 0;
      byToken.delete(tokenId);
      for (const close of set) {
        try {
          close(reason);
        } catch {
          // A socket that is already gone has nothing left to close.
        }
      }
      return set.size;
    },
    tokenIds: () => [...byToken.keys()],
  };
}
