// Hash routing (#/tenants/acme/secrets?x=1): the server only ever serves /ui/ itself, and a view's
// address can be bookmarked or shared. Each view gets an AbortSignal that fires when the operator
// navigates away, which stops its fetches and auto-refresh timers.

const routes = [];
let current = null;

/** route('/tenants/:tenant', render): `render(ctx)` with ctx = {params, query, signal, path}. */
export function route(pattern, render) {
  const names = [];
  const source = pattern
    .split('/')
    .map((part) => {
      if (part.startsWith(':')) {
        names.push(part.slice(1));
        return '([^/]+)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  routes.push({ regex: new RegExp(`^${source}$`), names, render });
}

export function parseHash(hash = location.hash) {
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  const [path, search = ''] = raw.split('?');
  return { path: path || '/', query: new URLSearchParams(search) };
}

/** Builds '#/a/b?x=1' from a path and a query object (empty values left out). */
export function href(path, query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

export function navigate(path, query) {
  const target = href(path, query);
  if (location.hash === target) render();
  else location.hash = target;
}

/** Changes the address without re-rendering (filters that the view already applied). */
export function replaceQuery(path, query) {
  history.replaceState(null, '', href(path, query));
}

let notFound = () => {};
let before = () => true;
export function onNotFound(fn) {
  notFound = fn;
}
/** `fn(path)` returns false to stop the navigation (e.g. to show the login screen instead). */
export function beforeEach(fn) {
  before = fn;
}

export async function render() {
  const { path, query } = parseHash();
  current?.controller.abort();
  const controller = new AbortController();
  current = { controller, path };
  if (!before(path, query)) return;
  for (const r of routes) {
    const m = r.regex.exec(path);
    if (m === null) continue;
    const params = {};
    r.names.forEach((name, i) => {
      params[name] = decodeURIComponent(m[i + 1]);
    });
    await r.render({ params, query, signal: controller.signal, path });
    return;
  }
  notFound(path);
}

export function start() {
  window.addEventListener('hashchange', () => render());
  render();
}

/** Runs `fn` every `ms` until `signal` aborts; skips a tick while the previous run is still going. */
export function every(ms, fn, signal) {
  let running = false;
  const id = setInterval(async () => {
    if (running || document.hidden) return;
    running = true;
    try {
      await fn();
    } catch {
      // The view shows its own errors; a failed refresh is retried on the next tick.
    } finally {
      running = false;
    }
  }, ms);
  signal.addEventListener('abort', () => clearInterval(id), { once: true });
  return () => clearInterval(id);
}
