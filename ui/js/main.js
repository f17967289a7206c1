// Entry point: wires the routes, the login gate and the top bar.

import { onAuthFailure } from './api.js';
import { beforeEach, navigate, onNotFound, parseHash, route, start } from './router.js';
import { clearToken, getToken } from './session.js';
import { clearFlashOnNavigate, flash, startView } from './page.js';
import { h } from './dom.js';
import { loginView, setLoginMessage, setReturnTo } from './views/login.js';
import { tenantListView } from './views/tenants.js';
import { newTenantView, tenantSettingsView } from './views/tenant-form.js';
import { connectorsTab } from './views/connectors.js';
import { overviewTab } from './views/overview.js';
import { connectorView, newConnectorView } from './views/connector.js';
import { testTab } from './views/test-connection.js';
import { secretsTab, variablesTab } from './views/values.js';
import { repositoriesTab } from './views/repositories.js';
import { syncListView } from './views/syncs.js';
import { syncDetailView } from './views/sync-detail.js';
import { queuesView } from './views/queues.js';
import { auditView } from './views/audit.js';

route('/login', loginView);
route('/tenants', tenantListView);
route('/new-tenant', newTenantView);
route('/tenants/:tenant', ({ params }) => navigate(`/tenants/${encodeURIComponent(params.tenant)}/connectors`));
route('/tenants/:tenant/overview', overviewTab);
route('/tenants/:tenant/connectors', connectorsTab);
route('/tenants/:tenant/new-connector', newConnectorView);
route('/tenants/:tenant/connectors/:permalink', connectorView);
route('/tenants/:tenant/test', testTab);
route('/tenants/:tenant/secrets', secretsTab);
route('/tenants/:tenant/variables', variablesTab);
route('/tenants/:tenant/repositories', repositoriesTab);
route('/tenants/:tenant/settings', tenantSettingsView);
route('/syncs', syncListView);
route('/syncs/:id', syncDetailView);
route('/queues', queuesView);
route('/audit', auditView);
route('/', () => navigate('/tenants'));

onNotFound((path) => {
  const body = startView({ title: 'Page not found' });
  body.append(h('p', {}, 'There is no dashboard page at ', h('code', {}, path), '. ', h('a', { href: '#/tenants' }, 'Go to the tenants.')));
});

const nav = document.getElementById('main-nav');
const logout = document.getElementById('logout');

function updateChrome(path, signedIn) {
  nav.hidden = !signedIn;
  logout.hidden = !signedIn;
  const top = path.split('/')[1];
  const section = ['syncs', 'queues', 'audit'].includes(top) ? top : 'tenants';
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.section === section && signedIn) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

beforeEach((path, query) => {
  clearFlashOnNavigate();
  const signedIn = getToken() !== null;
  updateChrome(path, signedIn);
  if (path === '/login') {
    if (signedIn) {
      navigate('/tenants');
      return false;
    }
    return true;
  }
  if (!signedIn) {
    setReturnTo(path, query);
    navigate('/login');
    return false;
  }
  return true;
});

onAuthFailure((error) => {
  const { path, query } = parseHash();
  if (path !== '/login') setReturnTo(path, query);
  setLoginMessage(
    error.status === 401
      ? `You are signed out: the server asked for the admin token (${error.code}). Sign in again.`
      : `The admin token was rejected (${error.code}: ${error.message}). Sign in with the current token.`,
  );
  navigate('/login');
});

logout.addEventListener('click', () => {
  clearToken();
  setReturnTo(null);
  flash('Signed out. The token was removed from this tab.', 'info', { navigating: true });
  navigate('/login');
});

document.getElementById('skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  document.querySelector('main h1')?.focus();
});

start();
