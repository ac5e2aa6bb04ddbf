/**
 * Something this machine cannot give the dev stack, said in one sentence with the way out: callers
 * print the message alone, since a stack trace would bury it.
 */
export class DevStackUnavailable extends Error {
  override name = 'DevStackUnavailable';
}
