// Failures from the API server, decoded from the Kubernetes Status object in
// the response body so callers can branch on `reason` (NotFound, Conflict,
// AlreadyExists, Gone, ...) instead of parsing messages.

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** meta/v1 Status as it arrives on the wire. */
export interface Status {
  kind: 'Status';
  apiVersion?: string;
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: StatusDetails;
}

export function isStatus(v: unknown): v is Status {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';
}

/** The reason Kubernetes uses for an HTTP code when the body has no Status. */
function reasonForCode(code: number): string {
  switch (code) {
    case 400: return 'BadRequest';
    case 401: return 'Unauthorized';
    case 403: return 'Forbidden';
    case 404: return 'NotFound';
    case 405: return 'MethodNotAllowed';
    case 406: return 'NotAcceptable';
    case 409: return 'Conflict';
    case 410: return 'Gone';
    case 413: return 'RequestEntityTooLarge';
    case 415: return 'UnsupportedMediaType';
    case 422: return 'Invalid';
    case 429: return 'TooManyRequests';
    case 503: return 'ServiceUnavailable';
    case 504: return 'Timeout';
    default: return code >= 500 ? 'InternalError' : 'Unknown';
  }
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Build from a Status object (the response body or a watch ERROR event). */
  static fromStatus(status: Status, httpCode?: number): ApiError {
    const code = status.code ?? httpCode ?? 500;
    return new ApiError(code, status.reason || reasonForCode(code), status.message || `the server responded with status ${code}`, status.details);
  }

  /** Build from an error response: its Status if it has one, else code and text. */
  static fromResponse(httpCode: number, body: string, method: string, path: string): ApiError {
    try {
      const parsed: unknown = JSON.parse(body);
      if (isStatus(parsed)) return ApiError.fromStatus(parsed, httpCode);
    } catch {
      // not JSON: fall through to a message built from the text
    }
    const text = body.trim().slice(0, 500);
    const message = text ? `${text} (${method} ${path})` : `the server responded with status ${httpCode} to ${method} ${path}`;
    return new ApiError(httpCode, reasonForCode(httpCode), message);
  }
}

/** An API error with one of these HTTP codes (404 and 409 alike mean "gone or changed meanwhile" to a level-triggered writer). */
export const hasStatus = (e: unknown, ...codes: number[]): boolean => e instanceof ApiError && codes.includes(e.code);
export const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.code === 404;
export const isConflict = (e: unknown): boolean => e instanceof ApiError && e.code === 409 && e.reason === 'Conflict';
export const isAlreadyExists = (e: unknown): boolean => e instanceof ApiError && e.reason === 'AlreadyExists';
export const isGone = (e: unknown): boolean => e instanceof ApiError && (e.code === 410 || e.reason === 'Gone' || e.reason === 'Expired');
