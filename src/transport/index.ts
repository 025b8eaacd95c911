// Transports: how collectors reach a host. Collectors only see CommandRunner.
export * from './types.ts';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
export { createLocalRunner, DEFAULT_EXEC_TIMEOUT_MS, DEFAULT_MAX_OUTPUT_BYTES, type LocalRunnerOptions } from './local.ts';
export {
  createSshRunner,
  sshFingerprint,
  SSH_ALGORITHMS,
  type SshRunner,
  type SshRunnerOptions,
  type SshRunnerState,
} from './ssh.ts';
