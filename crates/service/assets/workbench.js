// The triage workbench. Every page is built from what the service answers:
// the bundle's catalog (its ticket schema, rules, paths and declarations),
// the engine's decisions, table and plan, and the decision log. Nothing here
// names anything a policy declares.
'use strict';

const main = document.getElementById('main');
let catalog = null;
let features = {};

// ---- small helpers ------------------------------------------------------

// An element with attributes (`on…` are listeners) and children (strings
// become text: nothing the service sends is ever parsed as HTML).
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// Replaces `node`'s children, leaving out the parts a page did not need.
function put(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

const code = (text) => el('code', {}, text);
const shown = (value) => (typeof value === 'string' ? value : JSON.stringify(value));
const percent = (share) => (share * 100 >= 1 ? (share * 100).toFixed(1) : (share * 100).toPrecision(2)) + '%';
const tryLink = (ticket, text) =>
  el('a', { href: '/try?ticket=' + encodeURIComponent(JSON.stringify(ticket)), class: 'witness' }, text);

function titled(list, id) {
  const found = (list || []).find((item) => item.id === id);
  return found && found.title && found.title !== id ? [el('strong', {}, found.title), ' (', code(id), ')'] : [code(id)];
}

function status(text) {
  const node = document.getElementById('status');
  if (node) node.textContent = text;
}

// ---- the API, with the bearer token when the service asks for one --------

async function api(path, body) {
  const headers = {};
  const token = sessionStorage.getItem('triage-token');
  if (token) headers.Authorization = 'Bearer ' + token;
  const options = { headers };
  if (body !== undefined) {
    options.method = 'POST';
    headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 401) {
    askForToken();
    throw new Error('the service needs its token');
  }
  const answer = await response.json();
  if (!response.ok && answer.error) throw new Error(answer.error.message || answer.error);
  return answer;
}

function askForToken() {
  put(main, 
    el('h1', {}, 'This service needs its token'),
    el('form', {
      onsubmit: (event) => {
        event.preventDefault();
        sessionStorage.setItem('triage-token', document.getElementById('token').value.trim());
        location.reload();
      },
    },
    el('label', { for: 'token' }, 'Bearer token (kept for this tab only)'),
    el('input', { id: 'token', type: 'password', autocomplete: 'off', required: true }),
    el('button', { type: 'submit' }, 'Open the workbench')),
  );
}

// ---- start ------------------------------------------------------------

async function start() {
  const page = { '/': 'try', '/try': 'try', '/policy': 'policy', '/review': 'review', '/decisions': 'decisions' }[location.pathname] || 'try';
  for (const link of document.querySelectorAll('nav a')) {
    if (link.dataset.page === page) link.setAttribute('aria-current', 'page');
  }
  setInterval(watchBundle, 2000);
  try {
    const answer = await api('/v1/workbench/catalog');
    catalog = answer.catalog;
    features = answer;
    document.getElementById('policy-name').textContent =
      `${catalog.policy.name} ${catalog.policy.version}`;
    document.title = `${{ try: 'Try a ticket', policy: 'The policy', review: 'Review a change', decisions: 'Decisions' }[page]} · triage workbench`;
    await { try: tryPage, policy: policyPage, review: reviewPage, decisions: decisionsPage }[page]();
  } catch (error) {
    if (!document.getElementById('token')) {
      put(main, el('h1', {}, 'The workbench cannot start'), el('p', { role: 'alert' }, String(error.message || error)));
    }
  }
}

// A saved bundle is shown at once: every page keeps what it shows in its
// address, so loading it again loses nothing. A save that does not load is
// shown above the page, with its problems, while the last good bundle serves.
async function watchBundle() {
  const token = sessionStorage.getItem('triage-token');
  try {
    const response = await fetch('/v1/workbench/status', { headers: token ? { Authorization: 'Bearer ' + token } : {} });
    // Without the token there is nothing to watch: the page asks for it.
    if (!response.ok) return;
    const now = await response.json();
    if (now.digest && now.digest !== (catalog && catalog.policy.digest)) return location.reload();
    showReloadError(now.last_reload_error);
  } catch (_) {
    // The service is restarting: the next tick asks again.
  }
}

function showReloadError(failure) {
  let banner = document.getElementById('reload-error');
  if (!failure) {
    if (banner) banner.remove();
    return;
  }
  if (!banner) {
    banner = el('div', { id: 'reload-error', role: 'alert' });
    main.before(banner);
  }
  const where = (l) => (l ? [code(`${l.file}:${l.line}:${l.column}`), ' '] : null);
  put(banner, el('p', {}, el('strong', {}, 'The saved bundle does not load'), ` (${failure.at}): ${failure.message}. `,
    catalog ? `Still serving ${catalog.policy.name} ${catalog.policy.version}.` : 'Nothing is served until it loads.'),
  el('ul', {}, failure.problems.map((p) => el('li', {}, where(p.location), p.message, p.help ? ` (${p.help})` : null))));
}

// ---- try a ticket -----------------------------------------------------

// The ticket as the form holds it: fields in the URL's ticket the schema does
// not know are kept, so that a link still reproduces it.
let extra = {};

function getPath(object, path) {
  return path.split('.').reduce((at, key) => (at && typeof at === 'object' ? at[key] : undefined), object);
}

function setPath(object, path, value) {
  const keys = path.split('.');
  let at = object;
  for (const key of keys.slice(0, -1)) {
    if (typeof at[key] !== 'object' || at[key] === null) at[key] = {};
    at = at[key];
  }
  at[keys[keys.length - 1]] = value;
}

function deletePath(object, path) {
  const keys = path.split('.');
  const parent = getPath(object, keys.slice(0, -1).join('.')) ?? (keys.length === 1 ? object : undefined);
  if (parent && typeof parent === 'object') delete parent[keys[keys.length - 1]];
}

function fieldHint(field) {
  const parts = [];
  if (field.required) parts.push('required');
  if (field.default !== undefined) parts.push('default: ' + shown(field.default));
  if (field.description) parts.push(field.description);
  return parts.join(' · ');
}

// One control per field, by its type.
function control(field, index) {
  const id = 'f' + index;
  const common = { id, 'data-path': field.path, 'aria-describedby': `h${index} p${index}`, 'aria-required': field.required ? 'true' : null };
  if (field.type === 'enum' || field.type === 'role') {
    const empty = field.required ? '(choose)' : field.default !== undefined ? `(default: ${shown(field.default)})` : '(absent)';
    return el('select', common, el('option', { value: '' }, empty), (field.values || []).map((v) => el('option', { value: v }, v)));
  }
  if (field.type === 'list') {
    return el('div', { ...common, role: 'group', class: 'choices', 'aria-labelledby': 'l' + index },
      (field.values || []).map((v, i) => el('label', { class: 'choice' },
        el('input', { type: 'checkbox', value: v, id: `${id}-${i}` }), v)));
  }
  if (field.type === 'bool') {
    return el('input', { ...common, type: 'checkbox', role: 'switch', class: 'switch' });
  }
  const kind = field.type === 'integer' ? 'number' : 'text';
  const placeholder = field.default !== undefined ? shown(field.default) : field.type === 'timestamp' ? 'RFC 3339, e.g. 2026-01-31T09:00:00Z' : '';
  return el('input', { ...common, type: kind, placeholder, step: kind === 'number' ? '1' : null, autocomplete: 'off' });
}

function fieldRow(field, index) {
  // A group of checkboxes is named by its heading, not by a label of its own.
  const tag = field.type === 'list' ? 'span' : 'label';
  const label = el(tag, { for: tag === 'label' ? 'f' + index : null, id: 'l' + index, class: 'label' }, code(field.path),
    field.required ? el('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : null);
  return el('div', { class: 'field', 'data-field': field.path },
    label, control(field, index),
    el('p', { class: 'hint', id: 'h' + index }, fieldHint(field)),
    el('p', { class: 'problem', id: 'p' + index, 'data-problem': field.path }));
}

// Puts `ticket`'s values into the form.
function fill(form, ticket) {
  extra = JSON.parse(JSON.stringify(ticket));
  catalog.ticket.fields.forEach((field, index) => {
    const value = getPath(ticket, field.path);
    deletePath(extra, field.path);
    const input = document.getElementById('f' + index);
    if (field.type === 'list') {
      for (const box of input.querySelectorAll('input')) box.checked = Array.isArray(value) && value.includes(box.value);
      input.dataset.set = Array.isArray(value) ? 'yes' : '';
    } else if (field.type === 'bool') {
      input.checked = value === undefined ? field.default === true : value === true;
      input.dataset.set = value === undefined ? '' : 'yes';
    } else {
      input.value = value === undefined || value === null ? '' : String(value);
    }
  });
}

// The ticket the form holds: empty optional fields are left out, so their
// defaults apply (and the explanation marks them).
function ticketOf() {
  const ticket = JSON.parse(JSON.stringify(extra));
  catalog.ticket.fields.forEach((field, index) => {
    const input = document.getElementById('f' + index);
    if (field.type === 'list') {
      const values = [...input.querySelectorAll('input:checked')].map((box) => box.value);
      if (values.length || input.dataset.set || field.required) setPath(ticket, field.path, values);
    } else if (field.type === 'bool') {
      if (input.dataset.set || field.required || input.checked !== (field.default === true)) setPath(ticket, field.path, input.checked);
    } else if (input.value !== '') {
      const number = Number(input.value);
      setPath(ticket, field.path, field.type === 'integer' && Number.isFinite(number) ? number : input.value);
    }
  });
  return ticket;
}

async function tryPage() {
  const fields = catalog.ticket.fields;
  const form = el('form', { id: 'ticket-form', 'aria-labelledby': 'form-title', onsubmit: (e) => e.preventDefault() },
    el('h2', { id: 'form-title' }, 'The ticket'),
    el('p', { class: 'hint' }, 'Fields marked * are required; an empty optional field takes its default.'),
    fields.map(fieldRow));
  const result = el('section', { id: 'result', 'aria-labelledby': 'result-title' },
    el('h2', { id: 'result-title' }, 'The decision'),
    el('p', { id: 'announce', class: 'visually-hidden', 'aria-live': 'polite' }),
    el('div', { id: 'decision' }, 'Fill in the ticket.'),
    el('div', { class: 'copy' },
      el('button', { type: 'button', id: 'copy-json', onclick: () => copy('json') }, 'Copy as JSON'),
      el('button', { type: 'button', id: 'copy-curl', onclick: () => copy('curl') }, 'Copy as curl'),
      el('p', { id: 'copied', role: 'status' })));
  put(main, el('h1', {}, 'Try a ticket'), el('div', { class: 'columns' }, form, result));
  const given = new URLSearchParams(location.search).get('ticket');
  if (given) {
    try {
      fill(form, JSON.parse(given));
    } catch (error) {
      document.getElementById('decision').textContent = 'The ticket in the address is not JSON: ' + error.message;
    }
  }
  form.addEventListener('change', (event) => {
    const set = event.target.closest('[data-path]');
    if (set) set.dataset.set = 'yes';
    changed();
  });
  form.addEventListener('input', changed);
  if (given) await decide();
}

let pending = null;
function changed() {
  clearTimeout(pending);
  pending = setTimeout(decide, 120);
}

let asked = 0;
async function decide() {
  const ticket = ticketOf();
  history.replaceState(null, '', '/try?ticket=' + encodeURIComponent(JSON.stringify(ticket)));
  const mine = ++asked;
  let answer;
  try {
    answer = await api('/v1/workbench/decide', ticket);
  } catch (error) {
    if (mine === asked) put(document.getElementById('decision'), el('p', { role: 'alert' }, 'No decision: ', error.message));
    return;
  }
  if (mine !== asked) return;
  showProblems(answer.rejection);
  const panel = document.getElementById('decision');
  put(panel, ...(answer.decision ? decisionView(answer.decision) : rejectionView(answer.rejection)));
  // Only the verdict is announced: the explanation is there to be read on demand.
  document.getElementById('announce').textContent = document.getElementById('verdict').textContent;
}

function copy(as) {
  const ticket = JSON.stringify(ticketOf());
  const quoted = ticket.replace(/'/g, "'\\''");
  const text = as === 'json' ? ticket
    : `curl -sS -X POST ${location.origin}/v1/decisions -H 'Content-Type: application/json'` +
      (sessionStorage.getItem('triage-token') ? " -H \"Authorization: Bearer $TRIAGE_TOKEN\"" : '') + ` -d '${quoted}'`;
  const done = () => { document.getElementById('copied').textContent = as === 'json' ? 'The ticket was copied as JSON.' : 'A curl call was copied.'; };
  if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, () => prompt('Copy this:', text));
  else prompt('Copy this:', text);
}

// Each problem of an invalid ticket, next to its field.
function showProblems(rejection) {
  for (const node of document.querySelectorAll('[data-problem]')) node.textContent = '';
  for (const node of document.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
  const problems = rejection && rejection.error.kind === 'invalid_ticket' ? rejection.error.problems : [];
  for (const problem of problems) {
    const index = catalog.ticket.fields.findIndex((f) => f.path === problem.field);
    if (index < 0) continue;
    document.getElementById('p' + index).textContent = `${problem.message}: expected ${problem.expected}, found ${problem.found}`;
    document.getElementById('f' + index).setAttribute('aria-invalid', 'true');
  }
}

function rejectionView(rejection) {
  const error = rejection.error;
  if (error.kind === 'invalid_ticket') {
    return [el('p', { id: 'verdict', class: 'rejected' }, 'Not a valid ticket: ', `${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}, shown next to the fields.`),
      el('ul', {}, error.problems.map((p) => el('li', {}, p.field ? code(p.field) : 'the ticket', ': ', p.message, ` (expected ${p.expected}, found ${p.found})`)))];
  }
  return [el('p', { id: 'verdict', class: 'rejected' }, 'The bundle failed on this ticket: ', error.cause || ''),
    el('p', {}, 'In ', code(error.id || ''), ' at ', code(error.location || ''), ': ', code(error.expression || ''))];
}

function decisionView(decision) {
  const rule = catalog.rules.find((r) => r.id === decision.rule) || {};
  const verdict = el('p', { id: 'verdict', class: 'verdict' },
    titled(catalog.outcomes, decision.outcome),
    decision.vehicle ? [' via ', titled(catalog.vehicles, decision.vehicle)] : null);
  const roles = el('p', { id: 'roles' }, 'Action ', titled(catalog.actions, decision.action), ', allowed to: ',
    decision.allowed_roles.length ? decision.allowed_roles.map((r, i) => [i ? ', ' : '', code(r)]) : 'no role',
    '. The requester (', code(decision.requester.role), decision.requester.allowed ? ') may take it.' : ') may not take it.');
  return [verdict,
    el('p', { id: 'decided-by' }, 'Decided by rule ', code(decision.rule), ' at ', code(rule.location || '?'),
      decision.path_step ? [', path step ', code(decision.path_step)] : null, '.'),
    el('ul', { class: 'rationale' }, decision.rationale.map((r) => el('li', {}, r))),
    roles,
    explanation(decision)];
}

// The values a step read, defaulted ones marked.
function readsView(step) {
  const reads = Object.entries(step.reads || {});
  if (!reads.length) return null;
  const defaulted = step.defaulted || [];
  return el('ul', { class: 'reads' }, reads.map(([path, value]) =>
    el('li', {}, code(path), ' = ', code(shown(value)), defaulted.includes(path) ? el('span', { class: 'defaulted' }, ' (default)') : null)));
}

function conditionsView(step) {
  const named = Object.entries(step.conditions || {});
  return named.length ? el('p', { class: 'named' }, 'Named conditions: ', named.map(([n, held], i) => [i ? ', ' : '', code(n), held ? ' held' : ' did not hold'])) : null;
}

function excludedView(t) {
  const by = Object.entries(t.excluded.by).map(([field, n], i) =>
    [i ? '; ' : '', `${n.toLocaleString('en')} on `, code(field), ' do not apply to ', code(JSON.stringify(t.reads[field] ?? null))]);
  return el('li', { class: 'excluded' }, `${t.excluded.rules.toLocaleString('en')} rules left out by the index (`,
    code(t.id), ' to ', code(t.excluded.last), '): ', by);
}

function explanation(decision) {
  const matched = decision.trace.find((t) => t.kind === 'rule' && t.result === 'matched');
  const rule = catalog.rules.find((r) => r.id === decision.rule) || {};
  const path = catalog.paths.find((p) => p.id === decision.path);
  // An indexed bundle stands for runs of rules it left out with one
  // `excluded` entry each; counted as the rules they stand for.
  const before = decision.trace.filter((t) => (t.kind === 'rule' && t.result !== 'matched') || t.kind === 'excluded');
  const tried = before.reduce((n, t) => n + (t.kind === 'excluded' ? t.excluded.rules : 1), 0);
  return el('section', { class: 'explanation', 'aria-labelledby': 'why' },
    el('h3', { id: 'why' }, 'Why'),
    el('p', {}, 'Rule ', code(decision.rule), ' matched: ', code(rule.when || 'true'), '.'),
    matched ? [readsView(matched), conditionsView(matched)] : null,
    path ? el('div', {}, el('h4', {}, 'Escalation path ', code(path.id)),
      el('ol', {}, decision.trace.filter((t) => t.kind !== 'rule' && t.kind !== 'excluded').map((t) => {
        const step = path.steps.find((s) => s.id === t.id);
        const what = t.kind === 'fallback' ? 'the fallback applied'
          : t.result === 'matched' ? `chose ${step ? step.vehicle : ''}` : 'not eligible';
        return el('li', {}, code(t.id), ' ', what, step ? [': ', code(step.when), ' at ', code(step.location)] : null, readsView(t), conditionsView(t));
      }))) : null,
    el('h4', {}, `Rules before it (${tried})`),
    el('ol', { class: 'before' }, before.map((t) => {
      if (t.kind === 'excluded') return excludedView(t);
      const r = catalog.rules.find((x) => x.id === t.id) || {};
      return el('li', {}, code(t.id), ' at ', code(r.location || '?'), ' did not match: ',
        code(t.decided_by || r.when || ''), t.decided_by ? ' was false' : '', readsView(t), conditionsView(t));
    })));
}

// ---- the policy ---------------------------------------------------------

function table(caption, headings, rows, attrs) {
  return el('table', attrs || {}, el('caption', {}, caption),
    el('thead', {}, el('tr', {}, headings.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows));
}

async function policyPage() {
  const rules = table('Rules, in the order they are tried: the first that matches decides',
    ['#', 'Rule', 'Condition', 'Outcome', 'Action', 'Path', 'Rationale', 'Where'],
    catalog.rules.map((r, i) => el('tr', {}, el('td', {}, i + 1), el('th', { scope: 'row' }, code(r.id)), el('td', {}, code(r.when)),
      el('td', {}, code(r.outcome)), el('td', {}, code(r.action)), el('td', {}, r.path ? code(r.path) : '—'), el('td', {}, r.rationale), el('td', {}, code(r.location)))),
    { id: 'rules' });
  const paths = catalog.paths.map((p) => table(`Path ${p.id}: steps in order, the first eligible chooses the vehicle`,
    ['Step', 'Condition', 'Vehicle', 'Rationale', 'Where'],
    [...p.steps.map((s) => el('tr', {}, el('th', { scope: 'row' }, code(s.id)), el('td', {}, code(s.when)), el('td', {}, code(s.vehicle)), el('td', {}, s.rationale), el('td', {}, code(s.location)))),
      p.fallback ? el('tr', {}, el('th', { scope: 'row' }, 'fallback'), el('td', {}, 'no step eligible'), el('td', {}, code(p.fallback.outcome), ', action ', code(p.fallback.action)), el('td', {}, p.fallback.rationale), el('td', {}, '')) : null]));
  put(main, el('h1', {}, 'The policy'),
    el('p', {}, catalog.description || '', ' ', code(catalog.policy.digest)),
    el('h2', {}, 'Rules and path steps'), rules, paths,
    el('h2', {}, 'Decision table'), el('div', { id: 'table', 'aria-busy': 'true' }, 'Analysing…'),
    el('h2', {}, 'Test coverage'), el('div', { id: 'coverage', 'aria-busy': 'true' }, 'Running the suites…'));
  const [analysis, suites] = await Promise.all([api('/v1/workbench/table'), api('/v1/workbench/suites')]);
  put(document.getElementById('table'), decisionTable(analysis));
  document.getElementById('table').removeAttribute('aria-busy');
  put(document.getElementById('coverage'), coverageView(suites));
  document.getElementById('coverage').removeAttribute('aria-busy');
}

function decisionTable(analysis) {
  const note = analysis.proven ? null : el('p', { role: 'note' }, 'Not proven: ', analysis.not_proven.join('; '));
  return el('div', {}, note, table('Which rule and step decide each class of tickets (share of the valid tickets); each witness opens in "Try a ticket"',
    ['Rule', 'Step', 'Decision', 'Classes of tickets', 'Share'],
    analysis.rows.map((row) => el('tr', {}, el('th', { scope: 'row' }, code(row.rule), el('br'), el('span', { class: 'where' }, row.location)),
      el('td', {}, row.path_step ? code(row.path_step) : '—'),
      el('td', {}, code(row.outcome), row.vehicle ? [' via ', code(row.vehicle)] : null, ', action ', code(row.action)),
      el('td', {}, el('ul', {}, row.classes.map((c) => el('li', {}, c.class, ' (', percent(c.share), ') ', tryLink(c.witness, 'try it'))),
        row.more ? el('li', {}, `… and ${row.more} more`) : null)),
      el('td', { class: 'number' }, percent(row.share)))),
    { id: 'decision-table' }));
}

function coverageView(suites) {
  if (suites.error) return [el('pre', { role: 'alert' }, suites.error)];
  const report = suites.report;
  const c = report.coverage;
  return [el('p', { id: 'suite-summary' }, `${report.passed} passed, ${report.failed} failed; ${c.covered} of ${c.total} rules, path steps and fallbacks exercised (${c.percent.toFixed(1)}%).`),
    report.failed ? el('ul', { class: 'failures' }, report.cases.filter((k) => !k.passed).map((k) =>
      el('li', {}, code(k.name), ' at ', code(k.location), ': ', k.mismatches.map((m) => `${m.what} expected ${m.expected}, got ${m.actual}`).join('; ')))) : null,
    table('Cases exercising each rule, path step and fallback', ['Kind', 'Id', 'Cases'],
      c.items.map((item) => el('tr', { class: item.cases ? '' : 'uncovered' }, el('td', {}, item.kind), el('th', { scope: 'row' }, code(item.id)),
        el('td', { class: 'number' }, item.cases || 'none'))), { id: 'coverage-table' })];
}

// ---- review a change ------------------------------------------------------

async function reviewPage() {
  const chosen = new URLSearchParams(location.search).get('base') || (features.base ? 'dir' : 'start');
  const select = el('select', { id: 'base', name: 'base' },
    el('option', { value: 'start', selected: chosen === 'start' }, 'the bundle loaded when the service started'),
    features.base ? el('option', { value: 'dir', selected: chosen === 'dir' }, `the directory ${features.base}`) : null);
  const form = el('form', { id: 'review-form', method: 'get', action: '/review' },
    el('label', { for: 'base' }, 'Compare the serving bundle with '), select, ' ',
    el('button', { type: 'submit' }, 'Show the plan'));
  put(main, el('h1', {}, 'Review a change'), form,
    el('div', { id: 'plan', 'aria-live': 'polite', 'aria-busy': 'true' }, 'Computing the plan…'),
    el('h2', {}, 'The suites, with the serving bundle'), el('div', { id: 'coverage' }, 'Running the suites…'));
  const [answer, suites] = await Promise.all([api('/v1/workbench/plan?base=' + encodeURIComponent(chosen)), api('/v1/workbench/suites')]);
  const plan = document.getElementById('plan');
  plan.removeAttribute('aria-busy');
  put(plan, ...(answer.error ? [el('pre', { role: 'alert' }, answer.error)] : planView(answer.plan)));
  put(document.getElementById('coverage'), coverageView(suites));
}

function sideView(side) {
  if (side.rejected) return ['rejected: ', side.rejected];
  return [code(side.outcome || 'no decision'), side.vehicle ? [' via ', code(side.vehicle)] : null,
    el('br'), el('span', { class: 'where' }, 'rule ', side.rule || '', side.path_step ? `, step ${side.path_step}` : '', side.action ? `, action ${side.action}` : '')];
}

function planView(plan) {
  const out = [el('p', { id: 'plan-summary' }, `From ${plan.base.version} to ${plan.head.version}: `,
    `${plan.changes.length} class${plan.changes.length === 1 ? '' : 'es'} of tickets change${plan.changes.length === 1 ? 's' : ''}.`)];
  if (plan.version_unchanged) out.push(el('p', { role: 'alert' }, `Decisions change but the version did not: both are ${plan.head.version}.`));
  if (!plan.proven) out.push(el('p', { role: 'note' }, 'Not proven: ', plan.not_proven.join('; ')));
  if (plan.tickets) {
    out.push(el('p', { id: 'ticket-counts' }, `Of ${plan.tickets.given} tickets from ${features.tickets}, ${plan.tickets.changed} decide differently` +
      (plan.tickets.unplaced ? ` (${plan.tickets.unplaced} in no class)` : '') + '.'));
  }
  if (plan.changes.length) {
    out.push(table('The classes of tickets whose decision changes; each witness opens in "Try a ticket"',
      ['Class of tickets', 'Before', 'After', 'Share', 'Tickets', 'Witness'],
      plan.changes.map((c) => el('tr', {}, el('th', { scope: 'row' }, c.class), el('td', {}, sideView(c.before)), el('td', {}, sideView(c.after)),
        el('td', { class: 'number' }, percent(c.share)), el('td', { class: 'number' }, c.tickets === null || c.tickets === undefined ? '—' : c.tickets),
        el('td', {}, tryLink(c.witness, 'try the witness')))), { id: 'changes' }));
  }
  return out;
}

// ---- decisions ----------------------------------------------------------

async function decisionsPage() {
  put(main, el('h1', {}, 'Decisions'));
  if (!features.decision_log) {
    main.append(el('p', {}, 'This service keeps no decision log: start it with --decision-log to browse decisions here.'));
    return;
  }
  const query = new URLSearchParams(location.search);
  if (query.get('record')) return recordPage(query.get('record'));
  const input = (name, label, options) => el('div', { class: 'field' }, el('label', { for: 's-' + name }, label),
    options ? el('select', { id: 's-' + name, name }, el('option', { value: '' }, '(any)'), options.map((o) => el('option', { value: o.id, selected: query.get(name) === o.id }, o.id)))
      : el('input', { id: 's-' + name, name, value: query.get(name) || '', autocomplete: 'off', placeholder: name === 'from' || name === 'to' ? 'UTC, e.g. 2026-01-31T09:00' : null }));
  main.append(el('form', { id: 'search', method: 'get', action: '/decisions', class: 'search' },
    input('ticket_id', 'Ticket id'), input('rule', 'Rule', catalog.rules), input('outcome', 'Outcome', catalog.outcomes),
    input('vehicle', 'Vehicle', catalog.vehicles), input('from', 'From (UTC)'), input('to', 'To (UTC)'),
    el('button', { type: 'submit' }, 'Search')),
  el('div', { id: 'found', 'aria-live': 'polite' }, 'Searching…'));
  const params = new URLSearchParams([...query].filter(([, v]) => v !== ''));
  const answer = await api('/v1/workbench/decisions?' + params);
  const found = document.getElementById('found');
  if (answer.error) return put(found, el('p', { role: 'alert' }, answer.error));
  put(found, el('p', { id: 'found-summary' }, `${answer.found} of ${answer.total} records match` + (answer.found > answer.records.length ? `; the newest ${answer.records.length} are listed.` : '.')),
    answer.problems.length ? el('p', { role: 'alert' }, answer.problems.join('; ')) : null,
    table('Matching records, newest first', ['#', 'Written (UTC)', 'Ticket', 'Decision', 'Rule', 'Version'],
      answer.records.map((r) => el('tr', {}, el('td', {}, el('a', { href: '/decisions?record=' + r.seq }, `record ${r.writer ? r.writer + ':' : ''}${r.seq}`)), el('td', {}, r.at),
        el('th', { scope: 'row' }, r.ticket_id || '—'), el('td', {}, r.verdict || '—'), el('td', {}, r.rule ? code(r.rule) : '—'), el('td', {}, r.version))), { id: 'records' }));
}

async function recordPage(seq) {
  const answer = await api('/v1/workbench/decisions/' + encodeURIComponent(seq));
  main.append(el('p', {}, el('a', { href: '/decisions' }, 'Back to the search')));
  if (answer.error) return main.append(el('p', { role: 'alert' }, answer.error));
  const { record, chain, replay } = answer;
  const result = record.decision || record.rejection;
  main.append(el('h2', {}, `Record ${record.seq}: ticket ${(result && result.ticket_id) || '—'}`),
    el('dl', { id: 'record' },
      el('dt', {}, 'Written'), el('dd', {}, record.at, ' (', code(record.id), ')'),
      el('dt', {}, 'Decision'), el('dd', { id: 'record-decision' }, record.decision
        ? [code(record.decision.outcome), record.decision.vehicle ? [' via ', code(record.decision.vehicle)] : null, ' by rule ', code(record.decision.rule), ', action ', code(record.decision.action)]
        : ['rejected: ', record.rejection ? record.rejection.error.kind : 'nothing recorded']),
      el('dt', {}, 'Policy'), el('dd', {}, `${record.policy.name} ${record.policy.version} `, code(record.policy.digest)),
      el('dt', {}, 'Chain'), el('dd', { id: 'chain' }, chain.verified_to_here ? `The hash chain verifies up to this record (${chain.records_verified} records intact).`
        : `The hash chain does not verify up to this record: ${chain.broken || 'it is broken before it'}.`),
      el('dt', {}, 'Replay'), el('dd', { id: 'replay' }, replay.error ? replay.error : replay.identical
        ? 'Decided again with its archived bundle: the same decision.'
        : ['Decided again with its archived bundle: a different decision, ', code(replay.verdict.label), ' by rule ', code(replay.verdict.rule), '.'])),
    el('h3', {}, 'The ticket, as logged', record.masked.length ? ` (masked: ${record.masked.join(', ')})` : ''),
    el('pre', { id: 'ticket', tabindex: '0' }, JSON.stringify(record.ticket, null, 2)));
}

start();
