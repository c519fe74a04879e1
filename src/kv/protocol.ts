/**
 * The client API's named errors: one table, each with its HTTP status and whether it is
 * *definite* — the operation certainly did not happen — so a client can record `fail` (definite)
 * or `info` (may have happened), as Maelstrom's error table does. Anything not in this table is an
 * internal error: a logged 500, indefinite.
 */

export const KvErrors = {
  bad_request: { status: 400, definite: true },
  not_found: { status: 404, definite: true },
  unknown_route: { status: 404, definite: true },
  method_not_allowed: { status: 405, definite: true },
  cas_mismatch: { status: 409, definite: true },
  value_too_large: { status: 413, definite: true },
  /** The node cannot write its log (disk full, write error): nothing was written; reads still work. */
  insufficient_storage: { status: 507, definite: true },
  /** The request body did not arrive in time; nothing was done. */
  request_timeout: { status: 408, definite: true },
  not_leader: { status: 421, definite: true },
  /**
   * A `bounded:<ms>` read on a follower that does not know itself to be within the bound: nothing
   * was read; another follower, or the leader, may serve it. Body: `staleMs` (null when unknown),
   * `boundMs`, `appliedLsn`.
   */
  too_stale: { status: 412, definite: true },
  /**
   * An `after:<lsn>` read on a node that had not applied `lsn` when its wait ran out: nothing was
   * read. Body: `appliedLsn`, `wantedLsn`, `waitedMs`.
   */
  not_caught_up: { status: 412, definite: true },
  unauthorized: { status: 401, definite: true },
  /** A genuine admin call meant for another node or cluster, or a request from a web browser. */
  forbidden: { status: 403, definite: true },
  /** A JSON endpoint (cas, admin calls) sent another Content-Type. */
  unsupported_media_type: { status: 415, definite: true },
  /** An admin call or peer from an older epoch: refused, nothing changed. */
  stale_epoch: { status: 409, definite: true },
  /** The leader lost its lease or was fenced before it could acknowledge; the write may persist. */
  fenced: { status: 503, definite: false },
  unavailable: { status: 503, definite: true },
  internal: { status: 500, definite: false },
  /** The router reached a node but lost the answer: the request may have been applied. */
  bad_gateway: { status: 502, definite: false },
} as const satisfies Record<string, { status: number; definite: boolean }>;

export type KvErrorName = keyof typeof KvErrors;

export class KvError extends Error {
  readonly code: KvErrorName;
  readonly extra: Record<string, unknown>;
  constructor(code: KvErrorName, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.extra = extra;
  }
  get status(): number {
    return KvErrors[this.code].status;
  }
}

/** Response header on every read and scan: the LSN the answering node's state reflects (its `lsn`). */
export const APPLIED_LSN_HEADER = 'x-replab-applied-lsn';
/** Response header on reads and scans: how many ms behind the leader the node knows it is (0 on the leader), when it knows. */
export const STALE_MS_HEADER = 'x-replab-stale-ms';
/**
 * The router's session token, both ways: a client sends the highest LSN it has written or read,
 * and every answer carries the token advanced by that answer's LSN (src/router/router.ts).
 */
export const SESSION_HEADER = 'x-replab-session';
/** Response header naming the node that served a request. */
export const NODE_HEADER = 'x-replab-node';
/** Response header the router adds: the node that served the request. */
export const SERVED_BY_HEADER = 'x-replab-served-by';
