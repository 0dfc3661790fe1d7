// The upload queue: every receipt goes through it, online or not. A record
// is kept in IndexedDB until the server has answered for it; its id is the
// Idempotency-Key of every attempt, so a retry after a lost answer gets the
// same receipt back (200) instead of a second one. One sender at a time
// (a Web Lock across tabs, a flag within one).
import { api, ApiError } from './api.js';

const DB = 'lj-cabinet', STORE = 'outbox';
let dbp = null;
const subs = new Set();
let flushing = false;
let timer = 0;

function db() {
  if (!dbp) {
    dbp = new Promise((resolve, reject) => {
      const r = indexedDB.open(DB, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(STORE, { keyPath: 'id' });
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  }
  return dbp;
}

async function tx(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(STORE, mode);
    const s = t.objectStore(STORE);
    let out;
    Promise.resolve(fn(s)).then((v) => { out = v; });
    t.oncomplete = () => resolve(out);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}
const req = (r) => new Promise((res, rej) => { r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });

export async function list() {
  const all = await tx('readonly', (s) => req(s.getAll()));
  return all.sort((a, b) => a.created - b.created);
}
const put = (rec) => tx('readwrite', (s) => req(s.put(rec)));
export const remove = (id) => tx('readwrite', (s) => req(s.delete(id))).then(notify);

export const subscribe = (f) => { subs.add(f); return () => subs.delete(f); };
async function notify(ev) {
  const items = await list().catch(() => []);
  subs.forEach((f) => f(items, ev));
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// add queues one receipt: {qr}, {photo: Blob}, or {fields: {t,s,fn,i,fp,n}};
// or a task report: {report: {submission, photos: [Blob], fields: {answers, comment, …}}}.
export async function add(payload, label) {
  const rec = { id: uuid(), payload, label, state: 'waiting', attempts: 0, error: '', created: Date.now() };
  await put(rec);
  await notify({ type: 'added', id: rec.id });
  flush();
  return rec.id;
}

export async function retry(id) {
  const all = await list();
  const r = all.find((x) => x.id === id);
  if (r) { r.state = 'waiting'; r.error = ''; await put(r); }
  await notify();
  flush();
}

function body(p) {
  if (p.report) {
    const f = new FormData();
    p.report.photos.forEach((b, i) => f.append('photos', b, `photo${i + 1}.jpg`));
    for (const [k, v] of Object.entries(p.report.fields)) f.append(k, v);
    return { form: f };
  }
  if (p.photo) {
    const f = new FormData();
    f.append('photo', p.photo, p.name || 'receipt.jpg');
    return { form: f };
  }
  if (p.qr) return { json: { qr: p.qr } };
  return { json: p.fields };
}

async function sendOne(rec) {
  rec.state = 'sending'; rec.attempts++;
  await put(rec);
  await notify();
  try {
    const p = rec.payload;
    const path = p.report ? `/v1/tasks/submissions/${p.report.submission}/report` : '/v1/receipts';
    const { data } = await api('POST', path, { ...body(p), headers: { 'Idempotency-Key': rec.id } });
    await tx('readwrite', (s) => req(s.delete(rec.id)));
    await notify(p.report ? { type: 'sent', id: rec.id, report: data } : { type: 'sent', id: rec.id, receipt: data });
    return 0;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    // The report route has no Idempotency-Key: a report resent after a
    // lost answer finds it already sent (409), which is success.
    if (rec.payload.report && e.code === 'task_submission_bad_status') {
      const sub = await api('GET', `/v1/tasks/submissions/${rec.payload.report.submission}`).then((r) => r.data).catch(() => null);
      if (sub && ['submitted', 'in_review', 'approved', 'rejected'].includes(sub.status) && rec.attempts > 1) {
        await tx('readwrite', (s) => req(s.delete(rec.id)));
        await notify({ type: 'sent', id: rec.id, report: sub });
        return 0;
      }
    }
    if (e.status === 0 || e.status === 503 || e.status === 429 || e.status >= 500 || e.status === 401) {
      // Not this upload's fault: wait for the network, the server or a sign-in.
      rec.state = 'waiting';
      rec.error = e.status === 0 ? '' : e.message;
      await put(rec);
      await notify();
      // Offline: the 'online' event restarts us. A failure while online
      // (a dropped answer, a proxy) is retried with the same key, later.
      if (e.status === 0) return navigator.onLine ? Math.min(60, 3 * rec.attempts) : -1;
      return Math.max(e.retryAfter, 5);
    }
    rec.state = 'error';
    rec.error = e.message;
    await put(rec);
    await notify({ type: 'failed', id: rec.id, error: e });
    return 0;
  }
}

async function drain() {
  for (;;) {
    if (!navigator.onLine) return;
    const next = (await list()).find((r) => r.state !== 'error');
    if (!next) return;
    const wait = await sendOne(next);
    if (wait < 0) return;
    if (wait > 0) { clearTimeout(timer); timer = setTimeout(flush, wait * 1000); return; }
  }
}

// flush sends what is queued, one record at a time, oldest first.
export async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    // A record left 'sending' by a closed tab is sent again with its key.
    if (navigator.locks) await navigator.locks.request('lj-outbox', drain);
    else await drain();
  } catch (e) {
    console.warn('outbox', e);
  } finally {
    flushing = false;
  }
}

addEventListener('online', flush);
