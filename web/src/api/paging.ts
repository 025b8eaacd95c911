/** Relay connections, followed page by page (page sizes are literals in the documents: the server's cost rule counts them). */
import type { Api } from './client.ts';

export interface Connection<N> {
  edges: { node: N }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Every node of a connection; `onPage` sees each page as it arrives. The document takes `$after: String`. */
export async function allPages<R, N>(api: Api, document: string, pick: (result: R) => Connection<N>, onPage?: (nodes: N[]) => void): Promise<N[]> {
  const all: N[] = [];
  let after: string | null = null;
  do {
    const page: Connection<N> = pick(await api.query<R>(document, { after }));
    const nodes = page.edges.map((e) => e.node);
    all.push(...nodes);
    onPage?.(nodes);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  return all;
}
