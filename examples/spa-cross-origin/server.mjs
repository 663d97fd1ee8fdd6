// A single-page app on one origin, its API on another: `npm run build`, then
// `node examples/spa-cross-origin/server.mjs`, and open the page's address it prints.
// PAGE_PORT (3001) and API_PORT (4000) set the ports, HOST ('localhost') the host name of both:
// open the page by that same name, since the API trusts exactly that origin.
import { once } from 'node:events';
import { createApi, demoUser } from './api.mjs';
import { createPageServer } from './app.mjs';

const host = process.env.HOST ?? 'localhost';
let apiUrl = '';
const pageServer = createPageServer({ apiUrl: () => apiUrl }).listen(Number(process.env.PAGE_PORT ?? 3001), host);
await once(pageServer, 'listening');
const appOrigin = `http://${host}:${pageServer.address().port}`;

const { api, store } = await createApi({ appOrigin, accessTokenTtl: process.env.ACCESS_TOKEN_TTL });
const apiServer = api.listen(Number(process.env.API_PORT ?? 4000), host);
await once(apiServer, 'listening');
apiUrl = `http://${host}:${apiServer.address().port}`;

console.log(`API on ${apiUrl}, trusting ${appOrigin}`);
console.log(`page on ${appOrigin} (user ${demoUser.username} / ${demoUser.password})`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    pageServer.close();
    apiServer.close();
    store.close();
  });
}
