import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import { CofreError } from '../errors.js';
import type { ControlStore, OperatorRecord } from '../state/control-store.js';

/**
 * `cofre_op_<tokenId>.<secret>`: the prefix differs from an agent token's (`cofre_<tokenId>.<secret>`), and the two
 * shapes cannot be mistaken for each other (an agent token has exactly 16 characters between `cofre_` and the dot,
 * an operator token 19), so each route can tell which kind it was given without a lookup.
 */
const OPERATOR_TOKEN = /^cofre_op_([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;
const AGENT_TOKEN_SHAPE = /^cofre_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{43}$/;
const OPERATOR_ID = /^[a-z][a-z0-9_-]{0,63}$/;

/** A newly issued operator token: shown once, never stored. */
export interface IssuedOperatorToken {
  readonly operator: OperatorRecord;
  readonly token: string;
}

/** The operator a valid token belongs to. */
export interface AuthenticatedOperator {
  readonly id: string;
  /** The public id of the token used (never secret); the console re-reads the operator's record by it. */
  readonly tokenId: string;
  /** When the token expires; a console session never outlives it. */
  readonly expiresAt: Date;
}

/** True when `token` has the shape of an operator token (valid or not); agent routes refuse these by name. */
export function looksLikeOperatorToken(token: string | undefined): boolean {
  return token !== undefined && OPERATOR_TOKEN.test(token);
}

/** The public id part of an operator-shaped token (`cofre_op_<tokenId>.…`), for audit records; never the secret. */
export function operatorTokenIdOf(token: string | undefined): string | undefined {
  return token === undefined ? undefined : OPERATOR_TOKEN.exec(token)?.[1];
}

function hash(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/**
 * Issues an operator token: a 96-bit public id (to find the record) and a 256-bit secret (base64url), of which only
 * SHA-256 is stored, like agent tokens (see `agent-tokens.ts`), but in the operators' own table.
 */
export async function issueOperatorToken(
  store: ControlStore,
  input: { id: string; ttlMs: number; now: Date },
): Promise<IssuedOperatorToken> {
  if (!OPERATOR_ID.test(input.id)) {
    throw new CofreError(
      'COFRE_USAGE',
      `invalid operator id "${input.id}"; use lowercase letters, digits, "-" and "_"`,
    );
  }
  const tokenId = randomBytes(12).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  const operator: OperatorRecord = {
    id: input.id,
    tokenId,
    tokenHash: hash(secret),
    createdAt: input.now,
    expiresAt: new Date(input.now.getTime() + input.ttlMs),
    revokedAt: undefined,
  };
  await store.addOperator(operator);
  return { operator, token: `cofre_op_${tokenId}.${secret}` };
}

// Compared against when the token id is unknown, so unknown ids cost the same hash-and-compare as known ones.
const DECOY_HASH = hash('cofre-operator-decoy');

/**
 * Checks an operator's bearer token. SECURITY: an agent token is refused with `COFRE_OPERATOR_TOKEN_REQUIRED`
 * (decided by its shape alone, before any lookup), so an agent can never approve, deny, halt or resume; unknown,
 * malformed, expired and revoked operator tokens all get the same `COFRE_UNAUTHENTICATED`. Constant-time compare.
 */
export async function authenticateOperator(
  store: ControlStore,
  token: string | undefined,
  now: Date,
): Promise<AuthenticatedOperator> {
  if (token !== undefined && AGENT_TOKEN_SHAPE.test(token)) {
    throw new CofreError(
      'COFRE_OPERATOR_TOKEN_REQUIRED',
      'this is an operator route and the token given is an agent token; use an operator token (cofre operator add)',
    );
  }
  const match = token === undefined ? null : OPERATOR_TOKEN.exec(token);
  const operator = match?.[1] === undefined ? undefined : await store.operatorByTokenId(match[1]);
  const equal = timingSafeEqual(hash(match?.[2] ?? ''), operator?.tokenHash ?? DECOY_HASH);
  if (
    operator === undefined ||
    !equal ||
    operator.revokedAt !== undefined ||
    now.getTime() >= operator.expiresAt.getTime()
  ) {
    throw new CofreError('COFRE_UNAUTHENTICATED', 'invalid, expired or revoked operator token');
  }
  return { id: operator.id, tokenId: operator.tokenId, expiresAt: operator.expiresAt };
}
