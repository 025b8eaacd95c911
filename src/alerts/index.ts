/** Alerting: rules evaluated on every committed sample batch and status change, alert state, silences, notification channels. */
export { createAlertEvaluator, ensureBuiltinRules, type AlertEvaluator, type AlertEvaluatorDeps, type EvaluatorTuning } from './evaluator.ts';
export { createNotifier, type Notifier, type NotifierDeps, type DeliveryResult } from './notifiers.ts';
export { BUILTIN_RULES, type RuleSpec } from './rules.ts';
export type { NotificationMessage } from './message.ts';
