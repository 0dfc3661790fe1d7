// The participant's cabinet: hash routes, one screen at a time.
import * as API from './api.js';
import * as outbox from './outbox.js';
import { h, rub, points, pts, dateTime, date, localTime, receiptStatus, terminalReceipt, taskStatus, status, roles, errorBox } from './ui.js';

const view = document.getElementById('view');
const title = document.getElementById('title');
const tabs = document.getElementById('tabs');
let cleanup = [];
let me = null;

const routes = [
  [/^login$/, loginScreen, false],
  [/^scan$/, scanScreen, true, 'scan'],
  [/^receipts$/, receiptsScreen, true, 'receipts'],
  [/^receipts\/([0-9a-f-]{36})$/, receiptScreen, true, 'receipts'],
  [/^points$/, pointsScreen, true, 'points'],
  [/^tasks$/, tasksScreen, true, 'tasks'],
  [/^report\/(\d+)$/, reportScreen, true, 'tasks'],
  [/^more$/, moreScreen, true, 'more'],
  [/^inbox$/, inboxScreen, true, 'more'],
  [/^program$/, programScreen, true, 'more'],
  [/^profile$/, profileScreen, true, 'more'],
  [/^password$/, passwordScreen, true, 'more'],
  [/^rewards$/, rewardsScreen, true, 'more'],
  [/^tax$/, taxScreen, true, 'more'],
];

function go(path) { location.hash = '#/' + path; }

async function route() {
  cleanup.forEach((f) => f());
  cleanup = [];
  const path = location.hash.replace(/^#\/?/, '') || 'scan';
  let hit = routes.find(([re]) => re.test(path));
  if (!hit) { go('scan'); return; }
  if (hit[2] && !API.signedIn()) { go('login'); return; }
  if (!hit[2] && API.signedIn()) { go('scan'); return; }
  // A password issued by the organiser (registry invitation) is changed
  // before anything else.
  if (hit[2] && !me) await loadMe().catch(() => {});
  const forced = !!(me && me.must_change_password);
  if (forced && path !== 'password') { go('password'); return; }
  tabs.hidden = !hit[2] || forced;
  for (const a of tabs.querySelectorAll('a')) {
    if (a.dataset.tab === hit[3]) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const args = hit[0].exec(path).slice(1);
  view.replaceChildren();
  try {
    await hit[1](...args);
  } catch (e) {
    if (e.status === 401 && !API.signedIn()) { go('login'); return; }
    view.replaceChildren(errorBox(e), h('button', { class: 'secondary block', onclick: route }, 'Повторить'));
  }
  view.focus({ preventScroll: true });
}

function screen(name, ...kids) {
  title.textContent = name;
  document.title = name + ' — Loyalty Jam';
  view.replaceChildren(...kids);
}

function poll(fn, ms) {
  let t = setInterval(() => { if (!document.hidden) fn(); }, ms);
  cleanup.push(() => clearInterval(t));
  return () => clearInterval(t);
}

async function loadMe() {
  me = await API.get('/v1/me');
  const b = document.getElementById('unread');
  b.hidden = !me.unread_notifications;
  b.textContent = me.unread_notifications || '';
  return me;
}

// ---- sign-in ----
function loginScreen() {
  const msg = h('div', { 'aria-live': 'assertive' });
  const remember = () => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'remember', checked: true }), 'Запомнить это устройство');

  const done = async () => { await loadMe().catch(() => {}); go(me && me.must_change_password ? 'password' : 'scan'); };
  const chooser = (e, retry) => {
    msg.replaceChildren(h('p', {}, e.message), ...e.body.participants.map((p) =>
      h('button', { type: 'button', class: 'secondary block', onclick: () => retry(p.participant_id) },
        `${p.client_name} — ${roles[p.role] || p.role}`)));
  };

  const pwForm = h('form', { id: 'login-form', class: 'card', novalidate: true },
    h('h2', {}, 'Вход по паролю'),
    h('label', { for: 'login' }, 'Логин или телефон'),
    h('input', { id: 'login', name: 'login', autocomplete: 'username', required: true, autocapitalize: 'none' }),
    h('label', { for: 'password' }, 'Пароль'),
    h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    remember(),
    h('button', { id: 'signin', type: 'submit', class: 'block' }, 'Войти'));
  pwForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(pwForm);
    const attempt = async (pid) => {
      msg.replaceChildren(h('p', { class: 'muted' }, 'Входим…'));
      try {
        await API.login({ login: f.get('login').trim(), password: f.get('password'), participant_id: pid }, !!f.get('remember'));
        await done();
      } catch (e) {
        if (e.code === 'participant_choice_required') chooser(e, attempt);
        else msg.replaceChildren(errorBox(e));
      }
    };
    attempt(undefined);
  });

  const smsForm = h('form', { id: 'sms-form', class: 'card', novalidate: true },
    h('h2', {}, 'Вход по SMS'),
    h('label', { for: 'phone' }, 'Телефон'),
    h('input', { id: 'phone', name: 'phone', type: 'tel', autocomplete: 'tel', inputmode: 'tel', placeholder: '+7 999 123-45-67' }),
    h('div', { id: 'code-box', hidden: true },
      h('label', { for: 'code' }, 'Код из SMS'),
      h('input', { id: 'code', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, pattern: '[0-9]{6}' })),
    remember(),
    h('button', { id: 'sms-send', type: 'submit', class: 'block secondary' }, 'Получить код'));
  smsForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(smsForm);
    const box = smsForm.querySelector('#code-box');
    const btn = smsForm.querySelector('#sms-send');
    if (box.hidden) {
      try {
        const r = await API.otpRequest(f.get('phone'));
        box.hidden = false;
        btn.textContent = 'Войти';
        msg.replaceChildren(h('p', { class: 'ok' }, `Код отправлен. Повторно можно запросить через ${r.resend_after} с.`));
        smsForm.querySelector('#code').focus();
      } catch (e) { msg.replaceChildren(errorBox(e)); }
      return;
    }
    const attempt = async (pid) => {
      try {
        await API.otpVerify({ phone: f.get('phone'), code: f.get('code').trim(), participant_id: pid }, !!f.get('remember'));
        await done();
      } catch (e) {
        if (e.code === 'participant_choice_required') chooser(e, attempt);
        else msg.replaceChildren(errorBox(e));
      }
    };
    attempt(undefined);
  });
  screen('Вход', h('p', { class: 'muted' }, 'Логин и пароль выдаёт организатор программы.'), msg, pwForm, smsForm);
  
}

// ---- scan ----
function queueLabel(r) {
  if (r.state === 'sending') return 'Отправляется…';
  if (r.state === 'error') return 'Не принят: ' + r.error;
  return navigator.onLine ? (r.error ? 'Ждёт повтора: ' + r.error : 'Ждёт отправки') : 'Ждёт связи — отправится сам';
}

async function scanScreen() {
  const scanMod = import('./scan.js');
  const result = h('div', { id: 'scan-result', 'aria-live': 'polite' });
  const queue = h('ul', { id: 'queue', class: 'list queue' });
  const queueCard = h('section', { class: 'card', 'aria-labelledby': 'q-h' }, h('h2', { id: 'q-h' }, 'Очередь отправки'), queue);
  const file = h('input', { id: 'scan-file', class: 'file', type: 'file', accept: 'image/*', capture: 'environment' });
  const video = h('video', { 'aria-label': 'Камера' });
  const finder = h('div', { class: 'viewfinder', hidden: true }, video);
  let stopCam = null;

  const renderQueue = (items) => {
    queueCard.hidden = !items.length;
    queue.replaceChildren(...items.map((r) => h('li', { 'data-state': r.state },
      h('span', {}, h('b', {}, r.label || 'Чек'), h('br'), h('span', { class: 'small muted' }, queueLabel(r))),
      r.state === 'error' ? h('span', { class: 'acts' },
        h('button', { type: 'button', class: 'small secondary', onclick: () => outbox.retry(r.id) }, 'Повторить'),
        h('button', { type: 'button', class: 'small danger', onclick: () => outbox.remove(r.id) }, 'Удалить')) : null)));
  };
  cleanup.push(outbox.subscribe((items, ev) => {
    renderQueue(items);
    if (ev && ev.type === 'sent' && ev.receipt) {
      const r = ev.receipt;
      result.replaceChildren(h('div', { class: 'ok', id: 'sent' }, h('p', {}, r.message || 'Чек принят.'),
        h('a', { class: 'btn secondary', href: '#/receipts/' + r.id }, 'Открыть чек')));
    }
  }));
  const onNet = () => outbox.list().then(renderQueue);
  addEventListener('online', onNet); addEventListener('offline', onNet);
  cleanup.push(() => { removeEventListener('online', onNet); removeEventListener('offline', onNet); });

  const submitQR = async (text) => {
    await outbox.add({ qr: text }, 'QR-код чека');
    result.replaceChildren(h('p', { class: 'ok' }, navigator.onLine ? 'QR-код прочитан, отправляем…' : 'QR-код прочитан. Нет связи: чек в очереди и отправится сам.'));
  };
  file.addEventListener('change', async () => {
    const f = file.files[0];
    file.value = '';
    if (!f) return;
    result.replaceChildren(h('p', { class: 'muted' }, 'Читаем QR-код…'));
    try {
      const scan = await scanMod;
      const text = await scan.decodeFile(f).catch(() => null);
      if (text) { await submitQR(text); return; }
      const photo = await scan.downscale(f);
      await outbox.add({ photo, name: 'receipt.jpg' }, 'Фото чека');
      result.replaceChildren(h('p', { class: 'ok' }, 'QR-код на телефоне не прочитался — отправляем фото, его прочитает сервер.'));
    } catch (e) { result.replaceChildren(errorBox(e)); }
  });

  const camBtn = h('button', { type: 'button', class: 'secondary block', id: 'camera' }, 'Навести камеру');
  camBtn.addEventListener('click', async () => {
    if (stopCam) { stopCam(); stopCam = null; finder.hidden = true; camBtn.textContent = 'Навести камеру'; return; }
    try {
      const scan = await scanMod;
      finder.hidden = false;
      camBtn.textContent = 'Закрыть камеру';
      stopCam = await scan.startViewfinder(video, (text) => { finder.hidden = true; stopCam = null; camBtn.textContent = 'Навести камеру'; submitQR(text); });
    } catch (e) {
      finder.hidden = true;
      camBtn.textContent = 'Навести камеру';
      result.replaceChildren(errorBox({ message: 'Камера недоступна: сфотографируйте чек кнопкой выше.' }));
    }
  });
  cleanup.push(() => stopCam && stopCam());

  const manual = h('form', { id: 'manual', novalidate: true },
    h('p', { class: 'hint' }, 'Данные напечатаны внизу чека: ФН, ФД, ФП, дата и сумма.'),
    h('label', { for: 'm-t' }, 'Дата и время покупки'), h('input', { id: 'm-t', name: 't', type: 'datetime-local', required: true }),
    h('label', { for: 'm-s' }, 'Сумма, ₽'), h('input', { id: 'm-s', name: 's', inputmode: 'decimal', required: true, placeholder: '1499,90' }),
    h('label', { for: 'm-fn' }, 'ФН (16 цифр)'), h('input', { id: 'm-fn', name: 'fn', inputmode: 'numeric', required: true, maxlength: 16 }),
    h('label', { for: 'm-i' }, 'ФД (номер документа)'), h('input', { id: 'm-i', name: 'i', inputmode: 'numeric', required: true }),
    h('label', { for: 'm-fp' }, 'ФП (фискальный признак)'), h('input', { id: 'm-fp', name: 'fp', inputmode: 'numeric', required: true }),
    h('label', { for: 'm-n' }, 'Вид операции'),
    h('select', { id: 'm-n', name: 'n' }, h('option', { value: '1' }, 'Приход'), h('option', { value: '2' }, 'Возврат прихода')),
    h('button', { type: 'submit', class: 'block' }, 'Отправить'));
  manual.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = Object.fromEntries(new FormData(manual));
    f.s = String(f.s).replace(',', '.').replace(/\s/g, '');
    await outbox.add({ fields: f }, 'Чек, введённый вручную');
    manual.reset();
    result.replaceChildren(h('p', { class: 'ok' }, 'Отправляем…'));
  });

  screen('Скан чека',
    h('section', { class: 'card' },
      h('h2', {}, 'Загрузить чек'),
      h('p', { class: 'muted' }, 'Сфотографируйте QR-код чека — мы прочитаем его и начислим баллы за товары программы.'),
      file,
      h('label', { for: 'scan-file', class: 'btn block', id: 'scan-label' }, 'Сфотографировать QR-код'),
      API.signedIn() && (await scanMod).cameraAvailable() ? camBtn : null,
      finder,
      h('details', {}, h('summary', { class: 'btn secondary block' }, 'Ввести данные чека вручную'), manual)),
    result, queueCard);
  renderQueue(await outbox.list());
  outbox.flush();
}

// ---- receipts ----
function receiptRow(r) {
  return h('li', {}, h('a', { class: 'item receipt', href: '#/receipts/' + r.id, 'data-status': r.status },
    h('div', { class: 'row' }, h('span', {}, localTime(r.purchased_at) !== '—' ? localTime(r.purchased_at) : dateTime(r.created_at)),
      h('span', { class: 'pts' + (r.points_kopecks ? '' : ' zero') }, r.points_kopecks ? '+' + points(r.points_kopecks) : '0')),
    h('div', { class: 'row' }, status(receiptStatus, r.status), h('span', { class: 'muted' }, rub(r.sum_kopecks)))));
}

async function receiptsScreen() {
  const list = h('ul', { id: 'receipts', class: 'list' });
  const more = h('button', { type: 'button', class: 'secondary block', hidden: true }, 'Показать ещё');
  let cursor = null;
  let first = [];
  const page = async (c) => {
    const d = await API.get('/v1/receipts?limit=20' + (c ? '&cursor=' + encodeURIComponent(c) : ''));
    cursor = d.next_cursor;
    more.hidden = !cursor;
    return d.items;
  };
  more.addEventListener('click', async () => list.append(...(await page(cursor)).map(receiptRow)));
  first = await page(null);
  list.append(...first.map(receiptRow));
  screen('Мои чеки', h('section', { class: 'card' }, first.length ? list : h('p', { class: 'muted' }, 'Чеков пока нет. Загрузите первый на вкладке «Скан».'), more));
  // Live: while a receipt of the first page is still in work, refresh it.
  const live = poll(async () => {
    if (!first.some((r) => !terminalReceipt.has(r.status))) { live(); return; }
    const d = await API.get('/v1/receipts?limit=20').catch(() => null);
    if (!d) return;
    first = d.items;
    const rest = [...list.children].slice(first.length);
    list.replaceChildren(...first.map(receiptRow), ...rest);
  }, 4000);
}

function lineRow(it) {
  const qty = it.quantity_milli % 1000 === 0 ? String(it.quantity_milli / 1000) : (it.quantity_milli / 1000).toLocaleString('ru-RU');
  const why = it.points_explanation || (it.points_reason ? '' : 'Баллы ещё считаются.');
  return h('li', { 'data-line': it.line_no },
    h('div', { class: 'row' }, h('span', {}, it.name), h('span', { class: 'pts' + (it.points_kopecks ? '' : ' zero') },
      it.points_kopecks ? (it.points_kopecks > 0 ? '+' : '') + pts(it.points_kopecks) : '0')),
    h('div', { class: 'small muted' }, `${qty} × ${rub(it.price_kopecks)} = ${rub(it.sum_kopecks)}`),
    why ? h('div', { class: 'why' }, why) : null);
}

async function receiptScreen(id) {
  const render = (r) => {
    screen('Чек',
      h('section', { class: 'card', id: 'receipt', 'data-status': r.status },
        h('div', { class: 'row' }, status(receiptStatus, r.status), h('span', { class: 'big' }, points(r.points_kopecks))),
        h('p', { class: 'muted' }, r.status_message),
        h('p', {}, 'Покупка: ', localTime(r.purchased_at), ' · ', rub(r.sum_kopecks)),
        r.retail_address ? h('p', { class: 'small muted' }, r.retail_address) : null),
      h('section', { class: 'card' }, h('h2', {}, 'Товары и баллы'),
        r.items.length ? h('ul', { class: 'lines', id: 'lines' }, r.items.map(lineRow)) : h('p', { class: 'muted' }, 'Строки чека появятся после проверки в ФНС.')),
      h('section', { class: 'card' }, h('h2', {}, 'История'),
        h('ul', { class: 'list' }, r.events.map((e) => h('li', { class: 'item' }, h('div', { class: 'small muted' }, dateTime(e.at)),
          status(receiptStatus, e.to_status), ' ', e.message)))),
      h('a', { class: 'btn secondary block', href: '#/receipts' }, 'Все чеки'));
  };
  let r = await API.get('/v1/receipts/' + id);
  render(r);
  if (!terminalReceipt.has(r.status)) {
    const stop = poll(async () => {
      r = await API.get('/v1/receipts/' + id).catch(() => r);
      render(r);
      if (terminalReceipt.has(r.status)) stop();
    }, 2500);
  }
}

// ---- points ----
function ledgerRow(l) {
  const parts = [];
  if (l.available_kopecks) parts.push((l.available_kopecks > 0 ? '+' : '') + pts(l.available_kopecks));
  if (l.pending_kopecks) parts.push(`${l.pending_kopecks > 0 ? '+' : ''}${pts(l.pending_kopecks)} в ожидании`);
  return h('li', { class: 'item' },
    h('div', { class: 'row' }, h('span', { class: 'small muted' }, dateTime(l.at)), h('span', { class: 'pts' }, parts.join(' · ') || '0')),
    h('div', {}, l.reason), l.receipt_id ? h('a', { href: '#/receipts/' + l.receipt_id, class: 'small' }, 'Чек') : null);
}

// Plan values are in the plan's measure: kopecks, thousandths of a unit or receipts.
const unitsFmt = new Intl.NumberFormat('ru-RU', { maximumFractionDigits: 3 });
function measured(m, v) {
  if (m === 'roubles') return rub(v);
  if (m === 'units') return unitsFmt.format(v / 1000) + ' шт.';
  return v + ' чек.';
}
function planCard(p) {
  const pct = p.percent_done.replace('.', ',') + ' %';
  const bar = Math.max(0, Math.min(100, p.attainment_bp / 100));
  const n = p.next;
  return h('section', { class: 'card plan', 'data-program': p.program_id, 'data-period': p.period },
    h('h3', {}, p.program_name + ' · ' + p.period),
    h('p', {}, 'План: ', h('b', { class: 'plan-target' }, measured(p.measure, p.target))),
    h('p', {}, 'Факт: ', h('b', { class: 'plan-actual' }, measured(p.measure, p.actual))),
    h('p', {}, 'Выполнено: ', h('b', { class: 'plan-percent' }, pct)),
    h('progress', { class: 'plan-bar', max: 100, value: bar, 'aria-label': 'Выполнение плана ' + pct }),
    h('p', { class: 'plan-tier' }, p.tier >= 0
      ? `Достигнут уровень «${p.tier_name || p.tier + 1}»: бонус сейчас ${rub(p.payout_kopecks)}`
      : 'Порог бонуса ещё не достигнут'),
    n ? h('p', { class: 'plan-next' }, `Следующий порог «${n.name || n.tier + 1}» — ${(n.threshold_bp / 100).toLocaleString('ru-RU')} % плана: ещё `,
      h('b', { class: 'plan-remaining' }, measured(p.measure, n.remaining)), ', бонус ', h('b', { class: 'plan-next-payout' }, rub(n.payout_kopecks)))
      : h('p', { class: 'plan-next muted' }, 'Все пороги пройдены'),
    h('p', { class: 'hint' }, 'Бонус начисляется после закрытия периода.'));
}

async function pointsScreen() {
  const [b, l, pl] = await Promise.all([API.get('/v1/balance'), API.get('/v1/ledger?limit=20'), API.optional('/v1/plans/current').catch(() => null)]);
  const plans = pl && pl.plans && pl.plans.length ? h('div', { id: 'plans' }, h('h2', {}, 'Мой план'), pl.plans.map(planCard)) : null;
  const list = h('ul', { class: 'list', id: 'ledger' }, l.items.map(ledgerRow));
  let cursor = l.next_cursor;
  const more = h('button', { type: 'button', class: 'secondary block', hidden: !cursor }, 'Показать ещё');
  more.addEventListener('click', async () => {
    const d = await API.get('/v1/ledger?limit=20&cursor=' + encodeURIComponent(cursor));
    cursor = d.next_cursor; more.hidden = !cursor;
    list.append(...d.items.map(ledgerRow));
  });
  screen('Баллы',
    h('section', { class: 'card', id: 'balance' },
      h('p', { class: 'muted' }, 'Доступно'), h('p', { class: 'big', id: 'available' }, points(b.available_kopecks)),
      h('p', {}, 'В ожидании: ', h('b', { id: 'pending' }, points(b.pending_kopecks))),
      b.pending_kopecks ? h('p', { class: 'hint', id: 'release' }, b.pending_release_on
        ? `Баллы в ожидании станут доступны ${date(b.pending_release_on)}, после закрытия отчётного периода.`
        : 'Баллы в ожидании станут доступны после проверки или закрытия отчётного периода программы.') : null,
      h('a', { class: 'btn secondary block', href: '#/rewards' }, 'Потратить баллы')),
    plans,
    h('section', { class: 'card' }, h('h2', {}, 'История'), l.items.length ? list : h('p', { class: 'muted' }, 'Операций пока нет.'), more));
}

// ---- tasks ----
async function tasksScreen() {
  const [av, subs] = await Promise.all([API.get('/v1/tasks'), API.get('/v1/tasks/submissions?limit=20')]);
  const msg = h('div', { 'aria-live': 'polite' });
  const take = async (t) => {
    try {
      const s = await API.post(`/v1/tasks/${t.task.id}/take`, {});
      go('report/' + s.id);
    } catch (e) { msg.replaceChildren(errorBox(e)); }
  };
  const avRow = (t) => h('li', { class: 'item task', 'data-task': t.task.id },
    h('div', { class: 'row' }, h('b', {}, t.task.title), h('span', { class: 'pts' }, '+' + points(t.task.reward_kopecks))),
    h('p', { class: 'small muted' }, `До ${dateTime(t.due_at)} · осталось попыток: ${t.remaining}`),
    h('p', { class: 'small' }, t.task.instructions),
    t.open_submission_id
      ? h('a', { class: 'btn block', href: '#/report/' + t.open_submission_id }, 'Отправить отчёт')
      : h('button', { type: 'button', class: 'block take', onclick: () => take(t) }, 'Взять задание'));
  const subRow = (s) => h('li', { class: 'item submission', 'data-status': s.status },
    h('div', { class: 'row' }, h('b', {}, s.task_title), status(taskStatus, s.status)),
    h('p', { class: 'small muted' }, 'Взято ', dateTime(s.taken_at), s.points_kopecks ? ` · начислено ${points(s.points_kopecks)}` : ''),
    s.reason_message || s.review_comment ? h('p', { class: 'small' }, [s.reason_message, s.review_comment].filter(Boolean).join(' — ')) : null,
    s.status === 'rework_requested' || s.status === 'taken' ? h('a', { class: 'btn secondary block', href: '#/report/' + s.id }, 'Отправить отчёт') : null);
  screen('Задания', msg,
    h('section', { class: 'card' }, h('h2', {}, 'Доступные'),
      av.items.length ? h('ul', { class: 'list', id: 'tasks' }, av.items.map(avRow)) : h('p', { class: 'muted' }, 'Сейчас заданий нет.')),
    h('section', { class: 'card' }, h('h2', {}, 'Мои отчёты'),
      h('p', { class: 'muted' }, 'Начислено за задания: ', points(subs.total_kopecks)),
      subs.items.length ? h('ul', { class: 'list', id: 'submissions' }, subs.items.map(subRow)) : h('p', { class: 'muted' }, 'Отчётов пока нет.')));
}

async function reportScreen(subId) {
  const sub = await API.get('/v1/tasks/submissions/' + subId);
  const task = await API.get('/v1/tasks/' + sub.task_id);
  const ev = task.evidence;
  const msg = h('div', { 'aria-live': 'assertive' });
  const photos = [];
  const thumbs = h('div', { class: 'thumbs', id: 'thumbs' });
  const input = h('input', { id: 'photos', class: 'file', type: 'file', accept: 'image/jpeg,image/png,image/*', capture: 'environment', multiple: ev.max_photos > 1 });
  input.addEventListener('change', () => {
    for (const f of input.files) if (photos.length < ev.max_photos) photos.push(f);
    input.value = '';
    thumbs.replaceChildren(...photos.map((f, i) => {
      const url = URL.createObjectURL(f);
      cleanup.push(() => URL.revokeObjectURL(url));
      return h('img', { src: url, alt: 'Фото ' + (i + 1) });
    }));
  });
  const qs = (ev.checklist || []).map((q) => {
    const id = 'q-' + q.key;
    if (q.kind === 'yes_no') {
      return h('fieldset', { class: 'q' }, h('legend', {}, q.question, q.required ? ' *' : ''),
        h('label', { class: 'check' }, h('input', { type: 'radio', name: id, value: 'true', required: q.required }), 'Да'),
        h('label', { class: 'check' }, h('input', { type: 'radio', name: id, value: 'false' }), 'Нет'));
    }
    return h('div', {}, h('label', { for: id }, q.question, q.required ? ' *' : ''),
      h('input', { id, name: id, type: 'number', inputmode: 'decimal', min: q.min, max: q.max, step: 'any', required: q.required }));
  });
  const form = h('form', { id: 'report', class: 'card', novalidate: true },
    h('h2', {}, task.title), h('p', {}, task.instructions),
    sub.review_comment ? h('p', { class: 'err' }, 'Модератор: ', sub.review_comment) : null,
    qs,
    h('p', {}, `Фото: от ${ev.min_photos} до ${ev.max_photos}`),
    input, h('label', { for: 'photos', class: 'btn secondary block' }, 'Сделать фото'), thumbs,
    h('label', { for: 'comment' }, 'Комментарий', ev.comment_required ? ' *' : ''),
    h('textarea', { id: 'comment', name: 'comment', maxlength: 2000 }),
    task.geofence_meters ? h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'geo', checked: true }), 'Приложить местоположение') : null,
    h('button', { type: 'submit', class: 'block', id: 'send-report' }, 'Отправить отчёт'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const btn = form.querySelector('#send-report');
    if (photos.length < ev.min_photos) { msg.replaceChildren(errorBox({ message: `Нужно фото: не меньше ${ev.min_photos}.` })); return; }
    btn.disabled = true;
    msg.replaceChildren(h('p', { class: 'muted' }, 'Отправляем…'));
    try {
      const scan = await import('./scan.js');
      const shots = [];
      for (const p of photos) shots.push(await scan.downscale(p, 1600));
      const answers = {};
      for (const q of ev.checklist || []) {
        const v = new FormData(form).get('q-' + q.key);
        if (v === null || v === '') continue;
        answers[q.key] = q.kind === 'yes_no' ? v === 'true' : Number(String(v).replace(',', '.'));
      }
      const fields = { answers: JSON.stringify(answers), comment: form.querySelector('#comment').value, captured_at: new Date().toISOString() };
      const geo = form.querySelector('input[name=geo]');
      if (geo && geo.checked && navigator.geolocation) {
        const p = await new Promise((res) => navigator.geolocation.getCurrentPosition(res, () => res(null), { timeout: 8000 }));
        if (p) { fields.lat = String(p.coords.latitude); fields.lon = String(p.coords.longitude); }
      }
      // Through the upload queue: on a bad network the report waits in
      // IndexedDB and goes when the connection returns.
      let id = null;
      const done = (r) => screen('Отчёт отправлен', h('section', { class: 'card', id: 'report-done', 'data-status': r.status },
        status(taskStatus, r.status), h('p', {}, r.status === 'approved' ? `Отчёт принят, начислено ${points(r.reward_kopecks)}.` : 'Отчёт отправлен на проверку.'),
        h('a', { class: 'btn block', href: '#/tasks' }, 'К заданиям')));
      cleanup.push(outbox.subscribe((items, e2) => {
        if (!id) return;
        const mine = items.find((x) => x.id === id);
        if (e2 && e2.type === 'sent' && e2.id === id) done(e2.report);
        else if (mine && mine.state === 'error') { btn.disabled = false; msg.replaceChildren(errorBox({ message: mine.error })); outbox.remove(id); }
        else if (mine && mine.state === 'waiting') msg.replaceChildren(h('p', { class: 'ok', id: 'report-queued' }, 'Нет связи: отчёт сохранён на телефоне и отправится сам, когда появится сеть.'));
      }));
      id = await outbox.add({ report: { submission: subId, photos: shots, fields } }, 'Отчёт: ' + task.title);
      if (!navigator.onLine) msg.replaceChildren(h('p', { class: 'ok', id: 'report-queued' }, 'Нет связи: отчёт сохранён на телефоне и отправится сам, когда появится сеть.'));
    } catch (err) {
      btn.disabled = false;
      msg.replaceChildren(errorBox(err));
    }
  });
  screen('Отчёт по заданию', msg, form);
}

// ---- more ----
async function moreScreen() {
  await loadMe().catch(() => {});
  const link = (href, text, extra) => h('li', {}, h('a', { class: 'item', href }, h('div', { class: 'row' }, h('span', {}, text), extra || '›')));
  screen('Ещё', h('nav', { class: 'card', 'aria-label': 'Ещё' }, h('ul', { class: 'list' },
    link('#/inbox', 'Уведомления', me && me.unread_notifications ? h('b', { class: 'status wait' }, me.unread_notifications + ' новых') : null),
    link('#/rewards', 'Призы'),
    link('#/program', 'О программе'),
    link('#/profile', 'Профиль'),
    link('#/tax', 'Налоговые данные'))));
}

function deepLink(n) {
  const m = /^loyaltyjam:\/\/(receipts|tasks)\/?(.*)$/.exec(n.deep_link || '');
  if (!m) return null;
  return m[1] === 'receipts' && m[2] ? '#/receipts/' + m[2] : '#/tasks';
}

async function inboxScreen() {
  const d = await API.get('/v1/notifications?limit=50');
  const row = (n) => h('li', {}, h('a', {
    class: 'item' + (n.read ? '' : ' unread'), href: deepLink(n) || '#/inbox',
    onclick: () => { if (!n.read) API.post(`/v1/notifications/${n.id}/read`).catch(() => {}); },
  }, h('div', { class: 'small muted' }, dateTime(n.created_at), n.read ? '' : ' · новое'), h('div', {}, n.title), h('div', { class: 'small' }, n.body)));
  const all = h('button', { type: 'button', class: 'secondary block', hidden: !d.unread_count }, 'Прочитать все');
  all.addEventListener('click', async () => { await API.post('/v1/notifications/read-all'); route(); });
  screen('Уведомления', h('section', { class: 'card' },
    d.items.length ? h('ul', { class: 'list', id: 'inbox' }, d.items.map(row)) : h('p', { class: 'muted' }, 'Уведомлений нет.'), all),
    await prefsCard());
  loadMe().catch(() => {});
}

const typeNames = {
  receipt_credited: 'Баллы за чек', receipt_no_eligible_items: 'Чек без товаров программы', receipt_rejected: 'Чек отклонён',
  receipt_needs_review: 'Чек на проверке', points_released: 'Баллы стали доступны', task_reviewed: 'Проверка отчёта',
  registry_credited: 'Начисления по реестру', invitation: 'Приглашение', credentials: 'Данные для входа',
};
const channelNames = { inbox: 'в приложении', push: 'push', sms: 'SMS', email: 'e-mail' };

async function prefsCard() {
  const p = await API.get('/v1/notifications/preferences').catch(() => null);
  if (!p) return null;
  const form = h('form', { class: 'card', id: 'prefs' }, h('h2', {}, 'Настройки уведомлений'),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'quiet', checked: p.quiet_hours.enabled }),
      `Тихие часы ${p.quiet_hours.start}–${p.quiet_hours.end} (${p.timezone})`),
    Object.entries(p.channels).map(([type, chs]) => h('fieldset', {}, h('legend', {}, typeNames[type] || type),
      Object.entries(chs).map(([ch, on]) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: `${type}.${ch}`, checked: on }), channelNames[ch] || ch)))),
    h('button', { type: 'submit', class: 'block secondary' }, 'Сохранить'), h('div', { 'aria-live': 'polite' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const channels = {};
    for (const [type, chs] of Object.entries(p.channels)) {
      channels[type] = {};
      for (const ch of Object.keys(chs)) channels[type][ch] = form.elements[`${type}.${ch}`].checked;
    }
    const out = form.lastElementChild;
    try {
      await API.api('PUT', '/v1/notifications/preferences', { json: { timezone: p.timezone, channels,
        quiet_hours: { enabled: form.elements.quiet.checked, start: p.quiet_hours.start, end: p.quiet_hours.end } } });
      out.replaceChildren(h('p', { class: 'ok' }, 'Сохранено.'));
    } catch (err) { out.replaceChildren(errorBox(err)); }
  });
  return form;
}

async function programScreen() {
  const [m, t] = await Promise.all([loadMe(), API.optional('/v1/program')]);
  const progs = t ? t.programs : m.programs;
  const lines = (head, list) => list && list.length ? [h('h3', {}, head), h('ul', {}, list.map((x) => h('li', {}, x)))] : [];
  const terms = (p) => !p.rules ? [h('p', { class: 'muted' }, 'Правила программы ещё не опубликованы.')] : [
    h('p', { class: 'small muted' }, `Правила действуют с ${date(p.rules.effective_from)}`),
    ...lines('Как начисляются баллы', p.rules.earn), ...lines('Бонусы', p.rules.bonuses), ...lines('Акции', p.rules.promos),
    ...lines('Лимиты', p.rules.caps), h('p', {}, p.rules.roles), h('p', {}, p.rules.seller),
    p.skus.length ? h('details', {}, h('summary', {}, `Товары программы (${p.skus.length})`),
      h('ul', { class: 'list skus' }, p.skus.map((k) => h('li', { class: 'item' }, h('b', {}, k.name), h('div', { class: 'small muted' }, `${k.brand} · ${k.code}`), h('div', {}, k.rate)))))
      : h('p', { class: 'muted' }, 'Товаров, за которые начисляются баллы, пока нет.')];
  const sup = t && t.support;
  screen('О программе',
    h('section', { class: 'card' }, h('h2', {}, m.client.name),
      progs.length ? h('ul', { class: 'list', id: 'programs' }, progs.map((p) => h('li', { class: 'item' },
        h('b', {}, p.name), h('div', { class: 'small muted' }, `с ${date(p.starts_on)} по ${date(p.ends_on)}`, p.status === 'test' ? ' · тестовая' : ''),
        p.credit_text ? h('p', { class: 'small' }, p.credit_text) : null)))
        : h('p', { class: 'muted' }, 'Сейчас нет действующих программ.')),
    ...(t ? progs.map((p) => h('section', { class: 'card terms' }, h('h2', {}, p.name), ...terms(p))) : [
      h('section', { class: 'card' }, h('h2', {}, 'Как начисляются баллы'),
        h('p', {}, 'Загрузите чек с товарами программы. Мы проверим его в ФНС и начислим баллы за каждую строку с товаром программы: процент от суммы строки с коэффициентом товара и акции. 1 балл = 1 рубль.'))]),
    h('section', { class: 'card' }, h('p', { class: 'muted' }, 'Почему строка чека получила столько баллов — написано в каждом чеке.')),
    sup ? h('section', { class: 'card', id: 'support' }, h('h2', {}, 'Поддержка'), sup.name ? h('p', {}, sup.name) : null,
      sup.phone ? h('p', {}, h('a', { href: 'tel:' + sup.phone }, sup.phone)) : null,
      sup.email ? h('p', {}, h('a', { href: 'mailto:' + sup.email }, sup.email)) : null) : null,
    m.shop ? h('section', { class: 'card' }, h('h2', {}, 'Ваш магазин'), h('p', {}, m.shop.name), h('p', { class: 'small muted' }, m.shop.address)) : null);
}

async function profileScreen() {
  const m = await loadMe();
  const row = (k, v) => h('div', { class: 'row item' }, h('span', { class: 'muted' }, k), h('span', {}, v || '—'));
  const out = h('button', { type: 'button', class: 'danger block', id: 'logout' }, 'Выйти');
  out.addEventListener('click', async () => { await API.logout(); go('login'); });
  const msg = h('div', { 'aria-live': 'assertive' });
  const all = h('button', { type: 'button', class: 'secondary block', id: 'logout-all' }, 'Выйти на всех устройствах');
  all.addEventListener('click', async () => {
    all.disabled = true;
    try { await API.post('/v1/auth/logout-all'); API.clearSession(); go('login'); } catch (e) { all.disabled = false; msg.replaceChildren(errorBox(e)); }
  });
  screen('Профиль', h('section', { class: 'card', id: 'profile' }, h('h2', {}, m.name),
    row('Телефон', m.phone), row('Логин', m.login), row('E-mail', m.email), row('Роль', roles[m.role] || m.role),
    row('Регион', m.region), row('Компания', m.client.name)),
  h('section', { class: 'card' }, msg, h('a', { class: 'btn secondary block', href: '#/password', id: 'to-password' }, 'Сменить пароль'), out, all,
    h('p', { class: 'hint' }, '«Выйти» завершает сеанс этого устройства. «Выйти на всех устройствах» завершает все сеансы, включая этот; на других телефонах приложение попросит войти снова.')));
}

async function passwordScreen() {
  const forced = !!(me && me.must_change_password);
  const msg = h('div', { 'aria-live': 'assertive' });
  const field = (id, text, ac) => [h('label', { for: id }, text),
    h('input', { id, name: id, type: 'password', autocomplete: ac, required: true, maxlength: id === 'current' ? 256 : 128 })];
  const form = h('form', { id: 'password-form', class: 'card', novalidate: true },
    h('h2', {}, forced ? 'Придумайте свой пароль' : 'Смена пароля'),
    forced ? h('p', { id: 'forced' }, 'Пароль, который прислал организатор, нужно сменить перед началом работы.') : null,
    ...field('current', forced ? 'Пароль из приглашения' : 'Текущий пароль', 'current-password'),
    ...field('new', 'Новый пароль', 'new-password'),
    h('p', { class: 'hint' }, 'От 8 до 128 символов, буквы и цифры.'),
    ...field('repeat', 'Новый пароль ещё раз', 'new-password'),
    h('button', { type: 'submit', class: 'block', id: 'password-save' }, 'Сменить пароль'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    if (f.get('new') !== f.get('repeat')) { msg.replaceChildren(errorBox(new Error('Новые пароли не совпадают.'))); return; }
    msg.replaceChildren(h('p', { class: 'muted' }, 'Сохраняем…'));
    try {
      await API.post('/v1/me/password', { current_password: f.get('current'), new_password: f.get('new') });
      await loadMe().catch(() => {});
      form.reset();
      msg.replaceChildren(h('p', { class: 'ok', id: 'password-changed' }, 'Пароль изменён. На других устройствах нужно войти снова.'));
      if (forced) setTimeout(() => go('scan'), 1200);
    } catch (e) { msg.replaceChildren(errorBox(e)); }
  });
  const leave = forced ? h('section', { class: 'card' },
    h('p', { class: 'hint' }, 'Пароль из приглашения потерян? Выйдите и попросите организатора программы прислать приглашение заново.'),
    h('button', { type: 'button', class: 'secondary block', id: 'forced-logout', onclick: async () => { await API.logout(); go('login'); } }, 'Выйти')) : null;
  screen(forced ? 'Новый пароль' : 'Смена пароля', msg, form, leave);
}

// Rewards and the tax profile come from parts of the product that may not
// be deployed yet: a 404 shows «недоступно».
function unavailable(name) {
  screen(name, h('section', { class: 'card', id: 'unavailable' }, h('p', {}, 'Раздел пока недоступен.'),
    h('p', { class: 'muted' }, 'Он появится, когда его включит организатор программы.')));
}

// The prize catalog (GET /v1/rewards: faces priced in points, or a free
// face value within limits), ordering (POST /v1/redemptions with an
// Idempotency-Key; a top-up asks for the phone or wallet) and the orders
// (GET /v1/redemptions; a delivered one's code comes from
// GET /v1/redemptions/{id}, opened only for its owner). While an order is
// open the screen refreshes itself.
const openRedemption = new Set(['moderation', 'queued', 'placing', 'processing']);
let rewardsPoll = 0;
async function rewardsScreen() {
  clearTimeout(rewardsPoll);
  const cat = await API.optional('/v1/rewards');
  if (!cat) { unavailable('Призы'); return; }
  const b = await API.get('/v1/balance');
  const orders = await API.optional('/v1/redemptions');
  const msg = h('div', { 'aria-live': 'assertive' });
  const items = cat.items || [];
  const redeem = async (r, face, extra, btn) => {
    btn.disabled = true;
    const key = 'redeem-' + r.id + '-' + face + '-' + Date.now();
    try {
      const o = (await API.api('POST', '/v1/redemptions', { json: { offer_id: r.id, face_kopecks: face, ...extra }, headers: { 'Idempotency-Key': key } })).data;
      msg.replaceChildren(h('p', { class: 'ok', id: 'redeemed' }, 'Заказ оформлен: ', o.status_text || o.status || ''));
      setTimeout(() => { if (location.hash === '#/rewards') route(); }, 1500);
    } catch (e) { btn.disabled = false; msg.replaceChildren(errorBox(e)); }
  };
  const reward = (r) => {
    const kids = [h('b', {}, r.title), r.brand && r.brand !== r.title ? h('span', { class: 'small muted' }, ' · ', r.brand) : null,
      r.description ? h('p', { class: 'small' }, r.description) : null];
    let recipient = null;
    if (r.kind === 'mobile_topup' || r.kind === 'wallet_topup') {
      const id = 'to-' + r.id;
      recipient = h('input', { id, type: 'tel', inputmode: 'tel', autocomplete: 'tel', placeholder: '+79991234567' });
      kids.push(h('label', { for: id }, r.kind === 'mobile_topup' ? 'Номер телефона' : 'Номер кошелька'), recipient);
    }
    const extra = () => {
      const v = recipient ? recipient.value.trim() : '';
      if (!recipient) return {};
      return r.kind === 'mobile_topup' ? { phone: v } : { account: v };
    };
    const off = r.available === false;
    for (const f of r.faces || []) {
      const btn = h('button', { type: 'button', class: 'block', 'data-face': f.face_kopecks, disabled: off || f.price_kopecks > b.available_kopecks },
        'Номинал ' + rub(f.face_kopecks) + ' за ' + points(f.price_kopecks));
      btn.addEventListener('click', () => redeem(r, f.face_kopecks, extra(), btn));
      kids.push(btn);
    }
    if (r.face_max_kopecks) {
      const id = 'face-' + r.id;
      const input = h('input', { id, type: 'number', inputmode: 'numeric', min: Math.ceil((r.face_min_kopecks || 100) / 100), max: Math.floor(r.face_max_kopecks / 100), step: 1 });
      const btn = h('button', { type: 'button', class: 'block secondary', disabled: off }, 'Получить');
      btn.addEventListener('click', () => redeem(r, Math.round(Number(input.value) * 100), extra(), btn));
      kids.push(h('label', { for: id }, `Свой номинал, ₽ (${rub(r.face_min_kopecks)} – ${rub(r.face_max_kopecks)})`), input, btn);
    }
    if (off) kids.push(h('p', { class: 'small muted' }, 'Сейчас нет в наличии'));
    return h('li', { class: 'item' }, kids);
  };
  const list = orders ? orders.items || [] : [];
  // The codes of the newest delivered orders, opened for their owner.
  const details = await Promise.all(list.slice(0, 10).map((o) => (o.status === 'delivered' ? API.get('/v1/redemptions/' + encodeURIComponent(o.id)).catch(() => o) : o)));
  const order = (o) => h('li', { class: 'item', 'data-status': o.status },
    h('div', { class: 'row' }, h('b', {}, o.title || 'Заказ'), h('span', { class: 'status ' + (o.status === 'delivered' ? 'good' : o.status === 'failed' ? 'bad' : 'wait') }, o.status_text || o.status)),
    h('div', { class: 'small' }, rub(o.face_kopecks), ' · ', points(o.price_kopecks)),
    o.code ? h('p', {}, 'Код: ', h('b', { class: 'code' }, o.code)) : null,
    o.pin ? h('p', {}, 'PIN: ', h('b', {}, o.pin)) : null,
    o.url ? h('p', {}, h('a', { href: o.url, target: '_blank', rel: 'noopener' }, 'Открыть сертификат')) : null,
    o.failure_message ? h('p', { class: 'small' }, o.failure_message) : null,
    h('div', { class: 'small muted' }, dateTime(o.created_at)));
  screen('Призы', msg,
    h('section', { class: 'card' }, h('p', {}, 'Доступно: ', h('b', {}, points(b.available_kopecks))),
      b.held_kopecks ? h('p', { class: 'small muted' }, 'В заказах: ', points(b.held_kopecks)) : null),
    h('section', { class: 'card', id: 'catalog' }, h('h2', {}, 'Каталог'), items.length ? h('ul', { class: 'list', id: 'rewards' }, items.map(reward)) : h('p', { class: 'muted' }, 'Каталог пуст.')),
    orders ? h('section', { class: 'card' }, h('h2', {}, 'Мои заказы'), list.length
      ? h('ul', { class: 'list', id: 'orders' }, details.concat(list.slice(10)).map(order))
      : h('p', { class: 'muted' }, 'Заказов пока нет.')) : null);
  if (list.some((o) => openRedemption.has(o.status))) {
    rewardsPoll = setTimeout(() => { if (location.hash === '#/rewards') route(); }, 2000);
  }
}

// The tax data (GET /v1/me/tax-profile: completeness, this year's income
// and tax) and the consents in force (GET /v1/me/consents).
const consentKind = { personal_data: 'Обработка персональных данных', offer: 'Правила программы', employer: 'Согласие работодателя' };
const legalLabel = { last_name: 'Фамилия', first_name: 'Имя', middle_name: 'Отчество', inn: 'ИНН', snils: 'СНИЛС', birth_date: 'Дата рождения',
  passport: 'Паспорт', address: 'Адрес', citizenship: 'Гражданство' };
async function taxScreen() {
  const t = await API.optional('/v1/me/tax-profile');
  if (!t) { unavailable('Налоговые данные'); return; }
  const c = await API.optional('/v1/me/consents');
  const y = t.year || {};
  const data = Object.entries(t.data || {}).filter(([, v]) => v !== null && v !== '' && typeof v !== 'object');
  screen('Налоговые данные',
    h('section', { class: 'card', id: 'tax' },
      h('p', { id: 'tax-state', class: t.complete ? 'ok' : '' }, t.complete ? 'Данные заполнены' : 'Данные не заполнены'),
      (t.missing || []).length ? h('p', { class: 'small' }, 'Не хватает: ', t.missing.map((k) => legalLabel[k] || k).join(', ')) : null,
      data.map(([k, v]) => h('div', { class: 'row item' }, h('span', { class: 'muted' }, legalLabel[k] || k), h('span', {}, String(v))))),
    h('section', { class: 'card', id: 'tax-year' }, h('h2', {}, 'Доход за ' + (y.year || '') + ' год'),
      h('div', { class: 'row item' }, h('span', { class: 'muted' }, 'Доход'), h('span', {}, rub(y.income_kopecks))),
      h('div', { class: 'row item' }, h('span', { class: 'muted' }, 'Не облагается'), h('span', {}, rub(y.exemption_kopecks))),
      h('div', { class: 'row item' }, h('span', { class: 'muted' }, 'Налог'), h('span', {}, rub(y.tax_kopecks))),
      y.explanation ? h('p', { class: 'small' }, y.explanation) : null),
    c ? h('section', { class: 'card', id: 'consents' }, h('h2', {}, 'Согласия'), (c.consents || []).length
      ? h('ul', { class: 'list' }, c.consents.map((x) => h('li', { class: 'item' }, h('b', {}, consentKind[x.kind] || x.kind),
        h('div', { class: 'small muted' }, 'Версия ', x.text_version, ' · ', dateTime(x.granted_at), x.withdrawn_at ? ' · отозвано ' + dateTime(x.withdrawn_at) : ''))))
      : h('p', { class: 'muted' }, 'Согласий нет.')) : null);
}

// ---- shell: network state, service worker updates ----
const net = document.getElementById('net');
const showNet = () => { net.textContent = navigator.onLine ? '' : 'Нет сети'; };
addEventListener('online', showNet); addEventListener('offline', showNet); showNet();
API.onSession((s) => { if (!s) me = null; if (!s && !location.hash.startsWith('#/login')) go('login'); });
addEventListener('hashchange', route);

if ('serviceWorker' in navigator) {
  addEventListener('load', async () => {
    try {
      const reg = await navigator.serviceWorker.register('sw.js', { scope: './' });
      const banner = document.getElementById('update');
      const offer = () => { if (reg.waiting && navigator.serviceWorker.controller) banner.hidden = false; };
      offer();
      reg.addEventListener('updatefound', () => {
        const w = reg.installing;
        if (w) w.addEventListener('statechange', () => { if (w.state === 'installed') offer(); });
      });
      document.getElementById('update-now').addEventListener('click', () => reg.waiting && reg.waiting.postMessage('skip-waiting'));
      let reloading = false;
      navigator.serviceWorker.addEventListener('controllerchange', () => { if (!reloading && !banner.hidden) { reloading = true; location.reload(); } });
      setInterval(() => reg.update().catch(() => {}), 30 * 60 * 1000);
    } catch (e) { console.warn('service worker', e); }
  });
}

route().then(() => { performance.mark('lj-interactive'); if (API.signedIn()) { loadMe().catch(() => {}); outbox.flush(); } });
