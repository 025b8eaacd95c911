/** A bench child that never answers (test/bench/child.test.ts): it only stays alive. */
setInterval(() => undefined, 60_000);
