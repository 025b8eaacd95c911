// Filled in by the foundation: starts one embedded PostgreSQL for the whole run when no
// TEST_DATABASE_URL is given, and hands its URL to the test files.
export default async function setup(): Promise<void> {}
