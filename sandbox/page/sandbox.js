/* Liaison sandbox page: phones side by side, each a Telegram-like chat with the real bot.
 * Plain JavaScript, no build step. State comes from /api/state, live changes from /api/events (SSE).
 * Bot texts are rendered from plain text + entities (as Telegram clients do), never injected as HTML. */
"use strict";

const ROLES = ["agent", "chief", "coordinator", "admin"];
const page = {
  catalog: {},
  lang: "fr",
  scale: 1,
  state: null,            // last /api/state
  phones: new Map(),      // id -> {phone, messages: Map(id -> message), el, keyboardOpen}
  skew: 0,                // sandbox time minus this browser's time, in ms
};

// ----- translation -------------------------------------------------------------------------------------

function t(key, values) {
  const table = page.catalog[page.lang] || {};
  let text = table[key] !== undefined ? table[key] : key;
  for (const [name, value] of Object.entries(values || {})) text = text.split(`{${name}}`).join(String(value));
  return text;
}

function localized(mapping) {
  if (!mapping) return "";
  if (typeof mapping === "string") return mapping;
  return mapping[page.lang] || mapping.fr || mapping.en || "";
}

// French puts a space before : ; ! ? » and after «: keep it from breaking the line (the trainer's panel wraps on
// a phone, and "»)," must not start a line). Display only: the checks compare the texts as written.
function typeset(text) {
  return text.replace(/ ([:;!?»])/g, "\u00a0$1").replace(/« /g, "«\u00a0");
}

function translateStatic() {
  document.documentElement.lang = page.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === page.lang));
  }
}

function setLanguage(lang) {
  page.lang = lang === "en" ? "en" : "fr";
  localStorage.setItem("sandbox.lang", page.lang);
  translateStatic();
  if (page.state) {
    renderScenarioPicker();
    renderTrainer(page.state.scenario);
    renderClock();
    for (const entry of page.phones.values()) renderHead(entry);
  }
}

function setScale(scale) {
  page.scale = Math.min(2.2, Math.max(0.7, Math.round(scale * 10) / 10));
  document.documentElement.style.setProperty("--scale", String(page.scale));
  localStorage.setItem("sandbox.scale", String(page.scale));
  fitPhones();
}

// ----- talking to the sandbox ----------------------------------------------------------------------------

async function api(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : {"Content-Type": "application/json"},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.error || response.statusText);
    showBanner(t("error", {text: error.message}));
    throw error;
  }
  return data;
}

function showBanner(text) {
  const banner = document.getElementById("banner");
  banner.textContent = text;
  banner.hidden = !text;
}

async function loadState() {
  const state = await api("/api/state");
  page.state = state;
  page.skew = Date.parse(state.clock.now) - Date.now();
  page.phones.clear();
  document.getElementById("phones").replaceChildren();
  for (const phone of state.phones) addPhone(phone);
  renderEmpty();
  renderScenarioPicker();
  renderTrainer(state.scenario);
  renderClock();
  setBusy(state.busy);
  document.body.dataset.ready = "true";
}

function connect() {
  const events = new EventSource("/api/events");
  events.onopen = () => {
    showBanner("");
    loadState().catch(() => {});
  };
  events.onerror = () => showBanner(t("disconnected"));
  events.onmessage = (message) => apply(JSON.parse(message.data));
}

function apply(event) {
  const entry = event.phone !== undefined ? page.phones.get(event.phone) : null;
  switch (event.type) {
    case "message":
      if (entry) upsertMessage(entry, event.message);
      break;
    case "delete":
      if (entry) {
        entry.messages.delete(event.id);
        entry.el.querySelector(`li[data-message-id="${event.id}"]`)?.remove();
        renderChrome(entry);
      }
      break;
    case "toast":
      if (entry) toast(entry, event.text, event.alert);
      break;
    case "phone":
      if (!page.phones.has(event.phone.id)) {
        addPhone(event.phone);
        renderEmpty();
      }
      break;
    case "clock":
      if (page.state) {
        page.state.clock = event.clock;
        page.skew = Date.parse(event.clock.now) - Date.now();
        renderClock();
      }
      break;
    case "scenario":
      if (page.state) page.state.scenario = event.scenario;
      renderTrainer(event.scenario);
      break;
    case "busy":
      setBusy(event.busy);
      break;
    case "reset":
      loadState().catch(() => {});
      break;
    case "error":
      showBanner(t("error", {text: event.text}));
      break;
  }
}

function setBusy(busy) {
  document.body.dataset.busy = String(Boolean(busy));
  for (const id of ["plus15", "shift", "load", "next-step"]) document.getElementById(id).disabled = Boolean(busy);
  if (!busy) {
    const scenario = page.state && page.state.scenario;
    document.getElementById("next-step").disabled = !scenario || scenario.done;
  }
}

// Phones fill the height left under the bar and the trainer's panel (one row of them fits the screen).
function fitPhones() {
  const top = document.getElementById("phones").getBoundingClientRect().top + window.scrollY;
  document.documentElement.style.setProperty("--phones-top", `${Math.round(top)}px`);
}

// ----- clock and scenario ---------------------------------------------------------------------------------

function formatTime(date, zone, withDay) {
  const options = {hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone};
  if (withDay) Object.assign(options, {weekday: "short", day: "numeric", month: "short"});
  return new Intl.DateTimeFormat(page.lang, options).format(date);
}

function renderClock() {
  if (!page.state) return;
  const clock = page.state.clock;
  const now = new Date(Date.now() + page.skew);
  const zones = new Map();
  const posts = new Map(page.state.posts.map((p) => [p.code, p]));
  const mainPost = posts.get(clock.post);
  if (mainPost) zones.set(mainPost.zone, mainPost.name);
  for (const entry of page.phones.values()) {
    const post = posts.get(entry.phone.post);
    if (post && !zones.has(post.zone)) zones.set(post.zone, post.name);
  }
  const parts = [];
  let first = true;
  for (const [zone, name] of zones) {
    parts.push(`${name} ${formatTime(now, zone, first)}`);
    first = false;
  }
  const el = document.getElementById("clock");
  el.textContent = "🕗 " + parts.join(" · ");
  el.dataset.now = now.toISOString();
  el.dataset.offset = String(clock.offset_seconds);
  const change = new Date(clock.next_shift_change);
  document.getElementById("shift").textContent = t("shift_to", {time: formatTime(change, clock.zone, false)});
}

function renderScenarioPicker() {
  const select = document.getElementById("scenario-select");
  const current = (page.state.scenario && page.state.scenario.id) || select.value;
  select.replaceChildren();
  for (const scenario of page.state.scenarios) {
    const option = document.createElement("option");
    option.value = scenario.id;
    option.textContent = localized(scenario.title);
    option.title = localized(scenario.summary);
    select.append(option);
  }
  if (current) select.value = current;
}

function renderTrainer(scenario) {
  const panel = document.getElementById("trainer");
  panel.hidden = !scenario || scenario.total === 0;
  if (panel.hidden) {
    document.getElementById("next-step").disabled = true;
    fitPhones();
    return;
  }
  document.getElementById("scenario-title").textContent = localized(scenario.title);
  document.getElementById("scenario-summary").textContent = scenario.index === 0 ? typeset(localized(scenario.summary)) : "";
  document.getElementById("scenario-progress").textContent = t("step_of", {n: scenario.index, total: scenario.total});
  panel.dataset.index = String(scenario.index);
  panel.dataset.done = String(scenario.done);
  const last = scenario.last;
  const say = document.getElementById("scenario-say");
  say.textContent = typeset(last ? (last.say || "") : t("ready"));
  panel.dataset.playing = String(Boolean(last && last.playing));
  const checks = document.getElementById("scenario-checks");
  checks.replaceChildren();
  for (const check of (last && last.checks) || []) {
    const item = document.createElement("li");
    item.className = check.ok ? "ok" : "ko";
    item.textContent = typeset((check.ok ? "✓ " : "✗ ") + t(check.sees ? "check_sees" : "check_not_sees", {who: check.who, text: check.text}));
    checks.append(item);
  }
  const error = document.getElementById("scenario-error");
  error.hidden = !(last && last.error);
  error.textContent = last && last.error ? t("error", {text: last.error}) : "";
  const next = document.getElementById("scenario-next");
  next.textContent = typeset(scenario.done ? t("finished") : (scenario.next_say && last ? t("next_is", {say: scenario.next_say}) : (scenario.next_say || "")));
  document.getElementById("next-step").disabled = scenario.done || (page.state && page.state.busy);
  fitPhones();
}

// ----- phones ---------------------------------------------------------------------------------------------

function serviceName(code) {
  const service = page.state.services.find((s) => s.code === code);
  return service ? localized(service.name) : code;
}

function postName(code) {
  const post = page.state.posts.find((p) => p.code === code);
  return post ? post.name : code;
}

function addPhone(phone) {
  const node = document.getElementById("phone-template").content.firstElementChild.cloneNode(true);
  node.dataset.phoneId = String(phone.id);
  node.dataset.name = phone.name;
  node.dataset.language = phone.language;
  // `stick`: the chat follows new messages and edits unless the reader scrolled up to read older ones.
  const entry = {phone, messages: new Map(), el: node, keyboardOpen: true, stick: true};
  page.phones.set(phone.id, entry);
  renderHead(entry);
  for (const el of node.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of node.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  const form = node.querySelector(".composer");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = form.elements.text;
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    api(`/api/phones/${phone.id}/send`, {text}).catch(() => {});
  });
  node.querySelector(".attach").addEventListener("click", () => {
    const input = form.elements.text;
    const caption = input.value.trim();
    input.value = "";
    api(`/api/phones/${phone.id}/photo`, {caption}).catch(() => {});
  });
  node.querySelector(".locate").addEventListener("click", () => {
    api(`/api/phones/${phone.id}/location`, {}).catch(() => {});
  });
  const wrap = node.querySelector(".chat-wrap");
  // Only the reader lets go of the end (scrolling up to read); our own scrolls and growth never do.
  for (const kind of ["wheel", "touchmove", "pointerdown", "keydown"]) {
    wrap.addEventListener(kind, () => { entry.touched = Date.now(); }, {passive: true});
  }
  wrap.addEventListener("scroll", () => {
    if (isAtEnd(entry)) entry.stick = true;
    else if (Date.now() - (entry.touched || 0) < 1000) entry.stick = false;
  }, {passive: true});
  // Photos, fonts and edits change the chat's height after it is drawn: a reader at the end stays there.
  const follow = new ResizeObserver(() => { if (entry.stick) scrollToEnd(entry); });
  follow.observe(node.querySelector(".chat"));
  follow.observe(wrap);  // the keyboard or the pinned bar appearing makes the chat's window shorter
  node.querySelector(".keyboard-toggle").addEventListener("click", () => {
    entry.keyboardOpen = !entry.keyboardOpen;
    renderChrome(entry);
  });
  node.querySelector(".alert-box button").addEventListener("click", () => {
    node.querySelector(".alert-box").hidden = true;
  });
  node.querySelector(".pinned").addEventListener("click", () => {
    const id = node.querySelector(".pinned").dataset.messageId;
    node.querySelector(`li[data-message-id="${id}"]`)?.scrollIntoView({block: "center", behavior: "smooth"});
  });
  document.getElementById("phones").append(node);
  for (const message of phone.messages) upsertMessage(entry, message, true);
  renderChrome(entry);
  scrollToEnd(entry);
}

function renderHead(entry) {
  const {phone, el} = entry;
  el.querySelector(".avatar").textContent = phone.name.slice(0, 1).toUpperCase();
  el.querySelector(".avatar").style.setProperty("--hue", String((phone.id * 67) % 360));
  el.querySelector(".who").textContent = phone.name;
  const role = t(`role_${phone.role}`);
  const parts = [phone.service ? serviceName(phone.service) : null, role, phone.post ? postName(phone.post) : null];
  el.querySelector(".what").textContent = parts.filter(Boolean).join(" · ");
  el.querySelector(".flag").textContent = phone.language.toUpperCase();
}

function renderEmpty() {
  const main = document.getElementById("phones");
  main.dataset.empty = String(page.phones.size === 0);
  main.dataset.emptyText = t("no_phones");
}

function upsertMessage(entry, message, initial) {
  if (message.deleted) {
    entry.messages.delete(message.id);
    entry.el.querySelector(`li[data-message-id="${message.id}"]`)?.remove();
    return;
  }
  const chat = entry.el.querySelector(".chat");
  const fresh = !entry.messages.has(message.id);
  entry.messages.set(message.id, message);
  const node = renderMessage(entry, message);
  const old = chat.querySelector(`li[data-message-id="${message.id}"]`);
  if (old) {
    old.replaceWith(node);
  } else {
    // Keep the chat in message order even if events arrive out of order.
    const after = [...chat.children].find((li) => Number(li.dataset.messageId) > message.id);
    chat.insertBefore(node, after || null);
  }
  if (message.from === "user" && fresh && !initial) entry.keyboardOpen = false;
  if (message.reply_keyboard && fresh && !initial) entry.keyboardOpen = true;
  if (!initial) {
    renderChrome(entry);
    if (message.from === "user" && fresh) entry.stick = true;
    if (entry.stick) scrollToEnd(entry);
  }
}

function isAtEnd(entry) {
  const wrap = entry.el.querySelector(".chat-wrap");
  return wrap.scrollHeight - wrap.scrollTop - wrap.clientHeight < 80;
}

function scrollToEnd(entry) {
  const wrap = entry.el.querySelector(".chat-wrap");
  wrap.scrollTop = wrap.scrollHeight;
}

function sorted(entry) {
  return [...entry.messages.values()].sort((a, b) => a.id - b.id);
}

// The pinned bar and the reply keyboard both follow from the chat's messages.
function renderChrome(entry) {
  const messages = sorted(entry);
  const pinned = messages.filter((m) => m.pinned).pop();
  const bar = entry.el.querySelector(".pinned");
  bar.hidden = !pinned;
  if (pinned) {
    bar.dataset.messageId = String(pinned.id);
    bar.querySelector(".pinned-text").textContent = (pinned.text || "").split("\n")[0];
  }
  let keyboard = null;
  let keyboardId = 0;
  for (const message of messages) {
    if (message.from !== "bot") continue;
    if (message.remove_keyboard) { keyboard = null; keyboardId = message.id; }
    if (message.reply_keyboard) { keyboard = message.reply_keyboard; keyboardId = message.id; }
  }
  const usedSince = messages.some((m) => m.from === "user" && m.id > keyboardId);
  // A one-time keyboard folds away once used (the ⌨ button brings it back), as on Telegram.
  const open = keyboard && (!keyboard.one_time || !usedSince || entry.keyboardOpen);
  const toggle = entry.el.querySelector(".keyboard-toggle");
  toggle.hidden = !(keyboard && keyboard.one_time);
  const area = entry.el.querySelector(".reply-keyboard");
  area.replaceChildren();
  area.hidden = !open;
  const input = entry.el.querySelector(".composer input");
  input.placeholder = (keyboard && keyboard.placeholder) || t("message");
  if (!open) return;
  for (const row of keyboard.rows) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) {
      const key = document.createElement("button");
      key.type = "button";
      key.className = "key" + (button.location ? " location" : "");
      key.textContent = button.text;
      key.addEventListener("click", () => {
        if (button.location) api(`/api/phones/${entry.phone.id}/location`, {}).catch(() => {});
        else api(`/api/phones/${entry.phone.id}/send`, {text: button.text}).catch(() => {});
      });
      line.append(key);
    }
    area.append(line);
  }
}

function renderMessage(entry, message) {
  const li = document.createElement("li");
  li.className = `msg ${message.from}`;
  li.dataset.messageId = String(message.id);
  li.dataset.from = message.from;
  if (message.pinned) li.dataset.pinned = "true";
  if (message.edited) li.dataset.edited = "true";
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  if (message.photo) {
    const img = document.createElement("img");
    img.src = message.photo;
    img.alt = t("photo");
    img.className = "photo";
    bubble.append(img);
    li.classList.add("has-photo");
  }
  if (message.document) {
    const link = document.createElement("a");
    link.className = "document";
    link.href = message.document.url;
    link.download = message.document.name;
    link.textContent = "📄 " + message.document.name;
    bubble.append(link);
  }
  if (message.location) bubble.append(renderLocation(message.location));
  if (message.text) {
    const text = document.createElement("div");
    text.className = "text";
    text.append(renderEntities(message.text, message.entities || []));
    bubble.append(text);
  }
  const meta = document.createElement("div");
  meta.className = "meta";
  const bits = [];
  if (message.invite) bits.push("🔗 " + t("invite"));
  if (message.edited) bits.push(t("edited"));
  if (message.silent) bits.push("🔕");
  if (message.date) bits.push(formatTime(new Date(message.date * 1000), entry.phone.zone || "UTC", false));
  if (message.pinned) bits.push("📌");
  meta.textContent = bits.join(" · ");
  bubble.append(meta);
  li.append(bubble);
  if (message.inline_keyboard && message.inline_keyboard.length) {
    const keyboard = document.createElement("div");
    keyboard.className = "inline-keyboard";
    for (const row of message.inline_keyboard) {
      const line = document.createElement("div");
      line.className = "row";
      for (const button of row) {
        const node = document.createElement(button.url ? "a" : "button");
        node.className = "inline";
        node.textContent = button.text;
        if (button.url) {
          node.href = button.url;
          node.target = "_blank";
          node.rel = "noopener noreferrer";
        } else {
          node.type = "button";
          node.addEventListener("click", () => {
            api(`/api/phones/${entry.phone.id}/tap`, {message_id: message.id, data: button.data}).catch(() => {});
          });
        }
        line.append(node);
      }
      keyboard.append(line);
    }
    li.append(keyboard);
  }
  return li;
}

function renderLocation(location) {
  const box = document.createElement("a");
  box.className = "location-card";
  box.href = `https://www.openstreetmap.org/?mlat=${location.latitude}&mlon=${location.longitude}#map=15/${location.latitude}/${location.longitude}`;
  box.target = "_blank";
  box.rel = "noopener noreferrer";
  const pin = document.createElement("span");
  pin.className = "pin";
  pin.textContent = "📍";
  const label = document.createElement("span");
  label.className = "coords";
  label.textContent = `${t("location")} ${location.latitude.toFixed(4)}, ${location.longitude.toFixed(4)}`;
  box.append(pin, label);
  return box;
}

// Telegram entities (UTF-16 offsets, like JavaScript strings) to DOM, nested as they were written.
function renderEntities(text, entities) {
  const fragment = document.createDocumentFragment();
  const list = [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
  build(fragment, text, 0, text.length, list);
  return fragment;
}

function build(parent, text, start, end, list) {
  let position = start;
  let i = 0;
  while (i < list.length) {
    const entity = list[i];
    const stop = Math.min(entity.offset + entity.length, end);
    let j = i + 1;
    while (j < list.length && list[j].offset < stop) j++;
    if (entity.offset > position) parent.append(text.slice(position, entity.offset));
    const node = elementFor(entity, text.slice(entity.offset, stop));
    build(node, text, Math.max(entity.offset, position), stop, list.slice(i + 1, j));
    parent.append(node);
    position = Math.max(position, stop);
    i = j;
  }
  if (end > position) parent.append(text.slice(position, end));
}

function elementFor(entity, content) {
  const tags = {bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre", blockquote: "blockquote", expandable_blockquote: "blockquote"};
  if (tags[entity.type]) return document.createElement(tags[entity.type]);
  if (entity.type === "text_link" || entity.type === "url") {
    const link = document.createElement("a");
    const href = entity.type === "url" ? content : entity.url;
    if (/^(https?:|tg:)/i.test(href || "")) link.href = href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    return link;
  }
  const span = document.createElement("span");
  span.className = entity.type.replace(/_/g, "-");
  if (entity.type === "spoiler") span.addEventListener("click", () => span.classList.add("revealed"));
  return span;
}

function toast(entry, text, alert) {
  if (alert) {
    const box = entry.el.querySelector(".alert-box");
    box.querySelector("p").textContent = text;
    box.hidden = false;
    entry.el.dataset.lastToast = text;
    return;
  }
  const node = entry.el.querySelector(".toast");
  node.textContent = text;
  entry.el.dataset.lastToast = text;  // stays after the toast fades: what the phone was last told
  node.hidden = false;
  clearTimeout(entry.toastTimer);
  entry.toastTimer = setTimeout(() => { node.hidden = true; }, 3500);
}

// ----- the add-phone dialog -------------------------------------------------------------------------------

function fillServices(form) {
  const post = page.state.posts.find((p) => p.code === form.elements.post.value);
  const select = form.elements.service;
  const role = form.elements.role.value;
  select.replaceChildren();
  if (role === "chief") {
    const none = document.createElement("option");
    none.value = "";
    none.textContent = t("no_service");
    select.append(none);
  }
  for (const code of post ? post.services : []) {
    const option = document.createElement("option");
    option.value = code;
    option.textContent = serviceName(code);
    select.append(option);
  }
}

function openAddDialog() {
  const dialog = document.getElementById("add-dialog");
  const form = document.getElementById("add-form");
  form.elements.language.value = page.lang;
  const posts = form.elements.post;
  posts.replaceChildren();
  for (const post of page.state.posts) {
    const option = document.createElement("option");
    option.value = post.code;
    option.textContent = post.name;
    posts.append(option);
  }
  posts.value = page.state.clock.post;
  syncRole(form);
  document.getElementById("add-error").hidden = true;
  dialog.showModal();
  form.elements.name.focus();
}

function syncRole(form) {
  const global = form.elements.role.value === "coordinator";
  form.querySelector(".post-field").hidden = global;
  form.querySelector(".service-field").hidden = global;
  fillServices(form);
}

async function submitAdd(event) {
  event.preventDefault();
  const form = event.target;
  const role = form.elements.role.value;
  const global = !ROLES.slice(0, 2).includes(role);
  const body = {
    name: form.elements.name.value,
    language: form.elements.language.value,
    role,
    post: global ? null : form.elements.post.value,
    service: global ? null : (form.elements.service.value || null),
  };
  try {
    await api("/api/phones", body);
    form.reset();
    document.getElementById("add-dialog").close();
  } catch (error) {
    const message = document.getElementById("add-error");
    message.textContent = error.message;
    message.hidden = false;
  }
}

// ----- start ----------------------------------------------------------------------------------------------

async function main() {
  page.catalog = await (await fetch("/static/messages.json")).json();
  const saved = localStorage.getItem("sandbox.lang");
  const query = new URLSearchParams(location.search);
  setLanguage(query.get("lang") || saved || (navigator.language || "fr").slice(0, 2));
  setScale(Number(query.get("scale") || localStorage.getItem("sandbox.scale") || 1));
  document.querySelectorAll("[data-lang]").forEach((b) => b.addEventListener("click", () => setLanguage(b.dataset.lang)));
  document.getElementById("smaller").addEventListener("click", () => setScale(page.scale - 0.1));
  document.getElementById("larger").addEventListener("click", () => setScale(page.scale + 0.1));
  document.getElementById("plus15").addEventListener("click", () => api("/api/clock", {to: "+15m"}).catch(() => {}));
  document.getElementById("shift").addEventListener("click", () => api("/api/clock", {to: "shift"}).catch(() => {}));
  document.getElementById("load").addEventListener("click", () => {
    const id = document.getElementById("scenario-select").value;
    api("/api/scenario", {id, language: page.lang}).catch(() => {});
  });
  document.getElementById("next-step").addEventListener("click", () => api("/api/scenario/next", {}).catch(() => {}));
  document.getElementById("add-phone").addEventListener("click", openAddDialog);
  document.getElementById("add-cancel").addEventListener("click", () => document.getElementById("add-dialog").close());
  const form = document.getElementById("add-form");
  form.addEventListener("submit", submitAdd);
  form.elements.post.addEventListener("change", () => fillServices(form));
  form.elements.role.addEventListener("change", () => syncRole(form));
  window.addEventListener("resize", fitPhones);
  new ResizeObserver(fitPhones).observe(document.querySelector(".bar"));
  setInterval(renderClock, 1000);
  connect();
}

main();
