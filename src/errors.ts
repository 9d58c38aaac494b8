/**
 * Every failure the library reports on purpose is an ObanError with a stable code.
 * The CLI maps codes to exit statuses; library users can switch on `code`.
 */
export type ObanErrorCode =
  | "invalid_input" // bad args, flags, names: nothing was written
  | "config" // configuration that cannot work (unknown option, bad URL)
  | "database_unavailable" // could not reach PostgreSQL
  | "not_found" // a job, worker or object that does not exist
  | "schema" // migrations pending or the schema is not what we expect
  | "check_failed" // a --check / --fail-if that answered "no"
  | "internal";

export class ObanError extends Error {
  readonly code: ObanErrorCode;
  readonly field?: string;

  constructor(code: ObanErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ObanError";
    this.code = code;
    this.field = options.field;
  }
}

export function invalid(field: string, message: string): ObanError {
  return new ObanError("invalid_input", `${field}: ${message}`, { field });
}

/** CLI exit statuses: 0 ok, 1 failed or "the answer is no", 2 usage, 3 database unreachable. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof ObanError) {
    switch (error.code) {
      case "invalid_input":
      case "config":
        return 2;
      case "database_unavailable":
        return 3;
      default:
        return 1;
    }
  }
  return 1;
}
