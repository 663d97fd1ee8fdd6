/**
 * Every secret this package ever printed as an example (in the README or the examples: `git log
 * -p -- README.md examples`). Copied code keeps them, and JWT cracking tools add such strings to
 * their dictionaries: whoever knows one forges any access token. Add a string here whenever an
 * example shows a new one; better, show none.
 */
const PUBLISHED_SECRETS: readonly Buffer[] = ['change-me-to-32-or-more-random-bytes!!', 'demo-only-secret-change-me-0123456789abcdef'].map(
  (secret) => Buffer.from(secret, 'utf8'),
);

/** Whether an HMAC key is one of the published example secrets. */
export function isPublishedSecret(key: Buffer): boolean {
  return PUBLISHED_SECRETS.some((published) => published.equals(key));
}
