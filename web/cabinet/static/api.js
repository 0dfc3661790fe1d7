// The /v1 API: tokens (remembered on this device or for this tab only),
// one refresh at a time, errors as ApiError with the API's Russian message.
const KEY = 'lj.session';
let session = load();
const listeners = new Set();

function load() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || sessionStorage.getItem(KEY) || 'null');
  } catch { return null; }
}
function save() {
  localStorage.removeItem(KEY);
  sessionStorage.removeItem(KEY);
  if (session) (session.remember ? localStorage : sessionStorage).setItem(KEY, JSON.stringify(session));
  listeners.forEach((f) => f(session));
}

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.message) || (status === 0 ? 'Нет связи с сервером. Проверьте интернет.' : 'Ошибка ' + status));
    this.status = status;
    this.code = (body && body.code) || (status === 0 ? 'offline' : 'http_' + status);
    this.field = body && body.field;
    this.body = body;
    this.retryAfter = retryAfter || 0;
  }
}

export const signedIn = () => !!(session && session.refresh);
export const participant = () => session && session.participant;
export const onSession = (f) => listeners.add(f);

export function setSession(tokens, remember) {
  session = { access: tokens.access_token, refresh: tokens.refresh_token, participant: tokens.participant,
    remember: !!remember, expiresAt: Date.now() + tokens.expires_in * 1000 };
  save();
}

export function clearSession() { session = null; save(); }

async function raw(method, path, { json, form, headers = {}, auth = true } = {}) {
  const h = { Accept: 'application/json', ...headers };
  let body;
  if (json !== undefined) { h['Content-Type'] = 'application/json'; body = JSON.stringify(json); }
  if (form) body = form;
  if (auth && session) h.Authorization = 'Bearer ' + session.access;
  let res;
  try {
    res = await fetch(path, { method, headers: h, body, cache: 'no-store', credentials: 'omit' });
  } catch {
    throw new ApiError(0, null);
  }
  let data = null;
  const text = await res.text().catch(() => '');
  if (text) { try { data = JSON.parse(text); } catch { data = null; } }
  if (!res.ok) throw new ApiError(res.status, data, +res.headers.get('Retry-After') || 0);
  return { status: res.status, data };
}

let refreshing = null;
async function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const r = session && session.refresh;
      if (!r) throw new ApiError(401, { code: 'unauthorized', message: 'Войдите снова.' });
      try {
        const { data } = await raw('POST', '/v1/auth/refresh', { json: { refresh_token: r }, auth: false });
        setSession(data, session && session.remember);
      } catch (e) {
        if (e.status === 401 || e.status === 403 || e.status === 422) clearSession();
        throw e;
      }
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

// api calls the API, refreshing the access token once when it expired.
export async function api(method, path, opts = {}) {
  if (session && session.expiresAt && Date.now() > session.expiresAt - 15000) {
    await refresh().catch((e) => { if (e.status === 0) throw e; });
  }
  try {
    return await raw(method, path, opts);
  } catch (e) {
    if (e.status === 401 && ['token_expired', 'token_invalid'].includes(e.code) && session) {
      await refresh();
      return raw(method, path, opts);
    }
    if (e.status === 401 && ['session_revoked', 'unauthorized', 'refresh_token_invalid', 'refresh_token_reused'].includes(e.code)) {
      clearSession();
    }
    throw e;
  }
}

export const get = (p) => api('GET', p).then((r) => r.data);
export const post = (p, json) => api('POST', p, { json }).then((r) => r.data);

export async function login(body, remember) {
  const { data } = await raw('POST', '/v1/auth/login', { json: body, auth: false });
  setSession(data, remember);
  return data;
}
export async function otpRequest(phone) {
  return (await raw('POST', '/v1/auth/otp/request', { json: { phone }, auth: false })).data;
}
export async function otpVerify(body, remember) {
  const { data } = await raw('POST', '/v1/auth/otp/verify', { json: body, auth: false });
  setSession(data, remember);
  return data;
}
export async function logout() {
  const r = session && session.refresh;
  clearSession();
  if (r) await raw('POST', '/v1/auth/logout', { json: { refresh_token: r }, auth: false }).catch(() => {});
}

// optional calls a route another part of the product may not serve yet:
// null when it answers 404 (the feature is not there), else the data.
export async function optional(path) {
  try { return await get(path); } catch (e) {
    if (e.status === 404 && (e.code === 'not_found' || e.code === 'http_404')) return null;
    throw e;
  }
}
