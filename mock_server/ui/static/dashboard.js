// The dashboard's only script. Every change goes through the control API (/_mock/...) of the
// page's world; the page then reloads to show the world as the server has it. The admin
// token, when the server has one, travels in the login cookie.
"use strict";

const ROOT = document.body.dataset.root || "";

function flash(text, ok) {
  const box = document.getElementById("flash");
  if (!box) return;
  box.textContent = text;
  box.className = ok ? "ok" : "error";
  box.hidden = false;
}

async function call(spec, body) {
  const [method, path] = spec.split(" ");
  const options = {method, credentials: "same-origin", headers: {}};
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const resp = await fetch(ROOT + "/_mock" + path, options);
  let data = null;
  try { data = await resp.json(); } catch (e) { /* an empty answer */ }
  if (!resp.ok) {
    const why = data && data.error ? data.error : resp.status + " " + resp.statusText;
    const problems = data && data.problems ? ": " + data.problems.join("; ") : "";
    const code = data && data.code ? " (" + data.code + ")" : "";
    throw new Error(method + " /_mock" + path + ": " + why + code + problems);
  }
  return data;
}

async function act(element, body) {
  if (element.dataset.confirm && !window.confirm(element.dataset.confirm)) return;
  try {
    await call(element.dataset.call, body);
    window.location.reload();
  } catch (err) {
    flash(err.message, false);
  }
}

// A form's fields as a JSON body: empty fields are left out; data-json fields are parsed.
function formBody(form, submitter) {
  if (form.dataset.build === "rule") return buildRule(form);
  const body = {};
  for (const [name, value] of new FormData(form, submitter)) {
    if (value === "") continue;
    const field = form.elements[name];
    const typed = (submitter && submitter.name === name ? submitter : field).hasAttribute?.("data-json");
    body[name] = typed ? JSON.parse(value) : value;
  }
  return form.dataset.wrap ? {[form.dataset.wrap]: body} : body;
}

function buildRule(form) {
  const f = Object.fromEntries(new FormData(form));
  const match = {};
  if (f.endpoint) match.endpoint = f.endpoint.trim();
  if (f.method) match.method = f.method;
  if (f.uid) match.uid = f.uid.trim();
  if (f.nth) match.nth = Number(f.nth);
  const action = {};
  if (f.kind === "code" && f.code) action.code = Number(f.code);
  if (f.kind === "fault") action.fault = f.fault;
  if (f.delay) action.delay = f.delay.trim();
  const rule = {match, action};
  if (f.times) rule.times = Number(f.times);
  return rule;
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-call]");
  if (button) {
    act(button, button.dataset.body ? JSON.parse(button.dataset.body) : undefined);
    return;
  }
  const copy = event.target.closest("button[data-copy]");
  if (copy) copyText(copy);
});

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-call]");
  if (!form) return;
  event.preventDefault();
  act(form, formBody(form, event.submitter));
});

async function copyText(button) {
  const text = button.dataset.copy;
  try {
    await navigator.clipboard.writeText(text);
  } catch (err) {  // not a secure context (a LAN address over http): select it instead
    const area = Object.assign(document.createElement("textarea"), {value: text});
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  button.textContent = "copied";
  setTimeout(() => { button.textContent = "copy"; }, 1500);
}

const switcher = document.getElementById("world-switcher");
if (switcher) {
  switcher.addEventListener("change", () => {
    const page = window.location.pathname.split("/_mock/ui/")[1] || "";
    const prefix = switcher.value === "default" ? "" : "/s/" + encodeURIComponent(switcher.value);
    window.location.href = prefix + "/_mock/ui/" + (page === "worlds" ? "" : page);
  });
}

const ruleForm = document.getElementById("rule-form");
if (ruleForm) {
  const preview = document.getElementById("rule-preview");
  const show = () => { preview.textContent = JSON.stringify(buildRule(ruleForm), null, 2); };
  ruleForm.addEventListener("input", show);
  show();
}

// ---- the live journal --------------------------------------------------------------------

const journal = document.getElementById("journal");
const MAX_ROWS = 500;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;  // never as HTML
  return node;
}

function pretty(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
}

function entryRow(entry) {
  const row = el("details", "entry");
  row.dataset.endpoint = entry.endpoint;
  row.dataset.path = entry.path;
  row.dataset.code = entry.code === null ? "" : String(entry.code);
  row.dataset.uid = entry.uid || "";
  const summary = el("summary");
  summary.append(
    el("span", "time", new Date(entry.time).toISOString().replace("T", " ").slice(0, 23)),
    el("span", "method", entry.method),
    el("span", "path", entry.path),
    el("span", "badge " + (entry.code === 200 ? "active" : "ended"), entry.code === null ? String(entry.status) : String(entry.code)),
    el("span", "uid", entry.uid || ""),
  );
  if (entry.rule) summary.append(el("span", "badge rule", "rule " + entry.rule));
  if (entry.warnings && entry.warnings.length) summary.append(el("span", "badge warning", "warning"));
  const body = el("div", "entry-body");
  body.append(el("h4", null, "parameters"), el("pre", null, JSON.stringify(entry.params, null, 2)));
  body.append(el("h4", null, "answer (HTTP " + entry.status + ")"), el("pre", "answer", entry.answer === null ? "(no body)" : pretty(entry.answer)));
  body.append(el("h4", null, "rule"), el("p", null, entry.rule || "none"));
  if (entry.warnings && entry.warnings.length) {
    const list = el("ul", "warnings");
    entry.warnings.forEach((w) => list.append(el("li", null, w)));
    body.append(el("h4", null, "warnings"), list);
  }
  row.append(summary, body);
  return row;
}

function applyFilter(row) {
  const f = Object.fromEntries(new FormData(document.getElementById("journal-filter")));
  const endpoint = (f.endpoint || "").trim();
  const ok = (!endpoint || row.dataset.endpoint === endpoint || row.dataset.path === endpoint)
    && (!f.code || row.dataset.code === f.code.trim())
    && (!f.uid || row.dataset.uid === f.uid.trim());
  row.hidden = !ok;
}

if (journal) {
  const status = document.getElementById("journal-status");
  const empty = document.getElementById("journal-empty");
  const source = new EventSource(journal.dataset.stream);
  source.addEventListener("open", () => { status.textContent = "live"; });
  // A server that cannot keep the answer open ends each one: the browser reconnects.
  source.addEventListener("error", () => { status.textContent = "connecting…"; });
  source.addEventListener("reset", () => { journal.replaceChildren(); empty.hidden = false; });
  source.addEventListener("request", (event) => {
    const row = entryRow(JSON.parse(event.data));
    applyFilter(row);
    journal.prepend(row);  // newest first
    empty.hidden = true;
    while (journal.childElementCount > MAX_ROWS) journal.lastElementChild.remove();
  });
  document.getElementById("journal-filter").addEventListener("input", () => {
    journal.querySelectorAll("details.entry").forEach(applyFilter);
  });
}
