/** Small pieces every page uses. */
import type { ComponentChildren } from 'preact';
import type { ApiError, DeviceStatus } from '../api/documents.ts';
import { onLinkClick } from '../router.ts';

/** The DeviceStatus word itself, coloured by what it means. */
export function StatusBadge({ status }: { status: DeviceStatus | string }) {
  return <span class={`badge st-${status}`}>{status}</span>;
}

export function Link({ href, children, class: cls }: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a href={href} class={cls} onClick={onLinkClick}>
      {children}
    </a>
  );
}

/** A typed API error as one readable line: the message plus each field issue. */
export function errorText(e: ApiError): string {
  const issues = e.issues?.map((i) => `${i.path.filter((p) => p !== 'input').join('.')}: ${i.message}`) ?? [];
  return issues.length ? `${e.errorMessage}: ${issues.join('; ')}` : e.errorMessage;
}

export function isApiError(v: { __typename: string }): v is ApiError {
  return v.__typename === 'ValidationError' || v.__typename === 'ConflictError' || v.__typename === 'NotFoundError' || v.__typename === 'UnavailableError';
}

/** A bar for a percentage, with the number beside it. */
export function UsageBar({ value, label }: { value: number; label: string }) {
  const level = value >= 90 ? 'crit' : value >= 75 ? 'warn' : 'ok';
  return (
    <span class="usage">
      <span class="bar" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(value)}>
        <span class={`fill ${level}`} style={{ width: `${Math.min(100, Math.max(0, value)).toFixed(1)}%` }} />
      </span>
      <span class="num">{value.toFixed(0)} %</span>
    </span>
  );
}

export function Notice({ kind = 'info', children }: { kind?: 'info' | 'error' | 'ok'; children: ComponentChildren }) {
  return (
    <p class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </p>
  );
}
