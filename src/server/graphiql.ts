/**
 * GraphiQL as served on GET /graphql: Yoga's bundled page (no CDN), plus one small script.
 * GraphiQL fetches the schema once, at load, with the Headers editor's placeholder token, so
 * the Docs pane said "Error fetching schema" until a manual re-fetch. The script watches the
 * page's own introspection requests and, while the schema has not loaded, re-fetches it (the
 * page's own "Re-fetch GraphQL schema" button) shortly after the Headers or Variables editor
 * is edited: pasting the token is enough.
 *
 * The bundle is a 10 MB string in a 18 MB module source: it is imported on the first page
 * request, not at start, so a server nobody opens GraphiQL on never holds its ~30 MB.
 */
import type { renderGraphiQL } from '@graphql-yoga/render-graphiql';

type GraphiQLOptions = Parameters<typeof renderGraphiQL>[0];

/** Runs before GraphiQL's bundle, so the fetcher GraphiQL creates uses the wrapped fetch. */
const REFETCH_SCHEMA_WHEN_HEADERS_CHANGE = `<script>
(() => {
  let schemaLoaded = false;
  let timer;
  const original = window.fetch.bind(window);
  const isIntrospection = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const body = init && typeof init.body === 'string' ? init.body : '';
    return (body + decodeURIComponent(url || '')).includes('__schema');
  };
  window.fetch = async (input, init) => {
    const introspection = isIntrospection(input, init);
    const res = await original(input, init);
    if (introspection) schemaLoaded = res.ok;
    return res;
  };
  const onEdit = (event) => {
    if (schemaLoaded || !(event.target instanceof Element) || !event.target.closest('.graphiql-editor-tool')) return;
    clearTimeout(timer);
    // Debounced: one introspection per paste or pause in typing, not one per key.
    timer = setTimeout(() => {
      const refetch = document.querySelector('button[aria-label^="Re-fetch GraphQL schema"]');
      if (!schemaLoaded && refetch) refetch.click();
    }, 600);
  };
  for (const type of ['input', 'paste', 'keyup']) document.addEventListener(type, onEdit, true);
})();
</script>`;

export async function renderInfrapulseGraphiQL(options: GraphiQLOptions): Promise<string> {
  const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
  return renderGraphiQL(options).replace('<head>', `<head>${REFETCH_SCHEMA_WHEN_HEADERS_CHANGE}`);
}
