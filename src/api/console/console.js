'use strict';
/*
 * The operator console: plain DOM, no framework, no network but this server. The admin token
 * lives in this tab's sessionStorage and goes out only as a bearer header (never in a URL). The
 * page shown re-reads its data every POLL_MS with If-None-Match, and redraws only when it changed.
 */
(() => {
  const POLL_MS = 1000;
  const TOKEN_KEY = 'orderActorsAdminToken';
  const main = document.getElementById('main');
  const loginForm = document.getElementById('login');
  let settings = { temporalUiUrl: '', namespace: 'default' };
  /** The view on screen: its data URL, the last ETag and a redraw. */
  let current = null;
  let timer = null;

  const token = () => sessionStorage.getItem(TOKEN_KEY);

  /** `h('a', { href }, 'text', child)`: an element; strings become text, never HTML. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
      else el.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat(Infinity))
      if (child !== null && child !== undefined && child !== false) el.append(child instanceof Node ? child : String(child));
    return el;
  }
  const json = (value) => h('pre', {}, JSON.stringify(value, null, 2));
  /** An event's data in one wrapped line: the timeline stays readable. */
  const compact = (value) => h('code', { class: 'data' }, JSON.stringify(value));
  const money = (cents) => `${(cents / 100).toFixed(2)}`;
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');
  const badge = (text, kind) => h('span', { class: `badge ${kind || ''}` }, text);
  const streamLink = (streamId) => h('a', { href: `#/stream/${encodeURIComponent(streamId)}` }, streamId);
  const orderLink = (orderId) => h('a', { href: `#/order/${encodeURIComponent(orderId)}` }, orderId);
  const workflowLink = (workflowId) =>
    h(
      'a',
      {
        href: `${settings.temporalUiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`,
        target: '_blank',
        rel: 'noreferrer',
        class: 'workflow-link',
      },
      workflowId,
    );
  const statusBadge = (status) => badge(status, { CONFIRMED: 'good', SHIPPED: 'good', CANCELLED: 'warn', EXPIRED: 'warn' }[status]);

  class Refused extends Error {}

  /** A call with the token; 401/403 send the operator back to the login form. */
  async function api(path, options = {}) {
    const headers = { authorization: `Bearer ${token()}`, ...(options.headers || {}) };
    const response = await fetch(path, { ...options, headers });
    if (response.status === 401 || response.status === 403) {
      const problem = await response.json().catch(() => ({}));
      logout(problem.code === 'FORBIDDEN' ? 'This token is not an admin’s: the console needs the admin role.' : 'The token was refused: log in again.');
      throw new Refused(problem.detail || 'refused');
    }
    return response;
  }

  async function getJson(path) {
    const response = await api(path);
    const body = await response.json();
    if (!response.ok) throw new Error(`${body.code || response.status}: ${body.detail || ''}`);
    return body;
  }

  function show(...nodes) {
    main.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== '' && n !== null && n !== undefined));
  }

  /** Shows the view of `url`, and keeps it live: re-read every POLL_MS, redrawn when its ETag changes. */
  function live(url, render) {
    const view = { url, etag: null, render };
    current = view;
    const load = async () => {
      if (current !== view) return;
      try {
        const response = await api(url, { headers: view.etag ? { 'if-none-match': view.etag } : {} });
        if (current !== view) return;
        if (response.status !== 304) {
          const body = await response.json();
          if (!response.ok) {
            show(h('p', { class: 'error' }, `${body.title || response.status}: ${body.detail || ''}`));
          } else {
            view.etag = response.headers.get('etag');
            const focused = document.activeElement && document.activeElement.id;
            render(body);
            if (focused) document.getElementById(focused)?.focus();
          }
        }
      } catch (err) {
        if (err instanceof Refused) return;
        document.getElementById('live').textContent = '○ reconnecting';
      }
      if (current === view) timer = setTimeout(load, POLL_MS);
    };
    clearTimeout(timer);
    void load();
  }

  // ---- actions ---------------------------------------------------------------------------------

  const dialog = document.getElementById('confirm');
  /**
   * Asks for confirmation and a reason, then sends the action once: its Idempotency-Key is made
   * when the dialog opens, so a retried request cannot act twice.
   */
  function confirmAction(title, text, body, after) {
    document.getElementById('confirm-title').textContent = title;
    document.getElementById('confirm-text').textContent = text;
    const reason = document.getElementById('confirm-reason');
    reason.value = '';
    const key = crypto.randomUUID();
    const form = document.getElementById('confirm-form');
    const onSubmit = async (event) => {
      event.preventDefault();
      form.removeEventListener('submit', onSubmit);
      dialog.close();
      const response = await api('/admin/actions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ ...body, reason: reason.value }),
      });
      const answer = await response.json();
      notice(
        response.ok ? `${title}: done. ${describeOutcome(answer.action.outcome.answer)}` : `${title}: refused, ${answer.code}: ${answer.detail}`,
        !response.ok,
      );
      if (current) current.etag = null;
      if (after) after(answer);
    };
    form.addEventListener('submit', onSubmit);
    document.getElementById('confirm-no').onclick = () => {
      form.removeEventListener('submit', onSubmit);
      dialog.close();
    };
    dialog.showModal();
  }

  function describeOutcome(answer) {
    if (!answer) return '';
    if (answer.outcome && answer.message) return `${answer.outcome}: ${answer.message}`;
    if (answer.orderStatus) return `The order is ${answer.orderStatus} at version ${answer.version}.`;
    if (answer.outcome === 'applied') return 'The parked event was applied.';
    return '';
  }

  function notice(text, bad) {
    let el = document.getElementById('notice');
    if (!el) {
      el = h('div', { id: 'notice', role: 'status' });
      main.before(el);
    }
    el.className = bad ? 'error' : '';
    el.textContent = text;
  }

  // ---- pages -----------------------------------------------------------------------------------

  function ordersPage(params) {
    const field = (name, input) => h('label', {}, name, input);
    const value = (name) => params.get(name) || '';
    const status = h('select', { name: 'status', id: 'filter-status' }, h('option', { value: '' }, 'any'));
    for (const s of ['PENDING', 'PLACED', 'CONFIRMED', 'SHIPPED', 'CANCELLED', 'EXPIRED'])
      status.append(h('option', { value: s, selected: value('status') === s }, s));
    const form = h(
      'form',
      { class: 'filters', id: 'order-search' },
      field('Customer', h('input', { name: 'customerId', id: 'filter-customer', value: value('customerId') })),
      field('Status', status),
      field('Created from', h('input', { name: 'from', type: 'date', value: value('from') })),
      field('to (before)', h('input', { name: 'to', type: 'date', value: value('to') })),
      h('label', {}, 'Stuck only', h('input', { name: 'stuck', id: 'filter-stuck', type: 'checkbox', checked: value('stuck') === 'true' })),
      h('button', { type: 'submit', id: 'search' }, 'Search'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const query = new URLSearchParams();
      for (const [name, v] of new FormData(form)) if (v) query.set(name, name === 'stuck' ? 'true' : String(v));
      location.hash = `#/orders?${query}`;
    });
    const results = h('div', { id: 'orders' }, h('p', { class: 'muted' }, 'Loading…'));
    show(h('h1', {}, 'Orders'), form, results);
    live(`/admin/orders?${params}`, (page) => {
      const rows = page.orders.map((o) =>
        h(
          'tr',
          { 'data-order': o.orderId },
          h('td', {}, orderLink(o.orderId)),
          h('td', {}, h('a', { href: `#/customer/${encodeURIComponent(o.customerId)}` }, o.customerId)),
          h('td', {}, statusBadge(o.status)),
          h('td', {}, money(o.totalCents)),
          h('td', {}, o.version),
          h('td', {}, when(o.createdAt)),
          h('td', {}, when(o.updatedAt)),
          h('td', { class: 'error' }, (o.stuck || []).join('; ')),
        ),
      );
      const next = new URLSearchParams(params);
      if (page.nextCursor) next.set('cursor', page.nextCursor);
      results.replaceChildren(
        rows.length === 0
          ? h('p', { class: 'muted' }, 'No orders match.')
          : h(
              'table',
              {},
              h('tr', {}, ...['Order', 'Customer', 'Status', 'Total', 'Version', 'Created', 'Changed', 'Stuck because'].map((t) => h('th', {}, t))),
              rows,
            ),
        h(
          'p',
          {},
          params.get('cursor') ? h('button', { type: 'button', onclick: () => history.back() }, '← previous') : '',
          ' ',
          page.nextCursor ? h('a', { href: `#/orders?${next}`, id: 'next-page' }, 'next page →') : '',
        ),
      );
    });
  }

  function changedList(changes) {
    return h(
      'ul',
      { class: 'changed' },
      changes.map((c) =>
        h('li', {}, h('code', {}, c.path), ': ', h('span', { class: 'muted' }, JSON.stringify(c.before)), ' → ', h('strong', {}, JSON.stringify(c.after))),
      ),
    );
  }

  function timelineTable(timeline) {
    return h(
      'table',
      { class: 'timeline' },
      h('tr', {}, ...['#', 'When', 'Event', 'Data', 'What changed', 'State after'].map((t) => h('th', {}, t))),
      timeline.map((e) =>
        h(
          'tr',
          { 'data-version': e.version, 'data-type': e.type },
          h('td', {}, e.version),
          h('td', {}, when(e.occurredAt), h('div', { class: 'muted' }, e.metadata.commandId || '')),
          h('td', {}, h('strong', {}, e.type)),
          h('td', {}, compact(e.data)),
          h('td', {}, changedList(e.changed)),
          h('td', { class: 'state-after' }, h('details', {}, h('summary', {}, summarize(e.stateAfter)), json(e.stateAfter))),
        ),
      ),
    );
  }

  /** A state in one line: an order's status and total, a stock's levels, a wallet's balance. */
  function summarize(state) {
    if (state.status) return `${state.status} · ${state.items.length} line(s) · ${money(state.totalCents)}`;
    if ('onHand' in state) return `on hand ${state.onHand} · reserved ${state.reserved}`;
    if ('balanceCents' in state) return `balance ${money(state.balanceCents)}`;
    if ('priceCents' in state) return `${state.name} · ${money(state.priceCents)}`;
    return 'state';
  }

  function orderPage(orderId) {
    show(h('p', { class: 'muted' }, 'Loading…'));
    live(`/admin/orders/${encodeURIComponent(orderId)}/story`, (story) => {
      const act = (action, title, text) =>
        h('button', { type: 'button', id: `action-${action}`, onclick: () => confirmAction(title, text, { action, orderId }) }, title);
      const rm = story.readModel;
      show(
        h('h1', {}, 'Order ', h('code', {}, orderId), ' ', statusBadge(story.state.status)),
        h(
          'p',
          {},
          'Customer ',
          h('a', { href: `#/customer/${encodeURIComponent(story.state.customerId)}` }, story.state.customerId),
          ` · version ${story.version} · total ${money(story.state.totalCents)} · stream `,
          streamLink(story.streamId),
          ' · actor ',
          workflowLink(story.workflows.actor),
          story.workflows.sagas.length ? [' · sagas ', story.workflows.sagas.map((s) => [workflowLink(s), ' '])] : '',
        ),
        h(
          'div',
          { class: 'actions' },
          act('cancel', 'Cancel the order', 'The actor cancels it; a confirmed order gets its stock and money back first.'),
          act('ship', 'Mark shipped', 'A confirmed order becomes SHIPPED.'),
          act('heal', 'Heal the actor', 'Brings the actor back in line with its stream (terminates a stranded run and starts one carrying the stream).'),
        ),
        h('h2', {}, 'Timeline: each event with the state after it'),
        timelineTable(story.timeline),
        h('h2', {}, 'Checkout attempts'),
        story.checkouts.length === 0
          ? h('p', { class: 'muted' }, 'Not checked out yet.')
          : story.checkouts.map((c) =>
              h(
                'div',
                { class: 'card checkout', 'data-attempt': c.attempt },
                h(
                  'div',
                  {},
                  h('strong', {}, `Attempt ${c.attempt}`),
                  ' · ',
                  outcomeBadge(c.outcome),
                  ` · ${money(c.totalCents)} · placed ${when(c.placedAt)} · saga `,
                  workflowLink(c.workflowId),
                ),
                c.outcome.status === 'failed' ? h('p', { class: 'error' }, `${c.outcome.code}: ${c.outcome.message}`) : '',
                h(
                  'table',
                  { class: 'steps' },
                  h('tr', {}, ...['', 'Stream', '#', 'Event', 'Data', 'When'].map((t) => h('th', {}, t))),
                  c.steps.map((s) =>
                    h(
                      'tr',
                      { 'data-step': s.type },
                      h('td', {}, badge(s.kind, s.kind === 'compensation' ? 'warn' : '')),
                      h('td', {}, streamLink(s.streamId)),
                      h('td', {}, s.version),
                      h('td', {}, s.type),
                      h('td', {}, compact(s.data)),
                      h('td', {}, when(s.at)),
                    ),
                  ),
                ),
                c.outcome.status === 'failed' && c.outcome.compensations.length
                  ? h('p', {}, 'Compensations reported: ', c.outcome.compensations.join(', '))
                  : '',
                c.cancelled ? h('p', {}, `Cancelled (${c.cancelled.reason}): `, c.cancelled.compensations.join(', ') || 'nothing to give back') : '',
              ),
            ),
        h('h2', {}, 'Commands'),
        h(
          'table',
          { class: 'commands' },
          h('tr', {}, ...['Command id', 'Origin', 'Outcome', 'Events', 'Versions', 'When'].map((t) => h('th', {}, t))),
          story.commands.map((c) =>
            h(
              'tr',
              {},
              h('td', {}, h('code', {}, c.commandId)),
              h('td', {}, c.origin),
              h('td', {}, badge(c.outcome, 'good')),
              h('td', {}, c.events.join(', ')),
              h('td', {}, c.versions.join(', ')),
              h('td', {}, when(c.at)),
            ),
          ),
        ),
        h('h2', {}, 'Answers the actor gave (its current run, commands sent as updates)'),
        story.actorAnswers.list
          ? h(
              'table',
              { class: 'answers' },
              h('tr', {}, ...['Command', 'Command id', 'Outcome', 'Code', 'When'].map((t) => h('th', {}, t))),
              story.actorAnswers.list.map((a) =>
                h(
                  'tr',
                  { 'data-outcome': a.outcome },
                  h('td', {}, a.command),
                  h('td', {}, h('code', {}, a.commandId || '')),
                  h('td', {}, badge(a.outcome, a.outcome === 'accepted' ? 'good' : 'bad')),
                  h('td', {}, a.code ? [h('code', {}, a.code), ' ', h('span', { class: 'muted' }, a.message)] : ''),
                  h('td', {}, when(a.at)),
                ),
              ),
            )
          : h('p', { class: 'muted' }, story.actorAnswers.error),
        h('h2', {}, 'Read model beside the fold ', badge(rm.verdict, rm.verdict === 'agrees' ? 'good' : rm.verdict === 'lagging' ? 'warn' : 'bad')),
        rm.differences.length
          ? h(
              'table',
              { class: 'differences' },
              h('tr', {}, h('th', {}, 'Field'), h('th', {}, 'Fold of the stream'), h('th', {}, 'order_summary row')),
              rm.differences.map((d) =>
                h('tr', { class: 'diff' }, h('td', {}, d.path), h('td', {}, JSON.stringify(d.before)), h('td', {}, JSON.stringify(d.after))),
              ),
            )
          : h('p', { class: 'muted' }, rm.verdict === 'missing' ? 'The read model has no row yet.' : `No difference (row at version ${rm.rowVersion}).`),
        h('div', { class: 'row' }, h('div', {}, h('h2', {}, 'Fold'), json(story.state)), h('div', {}, h('h2', {}, 'order_summary row'), json(rm.row))),
        h('h2', {}, 'Operator actions'),
        actionsTable(story.actions),
      );
    });
  }

  function outcomeBadge(outcome) {
    if (outcome.status === 'succeeded') return badge('succeeded', 'good');
    if (outcome.status === 'failed') return badge('failed', 'bad');
    return badge('in flight', 'warn');
  }

  function actionsTable(actions) {
    if (actions.length === 0) return h('p', { class: 'muted' }, 'None.');
    return h(
      'table',
      { class: 'operator-actions' },
      h('tr', {}, ...['When', 'Who', 'Action', 'Why', 'Outcome'].map((t) => h('th', {}, t))),
      actions.map((a) =>
        h(
          'tr',
          {},
          h('td', {}, when(a.requestedAt)),
          h('td', {}, a.operator),
          h('td', {}, a.action),
          h('td', {}, a.reason),
          h('td', {}, a.outcome ? (a.outcome.status === 'refused' ? `refused: ${a.outcome.problem.code}` : 'done') : 'running'),
        ),
      ),
    );
  }

  function streamPage(streamId) {
    show(h('p', { class: 'muted' }, 'Loading…'));
    live(`/admin/streams/${encodeURIComponent(streamId)}`, (story) =>
      show(
        h('h1', {}, 'Stream ', h('code', {}, streamId)),
        h('p', {}, `${story.streamType} · version ${story.version}`, story.streamType === 'order' ? [' · ', orderLink(story.aggregateId)] : ''),
        story.omitted ? h('p', { class: 'muted' }, `${story.omitted} older event(s) not shown.`) : '',
        h('h2', {}, 'State now'),
        json(story.state),
        h('h2', {}, 'Timeline'),
        timelineTable(story.timeline),
      ),
    );
  }

  function productsPage() {
    live('/admin/products', ({ products }) =>
      show(
        h('h1', {}, 'Products and stock'),
        h(
          'table',
          {},
          h('tr', {}, ...['Product', 'Name', 'Price', 'On hand', 'Reserved', 'Available', 'Streams'].map((t) => h('th', {}, t))),
          products.map((p) =>
            h(
              'tr',
              {},
              h('td', {}, h('code', {}, p.productId)),
              h('td', {}, p.name),
              h('td', {}, money(p.priceCents)),
              h('td', {}, p.stock.onHand),
              h('td', {}, p.stock.reserved),
              h('td', {}, p.stock.available),
              h('td', {}, streamLink(`product-${p.productId}`), ' ', streamLink(`stock-${p.productId}`)),
            ),
          ),
        ),
      ),
    );
  }

  function customersPage() {
    live('/admin/customers', ({ customers }) =>
      show(
        h('h1', {}, 'Customers and wallets'),
        h(
          'table',
          {},
          h('tr', {}, ...['Customer', 'Balance', 'Deposits', 'Withdrawals', 'Transactions', 'Wallet stream'].map((t) => h('th', {}, t))),
          customers.map((c) =>
            h(
              'tr',
              {},
              h('td', {}, h('a', { href: `#/customer/${encodeURIComponent(c.customerId)}` }, c.customerId)),
              h('td', {}, money(c.balanceCents)),
              h('td', {}, money(c.totalDepositsCents)),
              h('td', {}, money(c.totalWithdrawalsCents)),
              h('td', {}, c.transactionCount),
              h('td', {}, streamLink(`account-${c.customerId}`)),
            ),
          ),
        ),
      ),
    );
  }

  function customerPage(customerId) {
    show(
      h('h1', {}, 'Customer ', h('code', {}, customerId)),
      h('p', {}, h('a', { href: `#/orders?customerId=${encodeURIComponent(customerId)}` }, 'Their orders'), ' · wallet ', streamLink(`account-${customerId}`)),
    );
  }

  function readSidePage() {
    live('/admin/read-side', ({ projections, deadLetters }) =>
      show(
        h('h1', {}, 'Read side'),
        h(
          'table',
          { class: 'projections' },
          h('tr', {}, ...['Projection', 'State', 'Checkpoint', 'Lag', 'Parked', 'Rebuild'].map((t) => h('th', {}, t))),
          projections.map((p) =>
            h(
              'tr',
              { 'data-projection': p.name },
              h('td', {}, p.name),
              h('td', {}, badge(p.state, p.state === 'running' ? 'good' : 'warn')),
              h('td', {}, p.checkpoint ? `${p.checkpoint.transactionId}/${p.checkpoint.globalPosition} (${when(p.checkpoint.updatedAt)})` : 'none'),
              h('td', {}, `${p.lag.events} event(s), ${(p.lag.ms / 1000).toFixed(1)} s`),
              h('td', {}, p.parkedEvents ? badge(String(p.parkedEvents), 'bad') : '0'),
              h('td', {}, p.rebuild ? `${p.rebuild.processed}/${p.rebuild.total} since ${when(p.rebuild.startedAt)}` : ''),
            ),
          ),
        ),
        h('h2', {}, 'Parked events (dead letters)'),
        deadLetters.length === 0
          ? h('p', { class: 'muted' }, 'None.')
          : h(
              'table',
              { class: 'dead-letters' },
              h('tr', {}, ...['#', 'Projection', 'Event', 'Stream', 'Error', 'Attempts', 'Parked', ''].map((t) => h('th', {}, t))),
              deadLetters.map((d) =>
                h(
                  'tr',
                  { 'data-dead-letter': d.id },
                  h('td', {}, d.id),
                  h('td', {}, d.projection),
                  h('td', {}, d.eventType),
                  h('td', {}, streamLink(d.streamId), ` v${d.version}`),
                  h('td', { class: 'error' }, d.error),
                  h('td', {}, d.attempts),
                  h('td', {}, when(d.parkedAt)),
                  h(
                    'td',
                    {},
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'retry',
                        onclick: () =>
                          confirmAction('Retry the dead letter', `Apply ${d.eventType} of ${d.streamId} to ${d.projection} again.`, {
                            action: 'retry-dead-letter',
                            deadLetterId: d.id,
                          }),
                      },
                      'Retry',
                    ),
                  ),
                ),
              ),
            ),
      ),
    );
  }

  // ---- routing and login -----------------------------------------------------------------------

  function route() {
    if (!token()) return;
    document.getElementById('notice')?.remove();
    const [path, query] = location.hash.replace(/^#/, '').split('?');
    const parts = (path || '/orders').split('/').filter(Boolean).map(decodeURIComponent);
    const params = new URLSearchParams(query || '');
    if (parts[0] === 'order' && parts[1]) return orderPage(parts[1]);
    if (parts[0] === 'stream' && parts[1]) return streamPage(parts[1]);
    if (parts[0] === 'customer' && parts[1]) return customerPage(parts[1]);
    if (parts[0] === 'products') return productsPage();
    if (parts[0] === 'customers') return customersPage();
    if (parts[0] === 'read-side') return readSidePage();
    return ordersPage(params);
  }

  function logout(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    current = null;
    clearTimeout(timer);
    main.replaceChildren();
    document.getElementById('nav').hidden = true;
    document.getElementById('live').hidden = true;
    loginForm.hidden = false;
    document.getElementById('login-error').textContent = message || '';
  }

  async function start() {
    try {
      settings = await getJson('/admin/console/settings');
    } catch (err) {
      if (!(err instanceof Refused)) logout(`The API did not answer: ${err.message}`);
      return;
    }
    loginForm.hidden = true;
    document.getElementById('nav').hidden = false;
    document.getElementById('live').hidden = false;
    route();
  }

  loginForm.addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, document.getElementById('login-token').value.trim());
    document.getElementById('login-token').value = '';
    void start();
  });
  document.getElementById('logout').addEventListener('click', () => logout('Logged out.'));
  window.addEventListener('hashchange', route);
  if (token()) void start();
  else logout();
})();
