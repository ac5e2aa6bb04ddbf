import { sha256 } from '@noble/hashes/sha256';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';

/*
 * Who formed a command id. A client's key (an HTTP Idempotency-Key, a signal's commandId) and an
 * id the service forms for itself (a saga's report, a cart expiry, a reservation step) live in
 * disjoint namespaces: every command id that is remembered or stored starts with `client:` or
 * `internal:`, and only these two functions form them. So no string a client sends can ever equal
 * an internal id, whatever it looks like.
 */

export const clientCommandId = (key: string): string => `client:${key}`;

/** `kind` names the step (`checkout`, `expire`, `reserve`, `debit`, ...), `id` what it is about. */
export const internalCommandId = (kind: string, id: string | number): string => `internal:${kind}:${id}`;

/**
 * An operator's order command (the command line's cancel or ship, a console action) is keyed in a
 * namespace of its own: `operator:<what>`. The actor files it under `client:` like any key, so the
 * namespace is kept apart at the door instead: `commandIdOf` refuses every client key that starts
 * with `operator:` (whatever its case), so no customer can take, block or replay an operator's command.
 */
export const OPERATOR_KEY_PREFIX = 'operator:';
export const operatorCommandKey = (...parts: string[]): string => `${OPERATOR_KEY_PREFIX}${parts.join(':')}`;
export const isOperatorKey = (key: string): boolean => key.toLowerCase().startsWith(OPERATOR_KEY_PREFIX);

/** The client's own key inside a client command id, or undefined for an internal one. */
export function clientKeyOf(commandId: string): string | undefined {
  return commandId.startsWith('client:') ? commandId.slice('client:'.length) : undefined;
}

/**
 * The namespaced id of a command id an order's event carries. Events stored before the
 * namespaces carry the raw id: the actor's own were `checkout-<n>` (a saga's report) and
 * `expire-<v>` (an expiry), every other one was a client's key.
 */
export function orderCommandIdAsStored(stored: string): string {
  if (stored.startsWith('client:') || stored.startsWith('internal:')) return stored;
  const own = /^(checkout|expire)-(\d+)$/.exec(stored);
  return own ? internalCommandId(own[1]!, own[2]!) : clientCommandId(stored);
}

/**
 * What a command asked for, as a short stable digest: the same key sent again with another
 * command or payload is a different request (422 IDEMPOTENCY_KEY_REUSED), not a retry. Pure
 * JavaScript SHA-256, so the order actor computes it inside the workflow sandbox too.
 */
export function commandFingerprint(command: unknown): string {
  return bytesToHex(sha256(utf8ToBytes(JSON.stringify(command, sortedKeys))));
}

/** Objects with their keys in order, so a request means the same however its JSON was spelled. */
function sortedKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
