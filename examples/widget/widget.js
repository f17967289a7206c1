// An example widget: everything it does goes through sdk.connectors; it holds no credential and
// never sends who the user is (connectors read user.* from the session token on the server).

const html = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function show(sdk, id, value) {
  const out = sdk.$(`#${id}`);
  out.className = 'result';
  out.textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** The styled fallback every call uses: what failed, in words, and the code for support. */
function showError(sdk, id, error) {
  const out = sdk.$(`#${id}`);
  out.className = 'result error';
  const status = error.status ? `${error.status} ` : '';
  out.innerHTML = `<strong>${html(error.name)}</strong> <code>${html(status + (error.code ?? ''))}</code><br>${html(error.detail ?? error.message)}` +
    (error.requestId ? `<br><small>request id ${html(error.requestId)}</small>` : '');
  out.dataset.code = error.code ?? '';
}

async function call(sdk, id, run) {
  const out = sdk.$(`#${id}`);
  out.className = 'result pending';
  out.textContent = '…';
  try {
    show(sdk, id, await run());
  } catch (error) {
    showError(sdk, id, error);
  }
}

export function init(sdk) {
  const root = sdk.getContainer();
  root.innerHTML = `
    <section>
      <h2>Weather (GET, path and query parameters)</h2>
      <form id="weather-form"><input id="city" value="Warsaw" aria-label="city"> <button id="weather-go">Get weather</button></form>
      <pre id="weather-result" class="result"></pre>
    </section>
    <section>
      <h2>New contact (POST with payload)</h2>
      <form id="contact-form">
        <input id="first" value="Ada" aria-label="first name"> <input id="last" value="Lovelace" aria-label="last name">
        <input id="email" value="ada@example.com" aria-label="email"> <button id="contact-go">Save contact</button>
      </form>
      <pre id="contact-result" class="result"></pre>
    </section>
    <section>
      <h2>Dashboard (composite)</h2>
      <button id="dashboard-go">Load dashboard</button>
      <pre id="dashboard-result" class="result"></pre>
    </section>
    <section>
      <h2>Who am I (user context from the session token)</h2>
      <button id="whoami-go">Ask the upstream</button>
      <pre id="whoami-result" class="result"></pre>
    </section>
    <section>
      <h2>An error, styled</h2>
      <button id="broken-go">Call a missing connector</button>
      <pre id="broken-result" class="result"></pre>
    </section>`;

  const city = () => sdk.$('#city').value;
  sdk.$('#weather-form').addEventListener('submit', (e) => {
    e.preventDefault();
    call(sdk, 'weather-result', () => sdk.connectors.execute({ permalink: 'weather', method: 'GET', pathParams: { city: city() }, queryParams: { q: city() } }));
  });
  sdk.$('#contact-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const payload = { firstName: sdk.$('#first').value, lastName: sdk.$('#last').value, email: sdk.$('#email').value };
    call(sdk, 'contact-result', () => sdk.connectors.execute({ permalink: 'contacts', method: 'POST', payload }));
  });
  sdk.$('#dashboard-go').addEventListener('click', () =>
    call(sdk, 'dashboard-result', () => sdk.connectors.composite.execute({ permalink: 'dashboard', payload: { widget: 'example' }, queryParams: { city: city() } })),
  );
  sdk.$('#whoami-go').addEventListener('click', () => call(sdk, 'whoami-result', () => sdk.connectors.execute({ permalink: 'whoami', method: 'GET' })));
  sdk.$('#broken-go').addEventListener('click', () => call(sdk, 'broken-result', () => sdk.connectors.execute({ permalink: 'no-such-connector', method: 'GET' })));
}
