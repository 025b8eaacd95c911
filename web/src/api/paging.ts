/** Relay connections, followed page by page (the server's cost limit counts each page's size). */
import type { Api } from './client.ts';

export interface Connection<N> {
  edges: { node: N }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/**
 * Every node of a connection; `onPage` sees each page as it arrives. The document takes
 * `$after: String`, and `$first: Int!` when `sizes` is given (the first page's size, then the rest's).
 */
export async function allPages<R, N>(api: Api, document: string, pick: (result: R) => Connection<N>, onPage?: (nodes: N[]) => void, sizes?: { first: number; then: number }): Promise<N[]> {
  const all: N[] = [];
  let after: string | null = null;
  do {
    const first = sizes && (all.length ? sizes.then : sizes.first);
    const page: Connection<N> = pick(await api.query<R>(document, sizes ? { first, after } : { after }));
    const nodes = page.edges.map((e) => e.node);
    all.push(...nodes);
    onPage?.(nodes);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  return all;
}
