// The package ships no types. Its output follows prom2json's: one entry per metric family.
declare module 'parse-prometheus-text-format' {
  interface Metric {
    value?: string;
    timestamp_ms?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    quantiles?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  interface Family {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: Metric[];
  }
  export default function parsePrometheusTextFormat(text: string): Family[];
}
