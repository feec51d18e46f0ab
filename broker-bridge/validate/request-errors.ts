// Whole-request failures of ingest, each with the HTTP status it maps to (gRPC maps them too).

export class IngestRequestError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 413 | 415 | 503,
    message: string,
    /** Seconds, for 503. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'IngestRequestError';
  }
}

export const malformed = (what: string): IngestRequestError => new IngestRequestError(400, what);
export const tooLarge = (what: string): IngestRequestError => new IngestRequestError(413, what);
