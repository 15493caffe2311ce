// shopper.js — shoppers of the gameday storefront, as a person with a phone
// would be one: log in with the code the phone receives, look around, fill a
// cart, check the wallet and top up, pay, and watch the order until it
// settles. An ordinary k6 script: read it, copy it, run it with any k6.
// Off by default, a share of visits also order food (and write to the
// restaurant) or pay a restaurant by QR code, with the restaurants' merchants
// and the drivers working the food orders beside them.
//
// Environment (__ENV); the harness sets these through load.ShopperEnv:
//   GAMEDAY_GATEWAY   public API base URL (required), e.g. http://127.0.0.1:40123
//   GAMEDAY_INBOX     OTP provider base URL (required): GET {inbox}/inbox/{phone}
//   GAMEDAY_DATA      path of the seed data file: {users: [{user_id, phone, status}],
//                     products, couriers: [{id, areas, max_weight_g, max_size_cm}],
//                     addresses: [{line, area}], restaurants: [{id, name, owner, menu}],
//                     drivers: [user_id]}; restaurant owners and drivers are
//                     partners and never shop
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
//   GAMEDAY_FOOD      share of visits that, after logging in, order food from a
//                     restaurant, send it a chat message and wait for a driver
//                     (default 0: off). Above 0, and with restaurants and drivers
//                     in the data file, a second scenario "partners" runs one VU per
//                     restaurant (its merchant accepts the orders) and one per
//                     driver (takes accepted orders)
//   GAMEDAY_FOOD_WAIT longest wait of a food visit for a driver, seconds (default 20)
//   GAMEDAY_QR        share of visits that, after logging in, pay a restaurant by QR
//                     code from the wallet (default 0: off)
//
// Load: a constant-arrival-rate executor, so a slow storefront cannot slow the
// load down and hide (coordinated omission); visits that find no free shopper
// show up as dropped_iterations.
//
// Every request is tagged with its endpoint (login, login_verify, products,
// checkout, order, …) and its journey (login, browse, cart, wallet, checkout,
// logout; food, chat, food_delivery, qr; the partners' merchant, driver).
// Custom metrics:
//   journey_success     rate    did the journey succeed (tag journey)
//   forced_logout       counter a session that was valid was refused (401): the shopper logs in again
//   otp_wait            trend   from login start until the code was in the inbox
//   shopper_error       counter every error shown to the shopper (tags code, endpoint, journey, status);
//                               code "no_response" when nothing came back
//   bare_5xx            counter a 5xx without an error code or without Retry-After
//   cross_user_data     counter an answer about another user than the one logged in
//   zero_balance_shown  counter a wallet shown as 0 (not marked stale) that must hold money: the
//                               last balance seen, less every checkout and QR payment since, is above 0
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

// share reads a share of visits, 0..1; unset is 0 (off).
function share(name) {
  const n = num(name, 0);
  if (n > 1) throw new Error(`${name}=${__ENV[name]}: want a share of visits from 0 to 1`);
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
const FOOD_SHARE = share('GAMEDAY_FOOD');
const FOOD_WAIT = num('GAMEDAY_FOOD_WAIT', 20);
const QR_SHARE = share('GAMEDAY_QR');

const MAX_ATTEMPTS = 4;       // of one request that is answered "retry"
const MAX_RETRY_AFTER = 10;   // seconds; a longer Retry-After is capped
const OTP_GIVE_UP = 60;       // seconds without a usable code before the login fails
const ORDER_GIVE_UP = 30;     // seconds for an order to settle
const LOW_BALANCE = 1000000;  // a wallet below this is topped up
const TOPUP = 2000000;
const GRACEFUL_STOP = 15;     // seconds a visit in flight at the end may take to finish
const QR_PREFIX = 'gameday:pay:'; // a restaurant's payment QR code is this and its ID

// ---- seed data: from GAMEDAY_DATA, else phones from GAMEDAY_PHONES

const DATA = __ENV.GAMEDAY_DATA || '';

function fromData(name, pick) {
  return new SharedArray(name, () => pick(JSON.parse(open(DATA))));
}

// partnerIDs are the user IDs of the data's restaurant owners and drivers.
function partnerIDs(d) {
  return new Set((d.restaurants || []).map((r) => r.owner).concat(d.drivers || []));
}

// Only active shoppers shop: a restricted account is refused at checkout by
// design. Merchants and drivers work the food orders, and never shop.
const users = DATA
  ? fromData('users', (d) => {
    const partner = partnerIDs(d);
    return (d.users || []).filter((u) => u.status === 'active' && !partner.has(u.user_id)).map((u) => ({ phone: u.phone, user_id: u.user_id }));
  })
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

// The partners of the food side, when visits order food: one per restaurant
// (its merchant) and one per driver, each with the phone to log in with.
const partners = FOOD_SHARE > 0 && DATA ? fromData('partners', (d) => {
  const phone = {};
  for (const u of d.users || []) phone[u.user_id] = u.phone;
  const out = (d.restaurants || []).map((r) => ({ role: 'merchant', user_id: r.owner, restaurant: r.id }))
    .concat((d.drivers || []).map((id) => ({ role: 'driver', user_id: id })));
  for (const p of out) {
    p.phone = phone[p.user_id];
    if (!p.phone) throw new Error(`${DATA}: ${p.role} ${p.user_id} is not among the users: no phone to log in with`);
  }
  return out;
}) : [];

// The restaurants whose QR codes shoppers scan; without a data file, those of
// every seeded storefront.
const qrRestaurants = QR_SHARE > 0 && DATA ? fromData('qr_restaurants', (d) => (d.restaurants || []).map((r) => r.id)) : [];
const QR_IDS = qrRestaurants.length > 0 ? qrRestaurants : ['r01', 'r02', 'r03'];

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
      gracefulStop: `${GRACEFUL_STOP}s`,
    }, arrival(RATE)),
  },
  // The harness reads the series; k6's own summary needs no percentiles beyond these.
  summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max'],
};
if (partners.length > 0) {
  // Merchants and drivers stay signed in for the whole run: one VU each. They
  // keep working past DURATION while visits are still in flight (partner()).
  options.scenarios.partners = {
    executor: 'constant-vus',
    exec: 'partner',
    vus: partners.length,
    duration: DURATION,
    gracefulStop: `${GRACEFUL_STOP}s`,
  };
}

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
  overAt: 0,        // when a partner first saw the run's DURATION over
  partner: null,    // {role, user_id, phone, restaurant?} when this VU is a merchant or driver
  pause: 0,         // seconds a partner waits before its next round (Retry-After)
  backoff: 0,       // seconds a partner waits after a failed login, doubling
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
// A status in o.expected is a normal answer, not an error (a driver told
// another driver took the order): it is returned, not ok, with expected set.
// o.once makes one attempt: a partner's poll round is its own retry, after
// the Retry-After its next round waits (holdOff).
function call(method, path, payload, o) {
  const tags = { endpoint: o.endpoint, journey: o.journey, name: o.name || `${method} ${path}` };
  const headers = Object.assign({ 'Content-Type': 'application/json' }, o.headers || {});
  if (me.token && !o.anonymous) headers.Authorization = `Bearer ${me.token}`;
  const url = (o.base || GATEWAY) + path;
  const body = payload === null || payload === undefined ? null : JSON.stringify(payload);
  const params = { headers, tags, timeout: TIMEOUT };
  if (o.expected) params.responseCallback = http.expectedStatuses({ min: 200, max: 299 }, ...o.expected);
  for (let attempt = 1; ; attempt++) {
    const res = http.request(method, url, body, params);
    const parsed = parse(res);
    if (res.status >= 200 && res.status < 300) {
      return { res, body: parsed, ok: true, code: '' };
    }
    const err = parsed && parsed.error;
    const code = res.status === 0 ? 'no_response' : (err && err.code) || `http_${res.status}`;
    if (o.expected && o.expected.includes(res.status)) {
      return { res, body: parsed, ok: false, code, expected: true };
    }
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
    if (!retry || attempt >= (o.once ? 1 : MAX_ATTEMPTS)) {
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
    // A stale balance (the last known, shown while the wallet cannot be
    // read) is no lower bound: checkouts since may have spent from it.
    me.balance = w.body.stale ? -1 : w.body.balance;
    if (w.body.balance < LOW_BALANCE) {
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

// ---- food, chat and QR payments (GAMEDAY_FOOD, GAMEDAY_QR)

const CHAT = ['Tidak pakai sambal ya, terima kasih', 'Tolong sendoknya dua', 'Saya tunggu di lobi',
  'Esnya dipisah ya', 'Pintu pagar hitam, terima kasih'];

// crossUser counts an answer about another user than the one logged in.
function crossUser(userID, endpoint, journeyName) {
  if (userID && me.userID && userID !== me.userID) crossUserData.add(1, { endpoint, journey: journeyName });
}

// food orders one or two dishes from a restaurant (the food journey), writes
// to it on the order (chat) and waits for a driver (food_delivery): placed →
// accepted by the merchant → assigned to a driver. The order and the message
// each keep one Idempotency-Key across their retries.
function food() {
  const list = call('GET', '/api/v1/food/restaurants', null, { endpoint: 'food_restaurants', journey: 'food', safe: true });
  const open = list.ok && Array.isArray(list.body)
    ? list.body.filter((r) => r && r.id && Array.isArray(r.menu) && r.menu.length > 0) : [];
  if (open.length === 0) journey('food', false);
  const r = pick(open);
  const first = pick(r.menu);
  const items = [{ item_id: first.id, qty: 1 }];
  if (r.menu.length > 1 && Math.random() < 0.5) {
    items.push({ item_id: pick(r.menu.filter((m) => m.id !== first.id)).id, qty: 1 });
  }
  think();
  const iter = exec.scenario.iterationInTest;
  const placed = authed('POST', '/api/v1/food/orders', { restaurant_id: r.id, items },
    { endpoint: 'food_order', journey: 'food', headers: { 'Idempotency-Key': `food-${me.run}-${iter}` }, safe: true });
  const order = placed.ok && placed.body && placed.body.order_id ? placed.body : null;
  if (order) crossUser(order.user_id, 'food_order', 'food');
  journey('food', order !== null);

  think();
  const path = `/api/v1/food/orders/${encodeURIComponent(order.order_id)}`;
  const m = authed('POST', `${path}/messages`, { text: pick(CHAT) },
    { endpoint: 'chat_send', journey: 'chat', name: 'POST /api/v1/food/orders/{id}/messages',
      headers: { 'Idempotency-Key': `chat-${me.run}-${iter}` }, safe: true });
  const sent = m.ok && m.body && m.body.message_id;
  if (sent) crossUser(m.body.from, 'chat_send', 'chat');
  // A message not sent does not stop the order: wait for the driver all the same.
  journeySuccess.add(sent ? 1 : 0, { journey: 'chat' });

  let status = order.status;
  const giveUp = Date.now() + FOOD_WAIT * 1000;
  while (status !== 'assigned' && Date.now() < giveUp) {
    sleep(0.4 + 0.2 * Math.random());
    const o = authed('GET', path, null,
      { endpoint: 'food_order_get', journey: 'food_delivery', name: 'GET /api/v1/food/orders/{id}', safe: true });
    if (o.ok && o.body) {
      if (o.body.order_id !== order.order_id) crossUserData.add(1, { endpoint: 'food_order_get', journey: 'food_delivery' });
      else status = o.body.status;
      crossUser(o.body.user_id, 'food_order_get', 'food_delivery');
    }
  }
  journey('food_delivery', status === 'assigned');
}

// qr pays a restaurant's QR code from the wallet, with one Idempotency-Key
// kept across retries. Money spent is counted as a checkout's is.
function qr() {
  const amount = 1000 * (10 + Math.floor(Math.random() * 41)); // 10 000 .. 50 000
  const r = authed('POST', '/api/v1/wallet/pay', { qr: QR_PREFIX + pick(QR_IDS), amount },
    { endpoint: 'qr_pay', journey: 'qr', headers: { 'Idempotency-Key': `qr-${me.run}-${exec.scenario.iterationInTest}` }, safe: true });
  if (r.ok) {
    spent(Math.max(amount, r.body && typeof r.body.amount === 'number' ? r.body.amount : 0));
  } else if (!(r.res && r.res.status >= 400 && r.res.status < 500)) {
    // No answer, or a 5xx: the wallet may have been charged all the same.
    spent(-1);
  }
  journey('qr', r.ok && r.body && r.body.payment_id);
}

// aside runs a journey beside the shopping: its failure does not end the
// visit (the rest of the app keeps working). It returns whether the shopper
// is still logged in.
function aside(fn) {
  think();
  try {
    fn();
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
  }
  return me.token !== '';
}

// ---- partners: merchants and drivers (GAMEDAY_FOOD with a data file)

// oldestFirst sorts orders by their creation time.
function oldestFirst(orders) {
  const t = (o) => Date.parse(o.created_at) || 0;
  return orders.filter((o) => o && o.order_id).sort((a, b) => t(a) - t(b));
}

// holdOff makes the partner wait out an answer's Retry-After before the
// next round, as call() does between attempts.
function holdOff(r) {
  if (r.res.status === 503 || r.res.status === 429) {
    me.pause = Math.max(me.pause, Math.min(retryAfter(r.res, r.body), MAX_RETRY_AFTER));
  }
}

// failedHard tells whether a call failed for a reason that should end the round
// (nothing came back, or the storefront asked to wait).
function failedHard(r) {
  return r.res.status === 0 || r.res.status >= 500 || r.res.status === 429;
}

// round records one poll round of a partner (journey merchant or driver):
// 1 when fn returned true, 0 when it returned false or the session was lost.
function round(name, fn) {
  let ok = false;
  try {
    ok = fn();
  } finally {
    journeySuccess.add(ok ? 1 : 0, { journey: name });
  }
}

// merchantRound accepts the restaurant's placed orders, oldest first.
function merchantRound(rid) {
  round('merchant', () => {
    const q = authed('GET', `/api/v1/food/restaurants/${encodeURIComponent(rid)}/orders`, null,
      { endpoint: 'merchant_queue', once: true, journey: 'merchant', name: 'GET /api/v1/food/restaurants/{id}/orders', safe: true });
    if (!q.ok || !Array.isArray(q.body)) {
      holdOff(q);
      return false;
    }
    let ok = true;
    for (const o of oldestFirst(q.body)) {
      if (o.status && o.status !== 'placed') continue;
      const a = authed('POST', `/api/v1/food/orders/${encodeURIComponent(o.order_id)}/accept`, null,
        { endpoint: 'merchant_accept', once: true, journey: 'merchant', name: 'POST /api/v1/food/orders/{id}/accept', safe: true });
      if (a.ok) continue;
      ok = false;
      if (failedHard(a)) {
        holdOff(a);
        break;
      }
    }
    return ok;
  });
}

// DRIVER_BATCH is how many offered deliveries a driver takes in one round:
// drivers work the offers together, and one each per round would let a
// backlog left by a fault outgrow them.
const DRIVER_BATCH = 4;

// driverRound takes up to DRIVER_BATCH offered deliveries, starting at a
// random one of the oldest (so that drivers do not all race for the same
// order). An order another driver took first (409) is passed over: that is
// how offers work.
function driverRound() {
  round('driver', () => {
    const q = authed('GET', '/api/v1/food/offers', null, { endpoint: 'driver_offers', once: true, journey: 'driver', safe: true });
    if (!q.ok || !Array.isArray(q.body)) {
      holdOff(q);
      return false;
    }
    const offers = oldestFirst(q.body).filter((o) => !o.driver_id);
    const from = Math.floor(Math.random() * Math.min(offers.length, DRIVER_BATCH));
    let taken = 0;
    for (let i = 0; i < offers.length && taken < DRIVER_BATCH; i++) {
      const o = offers[(from + i) % offers.length];
      const t = authed('POST', `/api/v1/food/orders/${encodeURIComponent(o.order_id)}/take`, null,
        { endpoint: 'driver_take', once: true, journey: 'driver', name: 'POST /api/v1/food/orders/{id}/take', safe: true, expected: [409] });
      if (t.ok) {
        taken++;
        continue;
      }
      if (t.expected) continue;
      holdOff(t);
      return false;
    }
    return true;
  });
}

// partnersDone tells a partner to stop: the run's DURATION is over and no
// visit is in flight any more (the partners are the only active VUs), or the
// visits in flight have had their graceful stop.
function partnersDone() {
  if (exec.scenario.progress < 1) return false;
  if (!me.overAt) me.overAt = Date.now();
  return exec.instance.vusActive <= partners.length || Date.now() - me.overAt > (GRACEFUL_STOP - 2) * 1000;
}

// partner is the partners scenario: one VU per merchant and per driver, each
// in one iteration that lasts the run. It logs in once and polls its queue
// (merchant) or the offers (driver) every 0.3–0.5 s; a session refused is
// logged in again, a failed login retried after a growing pause.
export function partner() {
  if (!me.partner) {
    // The first iteration of each VU starts together with the others' and
    // lasts the run: their numbers are 0 … partners.length-1.
    me.partner = partners[exec.scenario.iterationInTest % partners.length];
    me.user = { phone: me.partner.phone, user_id: me.partner.user_id };
    me.run = `${Date.now().toString(36)}-${exec.vu.idInTest}`;
  }
  while (!partnersDone()) {
    try {
      if (!me.token) {
        if (!login()) {
          me.backoff = Math.min(me.backoff > 0 ? me.backoff * 2 : 1, MAX_RETRY_AFTER);
          sleep(me.backoff * (1 + 0.5 * Math.random()));
          continue;
        }
        me.backoff = 0;
      }
      if (me.partner.role === 'merchant') merchantRound(me.partner.restaurant);
      else driverRound();
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
    }
    const wait = Math.max(me.pause, 0.3 + 0.2 * Math.random());
    me.pause = 0;
    sleep(wait);
  }
}

// logout signs the shopper out. The app forgets the token whatever the
// answer, as a phone does when its user taps "log out": a logout whose answer
// was lost may have ended the session, and a 401 for it later is no forced
// logout.
function logout() {
  const r = call('POST', '/api/v1/logout', null, { endpoint: 'logout', journey: 'logout', safe: true });
  me.token = '';
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
    // Drawn only when on, so that visits without them are what they were.
    if (FOOD_SHARE > 0 && Math.random() < FOOD_SHARE && !aside(food)) return;
    if (QR_SHARE > 0 && Math.random() < QR_SHARE && !aside(qr)) return;
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
