-- Built-in checks (issue 18 item 3): the template and parameters a check's command was built
-- from (src/collectors/builtin-checks.ts); null for a command an ADMIN wrote.
ALTER TABLE "checks" ADD COLUMN "builtin" JSONB;
