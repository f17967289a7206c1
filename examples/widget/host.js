// The widget host: what a portal does for every widget on a page. It loads the client from the
// Gatehouse the widgets call, creates ONE client for the page, and hands it to each widget's
// init(sdk) as sdk.connectors. Settings come from config.js (written by serve.mjs).
import config from './config.js';
import { init } from './widget.js';

const { createConnectorsClient } = await import(`${config.baseUrl}/sdk/connectors.js`);

const connectors = createConnectorsClient({
  baseUrl: config.baseUrl,
  tenant: config.tenant,
  // A real portal asks its login for a fresh token here; the demo got one from `gatehouse session-token`.
  getSessionToken: () => config.sessionToken,
});

const sdk = { connectors, $: (selector) => document.querySelector(`#widget ${selector}`), getContainer: () => document.getElementById('widget') };
// Exposed for the browser console (and the example's browser tests).
window.exampleSdk = sdk;
await init(sdk);
document.body.dataset.ready = 'true';
