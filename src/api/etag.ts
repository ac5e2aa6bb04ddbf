import type { Request, Response } from 'express';
import { ApiError } from './problem';

/*
 * A resource's ETag is its stream version (`"3"`): answers carry it, and If-Match names it back
 * for a command that must apply to that version only.
 */

/** Answers `body` with `version` as its ETag. */
export function sendVersioned(res: Response, version: number, body: unknown, status = 200): void {
  res.status(status).setHeader('ETag', `"${version}"`).json(body);
}

/** `If-Match: "3"` → 3; absent or `*` → undefined. */
export function expectedVersionOf(req: Request): number | undefined {
  const header = req.get('If-Match');
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!match) throw new ApiError(400, 'INVALID_IF_MATCH', 'If-Match must be a version ETag such as "3".');
  return Number(match[1]);
}
