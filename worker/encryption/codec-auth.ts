// Who may ask the codec server to decrypt: automation holding the static token, or a person in
// the Temporal UI whose OIDC access token (the UI's "Pass access token" sends it as a bearer
// token) is signed by the configured issuer, meant for this audience, current, and names an
// allowed subject or carries an allowed group. jose does the JWT crypto.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';

/**
 * Asymmetric algorithms only: with HS* anyone holding the shared secret could mint tokens (and a
 * verifier that accepted a public key as an HMAC secret could be fooled), and `none` is unsigned.
 */
const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** Clock skew between this host and the issuer tolerated on `exp` and `nbf`. */
const CLOCK_TOLERANCE_SECONDS = 30;

export interface OidcPolicy {
  /** Exactly the `iss` the tokens carry, e.g. https://login.example.com/realms/ops. */
  issuer: string;
  /** The `aud` the tokens must include (often the Temporal UI's OIDC client id). */
  audience: string;
  /** The issuer's signing keys (JWKS); see discoverJwksUrl. */
  jwksUrl: string;
  /** `sub` values allowed to decrypt. */
  allowedSubjects: readonly string[];
  /** Groups allowed to decrypt, matched against the `groupsClaim` claim. */
  allowedGroups: readonly string[];
  /** A top-level claim holding the user's groups (a list or one string), e.g. `groups`. */
  groupsClaim: string;
}

export interface CodecAuthOptions {
  /** A static token automation sends as `Authorization: Bearer <token>`. */
  bearerToken?: string;
  oidc?: OidcPolicy;
}

export type AuthDecision =
  | { allowed: true; grantedBy: string; subject?: string }
  | { allowed: false; status: 401; reason: string; tokenGiven: boolean; subject?: string }
  | { allowed: false; status: 403; reason: string; subject: string }
  | { allowed: false; status: 503; reason: string };

/** Decides on a request's Authorization header; never rejects. */
export type CodecAuthorizer = (authorization: string | undefined) => Promise<AuthDecision>;

export function createCodecAuthorizer(options: CodecAuthOptions): CodecAuthorizer {
  const { bearerToken, oidc } = options;
  if (!bearerToken && !oidc) return () => Promise.resolve({ allowed: true, grantedBy: 'no auth configured' });
  const verifyUserToken = oidc ? createOidcVerifier(oidc) : undefined;
  return async (authorization) => {
    const token = /^Bearer +(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) return { allowed: false, status: 401, reason: 'no bearer token', tokenGiven: false };
    if (bearerToken && sameSecret(token, bearerToken)) return { allowed: true, grantedBy: 'static token' };
    if (!verifyUserToken) return { allowed: false, status: 401, reason: 'wrong token', tokenGiven: true };
    return verifyUserToken(token);
  };
}

/** Compares digests, so neither the content nor the length of the token leaks through timing. */
function sameSecret(given: string, wanted: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(wanted));
}

function createOidcVerifier(policy: OidcPolicy): (token: string) => Promise<AuthDecision> {
  // The command refuses this too, naming its flags; this guards any other caller.
  if (policy.allowedSubjects.length === 0 && policy.allowedGroups.length === 0) {
    throw new Error(
      `OIDC issuer ${policy.issuer} has no allowed subjects or groups: every account there could decrypt`,
    );
  }
  // Caches the keys and refetches (at most every 30 s) when a token names a key it has not seen: rotation.
  const keys = createRemoteJWKSet(new URL(policy.jwksUrl));
  return async (token) => {
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, keys, {
        issuer: policy.issuer,
        audience: policy.audience,
        algorithms: ASYMMETRIC_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      return rejection(err);
    }
    const subject = claims.sub;
    if (typeof subject !== 'string') return invalidToken('"sub" claim is not a string');
    if (policy.allowedSubjects.includes(subject)) return { allowed: true, grantedBy: 'allowed subject', subject };
    const group = groupsIn(claims, policy.groupsClaim).find((g) => policy.allowedGroups.includes(g));
    if (group !== undefined) return { allowed: true, grantedBy: `group ${group}`, subject };
    return { allowed: false, status: 403, reason: 'subject not allowed and in no allowed group', subject };
  };
}

function groupsIn(claims: JWTPayload, claim: string): string[] {
  const value = claims[claim];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((g): g is string => typeof g === 'string') : [];
}

function invalidToken(reason: string, claims?: JWTPayload): AuthDecision {
  const subject = typeof claims?.sub === 'string' ? claims.sub : undefined;
  return { allowed: false, status: 401, reason, tokenGiven: true, ...(subject ? { subject } : {}) };
}

/** Why jose refused a token, in words fit for a log line and the response: never the token itself. */
function rejection(err: unknown): AuthDecision {
  // Claim errors come after the signature check, so the subject they carry is the issuer's word.
  if (err instanceof errors.JWTExpired) return invalidToken('token expired', err.payload);
  if (err instanceof errors.JWTClaimValidationFailed) {
    const { claim, payload } = err;
    if (err.reason === 'missing') return invalidToken(`token has no "${claim}" claim`, payload);
    if (claim === 'iss') return invalidToken(`wrong issuer: token is from ${JSON.stringify(payload.iss)}`, payload);
    if (claim === 'aud') return invalidToken(`wrong audience: token is for ${JSON.stringify(payload.aud)}`, payload);
    if (claim === 'nbf') return invalidToken('token not yet valid', payload);
    return invalidToken(`"${claim}" claim invalid`, payload);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return invalidToken('algorithm not allowed (asymmetric only)');
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWSSignatureVerificationFailed) {
    return invalidToken("not signed by the issuer's keys");
  }
  // The issuer's key set could not be fetched or read: no verdict on the token, so not a 401.
  const keysUnavailable =
    !(err instanceof errors.JOSEError) ||
    err instanceof errors.JWKSTimeout ||
    err instanceof errors.JWKSInvalid ||
    err.code === 'ERR_JOSE_GENERIC';
  if (keysUnavailable) {
    return { allowed: false, status: 503, reason: `issuer keys unavailable: ${errorText(err)}` };
  }
  return invalidToken('malformed token');
}

/** fetch's own message is only "fetch failed"; the cause says why (ENOTFOUND, ECONNREFUSED, a certificate). */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
}

/** The issuer's JWKS address, from its OpenID discovery document. */
export async function discoverJwksUrl(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let document: { issuer?: unknown; jwks_uri?: unknown };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    document = (await response.json()) as typeof document;
  } catch (err) {
    throw new Error(`OIDC discovery at ${url} failed: ${errorText(err)}`);
  }
  // The discovery spec requires this match; a mismatch (often a trailing slash) would refuse every token.
  if (document.issuer !== issuer) {
    throw new Error(`OIDC discovery at ${url} names issuer ${JSON.stringify(document.issuer)}, not ${issuer}`);
  }
  if (typeof document.jwks_uri !== 'string') throw new Error(`OIDC discovery at ${url} has no jwks_uri`);
  return document.jwks_uri;
}
