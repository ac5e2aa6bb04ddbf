import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { paths } from './schema.gen';

/*
 * A client of the API typed by its OpenAPI contract: paths, parameters, bodies and answers come
 * from schema.gen.ts (`npm run client:generate`), so a call the contract does not take fails to
 * compile. openapi-fetch does the requests; nothing here knows a route by hand.
 */

export type { components, operations, paths } from './schema.gen';
export type ApiClient = Client<paths>;

/** A client of the API at `baseUrl` (no trailing slash). */
export function apiClient(baseUrl: string, options: Omit<ClientOptions, 'baseUrl'> = {}): ApiClient {
  return createClient<paths>({ baseUrl, ...options });
}
