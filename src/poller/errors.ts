/** The poller's typed failures, which the GraphQL layer turns into typed results. */

export class DeviceNotFoundError extends Error {
  override readonly name = 'DeviceNotFoundError';
  constructor(readonly deviceId: string) {
    super(`device ${deviceId} not found`);
  }
}

export class InvalidFingerprintError extends Error {
  override readonly name = 'InvalidFingerprintError';
}
