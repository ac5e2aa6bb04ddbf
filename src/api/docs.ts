import path from 'node:path';
import { z } from 'zod';
import { ApiError } from './problem';
import type { RouteTable } from './routes';

/*
 * GET /docs: Swagger UI over GET /openapi.json, served from the swagger-ui-dist package (no CDN),
 * so the page works wherever the API does. Only the files the page uses are served, by name.
 */

const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/** Our initializer instead of the package's (which points at the petstore): a page script, since the CSP allows no inline one. */
const INIT_SCRIPT = `window.onload = function () {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });
};
`;

const ASSETS: Record<string, { type: string; file?: string; text?: string }> = {
  'swagger-ui.css': { type: 'text/css', file: 'swagger-ui.css' },
  'swagger-ui-bundle.js': { type: 'text/javascript', file: 'swagger-ui-bundle.js' },
  'favicon-32x32.png': { type: 'image/png', file: 'favicon-32x32.png' },
  'init.js': { type: 'text/javascript', text: INIT_SCRIPT },
};
const ASSET_TYPES = [...new Set(Object.values(ASSETS).map((a) => a.type))];

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Order actors API</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

/** The API's CSP allows nothing; the page needs its own scripts, styles (Swagger UI sets inline ones), images and the contract. */
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

export const docsRoutes: RouteTable<undefined> = {
  routes: [
    {
      method: 'get',
      path: '/docs',
      handle: (_req, res) => res.setHeader('Content-Security-Policy', PAGE_CSP).type('text/html').send(PAGE),
      contract: {
        summary: 'This contract as a page (Swagger UI).',
        answers: { 200: { description: 'The HTML page; it loads /openapi.json.', mediaType: 'text/html' } },
        problems: {},
      },
    },
    {
      method: 'get',
      path: '/docs/:asset',
      handle: (req, res) => {
        const asset = Object.hasOwn(ASSETS, String(req.params.asset)) ? ASSETS[String(req.params.asset)] : undefined;
        if (!asset) throw new ApiError(404, 'ROUTE_NOT_FOUND', `No asset ${String(req.params.asset)} under /docs.`);
        res.type(asset.type);
        if (asset.text !== undefined) return res.send(asset.text);
        return new Promise<void>((resolve, reject) => res.sendFile(path.join(SWAGGER_UI_DIR, asset.file!), (err) => (err ? reject(err) : resolve())));
      },
      contract: {
        summary: 'A script, style sheet or image of the /docs page.',
        params: z.object({ asset: z.enum(Object.keys(ASSETS)).describe('A file of the page; others are 404.') }),
        answers: { 200: { description: 'The file.', mediaType: ASSET_TYPES } },
        problems: { 404: ['ROUTE_NOT_FOUND'] },
      },
    },
  ],
};
