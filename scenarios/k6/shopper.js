// shopper.js — shoppers of the gameday storefront, as a person with a phone
// would be one: log in with the code the phone receives, look around, fill a
// cart, check the wallet and top up, pay, and watch the order until it
// settles. An ordinary k6 script: read it, copy it, run it with any k6.
//
// Environment (__ENV); the harness sets these through load.ShopperEnv:
//   GAMEDAY_GATEWAY   public API base URL (required), e.g. http://127.0.0.1:40123
//   GAMEDAY_INBOX     OTP provider base URL (required): GET {inbox}/inbox/{phone}
//   GAMEDAY_DATA      path of the seed data file: {users: [{user_id, phone, status}],
//                     products, couriers: [{id, areas, max_weight_g, max_size_cm}],
//                     addresses: [{line, area}]}
//   GAMEDAY_PHONES    without a data file: comma-separated phones to log in with
//                     (`gameday up --json` prints one as sample_phone)
//   GAMEDAY_RATE      shopper visits started per second (default 5; fractions allowed)
//   GAMEDAY_DURATION  how long visits are started (default 30s)
//   GAMEDAY_VUS       most shoppers at once (default 10 × rate, at least 10)
//   GAMEDAY_THINK     longest pause between two steps of a visit, seconds (default 0.3)
//   GAMEDAY_LOGOUT    share of visits that end with a logout (default 0.1)
//   GAMEDAY_WHATSAPP  share of logins that ask for the code by WhatsApp and
//                     log in through its link (default 0.25; the rest by SMS)
//   GAMEDAY_TIMEOUT   timeout of one request (default 10s)
//
// Load: a constant-arrival-rate executor, so a slow storefront cannot slow the
// load down and hide (coordinated omission); visits that find no free shopper
// show up as dropped_iterations.
//
// Every request is tagged with its endpoint (login, login_verify, products,
// checkout, order, …) and its journey (login, browse, cart, wallet, checkout,
// logout). Custom metrics:
//   journey_success     rate    did the journey succeed (tag journey)
//   forced_logout       counter a session that was valid was refused (401): the shopper logs in again
//   otp_wait            trend   from login start until the code was in the inbox
//   shopper_error       counter every error shown to the shopper (tags code, endpoint, journey, status);
//                               code "no_response" when nothing came back
//   bare_5xx            counter a 5xx without an error code or without Retry-After
//   cross_user_data     counter an answer about another user than the one logged in
//   zero_balance_shown  counter a wallet shown as 0 (not marked stale) that must hold money: the
//                               last balance seen, less every checkout since, is above 0
//   orders_paid         counter orders that settled paid
import http from 'k6/http';
import { sleep } from 'k6';
import exec from 'k6/execution';
import { SharedArray } from 'k6/data';
import { Counter, Rate, Trend } from 'k6/metrics';

// ---- configuration

function num(name, def) {
  const v = __ENV[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v}: want a non-negative number`);
  return n;
}

function baseURL(name) {
  const v = (__ENV[name] || '').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(v)) {
    throw new Error(`${name} must be the URL of the storefront's ${name === 'GAMEDAY_GATEWAY' ? 'gateway' : 'OTP inbox'} ` +
      `(gameday up --json prints it as ${name === 'GAMEDAY_GATEWAY' ? 'gateway' : 'otp_inbox'}); got "${v}"`);
  }
  return v;
}

const GATEWAY = baseURL('GAMEDAY_GATEWAY');
const INBOX = baseURL('GAMEDAY_INBOX');
const RATE = num('GAMEDAY_RATE', 5);
const DURATION = __ENV.GAMEDAY_DURATION || '30s';
const VUS = Math.max(1, Math.round(num('GAMEDAY_VUS', Math.min(Math.max(Math.ceil(RATE * 10), 10), 2000))));
const THINK = num('GAMEDAY_THINK', 0.3);
const LOGOUT_SHARE = num('GAMEDAY_LOGOUT', 0.1);
const WHATSAPP_SHARE = num('GAMEDAY_WHATSAPP', 0.25);
const TIMEOUT = __ENV.GAMEDAY_TIMEOUT || '10s';

const MAX_ATTEMPTS = 4;       // of one request that is answered "retry"
const MAX_RETRY_AFTER = 10;   // seconds; a longer Retry-After is capped
const OTP_GIVE_UP = 60;       // seconds without a usable code before the login fails
const ORDER_GIVE_UP = 30;     // seconds for an order to settle
const LOW_BALANCE = 1000000;  // a wallet below this is topped up
const TOPUP = 2000000;

// ---- seed data: from GAMEDAY_DATA, else phones from GAMEDAY_PHONES

const DATA = __ENV.GAMEDAY_DATA || '';

function fromData(name, pick) {
  return new SharedArray(name, () => pick(JSON.parse(open(DATA))));
}

// Only active shoppers shop: a restricted account is refused at checkout by design.
const users = DATA
  ? fromData('users', (d) => (d.users || []).filter((u) => u.status === 'active').map((u) => ({ phone: u.phone, user_id: u.user_id })))
  : new SharedArray('users', () => (__ENV.GAMEDAY_PHONES || '').split(',').map((p) => p.trim()).filter((p) => p).map((p) => ({ phone: p })));
if (users.length === 0) {
  throw new Error('no shopper to log in with: set GAMEDAY_DATA to a seed data file or GAMEDAY_PHONES to a comma-separated list of ' +
    'registered phones (gameday up --json prints one as sample_phone)');
}

// Without a data file: the couriers every seeded storefront has, and one address each.
const couriers = DATA ? fromData('couriers', (d) => d.couriers) : new SharedArray('couriers', () => [
  { id: 'jne', areas: ['jakarta', 'bandung', 'surabaya', 'medan', 'bali'], max_weight_g: 20000, max_size_cm: 100 },
  { id: 'sicepat', areas: ['jakarta', 'bandung', 'surabaya'], max_weight_g: 10000, max_size_cm: 80 },
  { id: 'cargo', areas: ['jakarta', 'surabaya', 'papua'], max_weight_g: 200000, max_size_cm: 300 },
]);
const addresses = DATA ? fromData('addresses', (d) => d.addresses) : new SharedArray('addresses', () =>
  ['jakarta', 'bandung', 'surabaya', 'medan', 'bali', 'papua'].map((a) => ({ line: 'Jl. Merdeka 17, ' + a, area: a })));

// constant-arrival-rate takes a whole number of visits per time unit.
function arrival(rate) {
  for (const unit of [1, 10, 100, 1000]) {
    if (Math.abs(rate * unit - Math.round(rate * unit)) < 1e-9 || unit === 1000) {
      return { rate: Math.max(1, Math.round(rate * unit)), timeUnit: `${unit}s` };
    }
  }
}

export const options = {
  scenarios: {
    shoppers: Object.assign({
      executor: 'constant-arrival-rate',
      duration: DURATION,
      preAllocatedVUs: Math.min(VUS, Math.max(2, Math.ceil(RATE * 2))),
      maxVUs: VUS,
      gracefulStop: '15s',
    }, arrival(RATE)),
  },
  // The harness reads the series; k6's own summary needs no percentiles beyond these.
  summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max'],
};

// ---- metrics

const journeySuccess = new Rate('journey_success');
const forcedLogout = new Counter('forced_logout');
const otpWait = new Trend('otp_wait', true);
const shopperError = new Counter('shopper_error');
const bare5xx = new Counter('bare_5xx');
const crossUserData = new Counter('cross_user_data');
const zeroBalanceShown = new Counter('zero_balance_shown');
const ordersPaid = new Counter('orders_paid');

// ---- the shopper of this VU (a VU is one person; its session outlives a visit)

const me = {
  user: null,       // {phone, user_id?}
  token: '',        // session token; '' when logged out
  userID: '',       // from the verify answer
  balance: -1,      // the least the wallet can hold: the last balance seen less what was spent since; -1 unknown
  products: [],     // the catalogue as last browsed
  run: '',          // makes keys and references unique to this run
};

function think() {
  if (THINK > 0) sleep(Math.random() * THINK);
}

// Stop is thrown to end a visit: the journey that failed has been recorded.
class Stop extends Error {}

// ---- one request, as a shopper's app makes it

function parse(res) {
  try {
    return res.body ? JSON.parse(res.body) : null;
  } catch (_) {
    return null;
  }
}

// retryAfter is how long the answer asks to wait, in seconds.
function retryAfter(res, body) {
  const h = Number(res.headers['Retry-After']);
  if (Number.isFinite(h) && h >= 0) return h;
  const b = body && body.error && Number(body.error.retry_after_s);
  return Number.isFinite(b) && b > 0 ? b : 1;
}

// call makes one API call and retries it while the storefront says to retry
// (503 or 429, waiting Retry-After plus jitter, never less) or, when
// o.safe says the call may be repeated, while nothing comes back. The
// caller keeps an Idempotency-Key or reference the same across retries. It
// returns {res, body, ok, code}; every error the shopper sees is counted.
function call(method, path, payload, o) {
  const tags = { endpoint: o.endpoint, journey: o.journey, name: o.name || `${method} ${path}` };
  const headers = Object.assign({ 'Content-Type': 'application/json' }, o.headers || {});
  if (me.token && !o.anonymous) headers.Authorization = `Bearer ${me.token}`;
  const url = (o.base || GATEWAY) + path;
  const body = payload === null || payload === undefined ? null : JSON.stringify(payload);
  for (let attempt = 1; ; attempt++) {
    const res = http.request(method, url, body, { headers, tags, timeout: TIMEOUT });
    const parsed = parse(res);
    if (res.status >= 200 && res.status < 300) {
      return { res, body: parsed, ok: true, code: '' };
    }
    const err = parsed && parsed.error;
    const code = res.status === 0 ? 'no_response' : (err && err.code) || `http_${res.status}`;
    shopperError.add(1, { endpoint: o.endpoint, journey: o.journey, code, status: String(res.status) });
    if (res.status >= 500 && (!err || !err.code || res.headers['Retry-After'] === undefined)) {
      bare5xx.add(1, { endpoint: o.endpoint, journey: o.journey });
    }
    if (res.status === 401 && me.token && !o.anonymous) {
      // A session the shopper did not end was refused: logged out by force.
      forcedLogout.add(1, { endpoint: o.endpoint, journey: o.journey });
      me.token = '';
    }
    const retry = res.status === 503 || res.status === 429 || (res.status === 0 && o.safe);
    if (!retry || attempt >= MAX_ATTEMPTS) {
      return { res, body: parsed, ok: false, code };
    }
    const wait = res.status === 0 ? 0.5 : Math.min(retryAfter(res, parsed), MAX_RETRY_AFTER);
    sleep(wait * (1 + 0.5 * Math.random())); // honour it, and spread the retries out
  }
}

// authed makes a call that needs a session; when the session was refused it
// logs in again (once) and repeats the call.
function authed(method, path, payload, o) {
  let r = call(method, path, payload, o);
  if (!r.ok && r.res.status === 401) {
    if (!login()) throw new Stop();
    r = call(method, path, payload, o);
  }
  return r;
}

function journey(name, ok) {
  journeySuccess.add(ok ? 1 : 0, { journey: name });
  if (!ok) throw new Stop();
}

// ---- login by OTP

function inbox(loginID) {
  const r = call('GET', `/inbox/${encodeURIComponent(me.user.phone)}`, null,
    { base: INBOX, endpoint: 'inbox', journey: 'login', name: 'GET /inbox/{phone}', anonymous: true, safe: true });
  if (!r.ok || !Array.isArray(r.body)) return null;
  // Newest first: after a resend only the newest code is valid.
  return r.body.find((m) => m.login_id === loginID) || null;
}

// codeOf reads the code of a message. A WhatsApp message carries a login link;
// opening it is a verify with its login_id and code.
function codeOf(m) {
  if (m.channel === 'whatsapp' && m.link) {
    const q = m.link.split('?')[1] || '';
    for (const kv of q.split('&')) {
      const [k, v] = kv.split('=');
      if (k === 'code' && v) return { code: decodeURIComponent(v), via: 'whatsapp_link' };
    }
  }
  return { code: m.code, via: m.channel };
}

// waitCode polls the inbox for the login's code. When it is late (past the
// resend time the storefront gave), it asks for a new one: once more by SMS,
// then by WhatsApp. It returns the code, or '' when none came in time.
function waitCode(started) {
  const t0 = Date.now();
  let resendAt = t0 + Math.max(1, started.resend_after_s || 30) * 1000;
  const giveUp = t0 + Math.min(OTP_GIVE_UP, started.expires_in_s || OTP_GIVE_UP) * 1000;
  const channels = ['sms', 'whatsapp'];
  let poll = 0.05;
  while (Date.now() < giveUp) {
    const m = inbox(started.login_id);
    if (m && m.code) {
      otpWait.add(Date.now() - t0, { journey: 'login' });
      return codeOf(m).code;
    }
    if (Date.now() >= resendAt && channels.length > 0) {
      const channel = channels.shift();
      const r = call('POST', '/api/v1/login/resend', { login_id: started.login_id, channel },
        { endpoint: 'login_resend', journey: 'login', anonymous: true, safe: true });
      resendAt = Date.now() + 1000 * (r.ok ? Math.max(1, (r.body && r.body.resend_after_s) || 30) : retryAfter(r.res, r.body));
      if (!r.ok && r.code === 'resend_cooldown') channels.unshift(channel);
    }
    sleep(poll);
    poll = Math.min(poll * 1.5, 1); // a person looks at the phone less and less often
  }
  return '';
}

// login logs the shopper in; it records the login journey and returns
// whether it succeeded.
function login() {
  me.token = '';
  const ok = (() => {
    // 6 February 2023: shoppers who logged in by the WhatsApp link were
    // logged out again within a minute; a share of logins go that way.
    const channel = Math.random() < WHATSAPP_SHARE ? 'whatsapp' : 'sms';
    for (let tries = 1; tries <= 2; tries++) {
      const s = call('POST', '/api/v1/login', { phone: me.user.phone, channel },
        { endpoint: 'login', journey: 'login', anonymous: true, safe: true });
      if (!s.ok || !s.body || !s.body.login_id) return false;
      const code = waitCode(s.body);
      if (!code) return false;
      const v = call('POST', '/api/v1/login/verify', { login_id: s.body.login_id, code },
        { endpoint: 'login_verify', journey: 'login', anonymous: true, safe: true });
      if (v.ok && v.body && v.body.token) {
        me.token = v.body.token;
        me.userID = v.body.user_id;
        if (me.user.user_id && me.user.user_id !== me.userID) {
          crossUserData.add(1, { endpoint: 'login_verify', journey: 'login' });
        }
        return true;
      }
      if (v.code !== 'code_expired') return false; // else start a new login once
    }
    return false;
  })();
  journeySuccess.add(ok ? 1 : 0, { journey: 'login' });
  return ok;
}

// ---- the visit

function browse() {
  const p = call('GET', '/api/v1/products', null, { endpoint: 'products', journey: 'browse', safe: true });
  if (p.ok && Array.isArray(p.body) && p.body.length > 0) me.products = p.body;
  think();
  const who = authed('GET', '/api/v1/me', null, { endpoint: 'me', journey: 'browse', safe: true });
  if (who.ok && who.body && who.body.user_id !== me.userID) {
    crossUserData.add(1, { endpoint: 'me', journey: 'browse' });
  }
  journey('browse', p.ok && me.products.length > 0 && who.ok);
}

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

// fits tells whether a product can go with the courier.
function fits(p, c) {
  return p.weight_g <= c.max_weight_g && p.size_cm <= c.max_size_cm;
}

// cart puts a product that the courier can carry in the cart, sometimes adds
// another and changes their mind, and takes out what the courier cannot
// carry (left over from an earlier visit). It returns the cart.
function cart(c) {
  const byID = {};
  for (const p of me.products) byID[p.id] = p;
  const ok = (() => {
    const candidates = me.products.filter((p) => fits(p, c) && p.weight_g * 2 <= c.max_weight_g);
    if (candidates.length === 0) return false;
    const first = pick(candidates);
    const add = authed('POST', '/api/v1/cart/items', { product_id: first.id, qty: 1 }, { endpoint: 'cart_add', journey: 'cart' });
    if (!add.ok) return false;
    think();
    if (Math.random() < 0.3) {
      const other = pick(candidates);
      if (other.id !== first.id) {
        if (!authed('POST', '/api/v1/cart/items', { product_id: other.id, qty: 1 }, { endpoint: 'cart_add', journey: 'cart' }).ok) return false;
        think();
        if (!authed('DELETE', `/api/v1/cart/items/${encodeURIComponent(other.id)}`, null,
          { endpoint: 'cart_remove', journey: 'cart', name: 'DELETE /api/v1/cart/items/{product_id}', safe: true }).ok) return false;
      }
    }
    const got = authed('GET', '/api/v1/cart', null, { endpoint: 'cart', journey: 'cart', safe: true });
    if (!got.ok || !got.body) return false;
    // Keep what the courier takes: lighter lines first, up to its weight limit.
    let weight = 0;
    const lines = (got.body.items || []).slice().sort((a, b) => ((byID[a.product_id] || {}).weight_g || 0) - ((byID[b.product_id] || {}).weight_g || 0));
    for (const it of lines) {
      const p = byID[it.product_id];
      const w = p ? p.weight_g * it.qty : Infinity;
      if (p && fits(p, c) && weight + w <= c.max_weight_g) {
        weight += w;
        continue;
      }
      if (!authed('DELETE', `/api/v1/cart/items/${encodeURIComponent(it.product_id)}`, null,
        { endpoint: 'cart_remove', journey: 'cart', name: 'DELETE /api/v1/cart/items/{product_id}', safe: true }).ok) return false;
    }
    return weight > 0;
  })();
  journey('cart', ok);
}

function wallet() {
  const w = authed('GET', '/api/v1/wallet', null, { endpoint: 'wallet', journey: 'wallet', safe: true });
  let ok = w.ok && w.body && typeof w.body.balance === 'number';
  if (ok) {
    if (w.body.balance === 0 && !w.body.stale && me.balance > 0) {
      zeroBalanceShown.add(1, { endpoint: 'wallet', journey: 'wallet' });
    }
    me.balance = w.body.balance;
    if (me.balance < LOW_BALANCE) {
      think();
      // The same reference on every retry: the top-up is applied at most once.
      const ref = `topup-${me.run}-${exec.scenario.iterationInTest}`;
      const t = authed('POST', '/api/v1/wallet/topup', { amount: TOPUP, reference: ref },
        { endpoint: 'topup', journey: 'wallet', safe: true });
      ok = t.ok;
      if (t.ok && t.body) me.balance = t.body.balance;
    }
  }
  journey('wallet', ok);
}

function settled(status) {
  return status === 'paid' || status === 'failed' || status === 'refunded';
}

function checkout(c) {
  const addr = pick(addresses.filter((a) => c.areas.includes(a.area)));
  // One key for this checkout, kept across its retries.
  const key = `checkout-${me.run}-${exec.scenario.iterationInTest}`;
  const r = authed('POST', '/api/v1/checkout', { address: { line: addr.line, area: addr.area }, courier: c.id, payment_method: 'wallet' },
    { endpoint: 'checkout', journey: 'checkout', headers: { 'Idempotency-Key': key }, safe: true });
  if (!r.ok || !r.body || !r.body.order_id) {
    // No answer, or a 5xx: the order may exist and be charged all the same.
    if (!(r.res && r.res.status >= 400 && r.res.status < 500)) spent(-1);
    journey('checkout', false);
  }
  let order = r.body;
  const giveUp = Date.now() + ORDER_GIVE_UP * 1000;
  let poll = 0.1;
  while (!settled(order.status) && Date.now() < giveUp) {
    sleep(poll);
    poll = Math.min(poll * 1.5, 1);
    const o = authed('GET', `/api/v1/orders/${encodeURIComponent(order.order_id)}`, null,
      { endpoint: 'order', journey: 'checkout', name: 'GET /api/v1/orders/{id}', safe: true });
    if (o.ok && o.body) {
      if (o.body.order_id !== order.order_id) crossUserData.add(1, { endpoint: 'order', journey: 'checkout' });
      else order = o.body;
    }
  }
  if (order.status === 'paid') ordersPaid.add(1, { journey: 'checkout' });
  // Paid, pending, or failed and not refunded yet: the wallet may hold
  // that much less now.
  spent(typeof order.amount === 'number' ? order.amount : -1);
  journey('checkout', order.status === 'paid');
}

// spent lowers what the shopper knows the wallet holds by amount (-1: by
// an unknown amount).
function spent(amount) {
  if (me.balance < 0) return;
  me.balance = amount >= 0 ? me.balance - amount : -1;
}

function logout() {
  const r = call('POST', '/api/v1/logout', null, { endpoint: 'logout', journey: 'logout', safe: true });
  if (r.ok) me.token = '';
  journeySuccess.add(r.ok ? 1 : 0, { journey: 'logout' });
}

export default function () {
  if (!me.user) {
    const vu = exec.vu.idInTest;
    me.user = users[(vu - 1) % users.length];
    me.run = `${Date.now().toString(36)}-${vu}`;
  }
  try {
    if (!me.token && !login()) return;
    think();
    browse();
    think();
    const c = pick(couriers);
    cart(c);
    think();
    wallet();
    think();
    checkout(c);
    if (Math.random() < LOGOUT_SHARE) {
      think();
      logout();
    }
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
  }
}
