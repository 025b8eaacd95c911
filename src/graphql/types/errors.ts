/**
 * Expected failures are results, not exceptions: ValidationError (with a path per problem),
 * NotFoundError, ConflictError, all sharing the Error interface. Anything else is masked.
 */
import { builder } from '../builder.ts';

export interface FieldIssue {
  path: string[];
  message: string;
}

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${id} not found`);
  }
}

export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  fields: (t) => ({ message: t.exposeString('message') }),
});

const FieldIssueRef = builder.objectRef<FieldIssue>('FieldIssue').implement({
  fields: (t) => ({
    path: t.exposeStringList('path', { description: 'Input field path, e.g. ["input", "port"].' }),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof ValidationError,
  fields: (t) => ({ issues: t.field({ type: [FieldIssueRef], resolve: (e) => e.issues }) }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof NotFoundError,
  fields: (t) => ({ entity: t.exposeString('entity'), id: t.exposeID('id') }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof ConflictError,
  fields: (t) => ({ field: t.exposeString('field') }),
});

/** A service the operation needs is not running here (e.g. pollDevice on a server without a poller). */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
  constructor(
    message: string,
    readonly service: string,
  ) {
    super(message);
  }
}

builder.objectType(UnavailableError, {
  name: 'UnavailableError',
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof UnavailableError,
  fields: (t) => ({ service: t.exposeString('service') }),
});
