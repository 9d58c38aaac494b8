import { invalid } from "../errors.js";
import { checkText } from "../engine/validate.js";

/** Parses a JSON object given on the command line or a stdin line, naming where it came from. */
export function parseJsonObject(text: string, field: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(field, `malformed JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    const kind = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
    throw invalid(field, `must be a JSON object like {"id": 1} (got ${kind})`);
  }
  return value as Record<string, unknown>;
}

/** Integer flags are parsed here, not by oclif, so the message names the field the same way everywhere. */
export function parseInteger(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text.trim())) throw invalid(field, `must be an integer (got "${text}")`);
  return Number(text);
}

export function parseList(text: string | undefined, field: string): string[] | undefined {
  if (text === undefined) return undefined;
  checkText(text, field);
  return text.split(",");
}

export async function readStdinLines(): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").split(/\r?\n/);
}
