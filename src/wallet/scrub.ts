/**
 * Key errors without the key. Kept apart from the service so the CLI can use it without loading the keystore
 * (SQLite) on every command.
 */

/**
 * An error about a key given by the caller, with every run of the input's characters removed: a parser's message
 * (V8 quotes the text around a JSON syntax error) must not carry a fragment of the key into a reply or a log.
 */
export function scrubKeyError(message: string, input: unknown): string {
  const text = typeof input === 'string' ? input : JSON.stringify(input ?? '');
  const SAFE = new Set(['PrivateKey', 'Type', 'secp256k1', 'bls', 'delegated']);
  return message.replace(/[A-Za-z0-9+/=_-]{6,}/g, (run) => (!SAFE.has(run) && text.includes(run) ? '…' : run));
}
