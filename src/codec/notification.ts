/**
 * NOTIFY payload codec (COMPAT §13).
 *
 * Produce: plain JSON for payloads up to 512 bytes, otherwise base64(gzip(JSON))
 * with no prefix (starts `H4sI`), the form both Elixir and Oban.py decode.
 * Never produce the `Z:` form (Oban.py cannot read it), but decode it.
 *
 * Decode errors are thrown per message; the caller logs and drops that one
 * message and never reconnects because of it (§15 #5).
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { ObanError } from "../errors.js";

/** Payloads longer than this (UTF-8 bytes) are gzipped. */
export const PLAIN_LIMIT_BYTES = 512;
/** PostgreSQL's NOTIFY limit is 8000 bytes; stay under it with some margin. */
export const MAX_PAYLOAD_BYTES = 7_900;
/** Cap on a decompressed payload, so a hostile message cannot balloon memory. */
const MAX_INFLATED_BYTES = 8 * 1024 * 1024;

export class PayloadDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`notification payload: ${message}`, options);
    this.name = "PayloadDecodeError";
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function encodePayload(obj: Record<string, unknown>): string {
  if (!isObject(obj)) throw new TypeError("notification payload must be a plain object");
  let json: string;
  try {
    json = JSON.stringify(obj);
  } catch (e) {
    throw new TypeError(`notification payload cannot be serialised as JSON: ${(e as Error).message}`);
  }
  if (typeof json !== "string" || !json.startsWith("{")) {
    throw new TypeError("notification payload must serialise to a JSON object");
  }
  const jsonBytes = Buffer.byteLength(json, "utf8");
  const text = jsonBytes <= PLAIN_LIMIT_BYTES ? json : gzipSync(Buffer.from(json, "utf8")).toString("base64");
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new ObanError(
      "invalid_input",
      `notification payload is ${bytes} bytes after encoding (JSON ${jsonBytes} bytes); the limit is ${MAX_PAYLOAD_BYTES}`,
    );
  }
  return text;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function parseObject(json: string, form: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e) {
    throw new PayloadDecodeError(`${form} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!isObject(value)) {
    throw new PayloadDecodeError(`${form} is JSON but not an object`);
  }
  return value;
}

function gunzipBase64(b64: string, form: string): string {
  if (!BASE64.test(b64) || b64.replace(/=+$/, "").length % 4 === 1) {
    throw new PayloadDecodeError(`${form} is not valid base64`);
  }
  const gz = Buffer.from(b64, "base64");
  let raw: Buffer;
  try {
    raw = gunzipSync(gz, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (e) {
    throw new PayloadDecodeError(`${form} is not valid gzip data: ${(e as Error).message}`, { cause: e });
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch (e) {
    throw new PayloadDecodeError(`${form} decompresses to invalid UTF-8`, { cause: e });
  }
}

export function decodePayload(text: string): Record<string, unknown> {
  if (typeof text !== "string") throw new PayloadDecodeError("expected a string");
  if (text.length === 0) throw new PayloadDecodeError("empty payload");
  if (text.startsWith("{")) return parseObject(text, "plain JSON payload");
  if (text.startsWith("Z:")) return parseObject(gunzipBase64(text.slice(2), "Z: payload"), "Z: payload");
  return parseObject(gunzipBase64(text, "base64 gzip payload"), "base64 gzip payload");
}
