/**
 * State a query loads and subscriptions keep current, with no gap between the two. The
 * subscriptions open first and the load waits until the server listens on them
 * (`Api.subscribed`), so every change is in the answer or arrives as an event, or both. Events
 * that arrive while a load is in flight are applied again over its answer, in order, so an
 * answer read before an event cannot undo it: a change must therefore be idempotent (set a
 * value, replace an item by its id). Loads overlap (a reconnect, a reload after a mutation):
 * only the latest one issued lands. Loads again after a reconnect (events may have been missed).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from './api/client.ts';

export type Change<S> = (state: S) => S;

export interface Live<S> {
  /** undefined until the first load has answered. */
  state: S | undefined;
  error: string | null;
  reload: () => void;
  /** A change known here first (a mutation's answer), applied as an event would be. */
  apply: (change: Change<S>) => void;
}

/** The page's subscriptions: each event becomes a change through `apply`; returns their stops. */
export type Subscriptions<S> = (apply: (change: Change<S>) => void, reload: () => void) => (() => void)[];

export function useLive<S>(api: Api, key: readonly unknown[], load: () => Promise<S>, subscriptions: Subscriptions<S>): Live<S> {
  const [state, setState] = useState<S | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const controls = useRef<Pick<Live<S>, 'reload' | 'apply'>>({ reload: () => undefined, apply: () => undefined });

  useEffect(() => {
    let stopped = false;
    let issued = 0;
    /** Changes since the latest load was issued, while it is in flight; null when none is. */
    let held: Change<S>[] | null = null;
    const apply = (change: Change<S>) => {
      held?.push(change);
      setState((s) => (s === undefined ? s : change(s)));
    };
    const reload = () => {
      const seq = ++issued;
      held = [];
      api
        .subscribed()
        .then(load)
        .then(
          (answer) => {
            if (stopped || seq !== issued) return;
            const since = held ?? [];
            held = null;
            setState(since.reduce((s, change) => change(s), answer));
            setError(null);
          },
          (e: Error) => {
            if (stopped || seq !== issued) return;
            held = null;
            setError(e.message);
          },
        );
    };
    controls.current = { reload, apply };
    setState(undefined);
    setError(null);
    const stops = [...subscriptions(apply, reload), api.onResync(reload)];
    reload();
    return () => {
      stopped = true;
      for (const stop of stops) stop();
    };
  }, key);

  return { state, error, reload: () => controls.current.reload(), apply: (change) => controls.current.apply(change) };
}
