/** Channel URLs: no control characters (issue #13, item 9), and redaction that keeps what identifies the destination, per scheme. */
import { describe, expect, it } from 'vitest';
import { redact } from '../../../src/alerts/channels/types.ts';
import { validateChannel } from '../../../src/alerts/validate.ts';

const base = { name: 'hook', kind: 'WEBHOOK' as const, url: 'https://example.com/hook', enabled: true, emailTo: [], emailFrom: null, smtpUsername: null, requireTls: false };
const issues = (url: string, kind: 'WEBHOOK' | 'EMAIL' = 'WEBHOOK') =>
  validateChannel({ ...base, kind, url, emailTo: kind === 'EMAIL' ? ['ops@example.com'] : [] }, undefined, { allowPrivateNetworks: false }).issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('channel URL validation', () => {
  it('refuses control characters anywhere in the URL (the URL parser would silently drop CR, LF and tab)', () => {
    for (const url of ['https://example.com/a\r\nX-Injected: 1', 'https://example.com/\nhook', 'https://exa\tmple.com/', 'https://example.com/\u0000', 'smtp://mail.example.com:25\r\nRCPT TO:<x@evil>']) {
      const kind = url.startsWith('smtp') ? 'EMAIL' : 'WEBHOOK';
      expect(issues(url, kind), JSON.stringify(url)).toEqual(['input.url: must not contain control characters']);
    }
    expect(issues('https://example.com/ok?x=1')).toEqual([]);
  });
});

describe('redact', () => {
  it('web URLs keep the origin and the first path segment, never the query', () => {
    expect(redact('https://hooks.slack.com/services/T000/B000/XXXX')).toBe('https://hooks.slack.com/services…');
    expect(redact('https://gotify.example.com/?token=abc')).toBe('https://gotify.example.com/…');
  });

  it('SMTP URLs keep scheme, host and port (there is no origin for them: it used to print "null…")', () => {
    expect(redact('smtp://mail.example.com:587')).toBe('smtp://mail.example.com:587');
    expect(redact('smtps://mail.example.com')).toBe('smtps://mail.example.com');
    expect(redact('smtps://user:secret@mail.example.com:465/x?y=z')).toBe('smtps://mail.example.com:465');
  });
});
