// Small DOM and formatting helpers; Russian labels of the API's codes.
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'html') throw new Error('no html');
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

const num = new Intl.NumberFormat('ru-RU', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
export const rub = (k) => (k === null || k === undefined ? '—' : num.format(k / 100) + ' ₽');
export const pts = (k) => num.format(k / 100);
export function pointsWord(k) {
  const n = Math.abs(Math.trunc(k / 100));
  if (k % 100 !== 0) return 'балла';
  const d = n % 10, dd = n % 100;
  if (d === 1 && dd !== 11) return 'балл';
  if (d >= 2 && d <= 4 && (dd < 12 || dd > 14)) return 'балла';
  return 'баллов';
}
export const points = (k) => `${pts(k)} ${pointsWord(k)}`;

const dtf = new Intl.DateTimeFormat('ru-RU', { day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' });
const df = new Intl.DateTimeFormat('ru-RU', { day: 'numeric', month: 'long', year: 'numeric' });
export const dateTime = (s) => (s ? dtf.format(new Date(s)) : '—');
export const date = (s) => (s ? df.format(new Date(s.length === 10 ? s + 'T00:00:00' : s)) : '—');
// purchased_at is the shop's local time with no zone: shown as written.
export function localTime(s) {
  if (!s) return '—';
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(s);
  return m ? `${m[3]}.${m[2]}.${m[1]} ${m[4]}:${m[5]}` : s;
}

export const receiptStatus = {
  received: ['Получен', 'wait'], decoded: ['QR-код прочитан', 'wait'], queued: ['В очереди на проверку', 'wait'],
  verifying: ['Проверяется в ФНС', 'wait'], pending_ofd: ['Ждём данные из ОФД', 'wait'], verified: ['Подтверждён ФНС', 'wait'],
  matched: ['Товары сопоставлены', 'wait'], credited: ['Баллы начислены', 'good'],
  no_eligible_items: ['Нет товаров программы', 'bad'], unreadable: ['Не удалось прочитать', 'bad'],
  duplicate: ['Уже загружен', 'bad'], rejected: ['Отклонён', 'bad'], needs_review: ['На проверке у модератора', 'wait'],
};
export const terminalReceipt = new Set(['credited', 'no_eligible_items', 'unreadable', 'duplicate', 'rejected']);

export const taskStatus = {
  taken: ['Взято в работу', 'wait'], submitted: ['Отчёт отправлен', 'wait'], in_review: ['На проверке', 'wait'],
  approved: ['Принято', 'good'], rejected: ['Отклонено', 'bad'], rework_requested: ['Нужно доработать', 'bad'],
  expired: ['Срок истёк', 'bad'],
};

export function status(map, code) {
  const [text, cls] = map[code] || [code, ''];
  return h('span', { class: 'status ' + cls }, text);
}

export const roles = { seller: 'продавец', sales_rep: 'торговый представитель', merchandiser: 'мерчендайзер', dealer: 'дилер', manager: 'менеджер' };

export function errorBox(e) {
  return h('p', { class: 'err', role: 'alert' }, e && e.message ? e.message : String(e));
}
