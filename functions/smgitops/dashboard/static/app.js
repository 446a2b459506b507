"use strict";
// smgitops dashboard: routes by location.hash, polls the JSON API every 2 s (no reload).
const POLL_MS = 2000;
const app = document.getElementById("app");
const token = (document.querySelector('meta[name="smgitops-token"]') || {}).content || "";
let timer = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  }
  return node;
}

function when(epoch) {
  return new Date(epoch * 1000).toISOString().replace("T", " ").slice(0, 19);
}

function phase(name) { return el("span", { class: "phase " + name, "data-phase": name }, name); }

function weights(list, active) {
  // a candidate at 0 % is shown while its rollout runs, not once it has left the endpoint
  return list.filter(v => v.weight > 0 || (v.label === "candidate" && active)).map(v =>
    el("div", { class: "weight", "data-variant": v.name, "data-weight": String(v.weight) },
      el("span", { class: "label" }, v.label || "variant"), " ", v.name, " ", v.weight + " %"));
}

async function getJSON(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error((await response.json()).error || response.statusText);
  return response.json();
}

function stamp() {
  document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
}

async function endpointsPage() {
  const rows = await getJSON("/api/endpoints");
  const table = el("table", { id: "endpoints" },
    el("tr", {}, ["endpoint", "phase", "step", "weights", "owner", "commit", "drift", "reason"].map(h => el("th", {}, h))),
    rows.map(r => el("tr", { "data-endpoint": r.endpoint },
      el("td", {}, el("a", { href: "#/e/" + r.endpoint }, r.endpoint)),
      el("td", {}, phase(r.phase)), el("td", {}, r.step), el("td", {}, weights(r.weights, r.active)),
      el("td", {}, r.owner), el("td", {}, el("code", {}, r.commit.slice(0, 12))),
      el("td", {}, r.drift), el("td", { class: "reason" }, r.reason))));
  app.replaceChildren(el("h1", {}, "Endpoints"),
    rows.length ? table : el("p", {}, "No endpoint managed yet: push a declaration."));
}

async function act(name, action, full) {
  const response = await fetch(`/api/endpoints/${name}/${action}`, {
    method: "POST", headers: { "Content-Type": "application/json", "X-Smgitops-Token": token },
    body: JSON.stringify({ full: !!full }),
  });
  const answer = await response.json();
  document.getElementById("message").textContent =
    response.ok ? `${action}: ${answer.phase} ${answer.reason || ""}` : `${action} refused: ${answer.error}`;
  render();
}

async function rolloutPage(name) {
  const [view, svg] = await Promise.all([
    getJSON(`/api/endpoints/${name}`),
    fetch(`/api/endpoints/${name}/chart.svg`, { cache: "no-store" }).then(r => r.text()),
  ]);
  const facts = [
    ["phase", phase(view.phase)], ["strategy", view.strategy], ["step", view.step],
    ["weights", weights(view.weights, view.active)], ["bake left", view.bakeLeft],
    ["checks", `${view.checks}; ${view.failedChecks}/${view.maxFailedChecks} failed`],
    ["commit", el("code", {}, view.commit)], ["owner", view.owner], ["drift", view.drift],
    ["reason", el("span", { id: "reason" }, view.reason)],
  ];
  const chart = el("div", { id: "chart" });
  chart.innerHTML = svg;  // our own SVG: every text in it is escaped by the server
  const events = el("table", { id: "events" },
    el("tr", {}, ["at (UTC)", "phase", "candidate", "what happened"].map(h => el("th", {}, h))),
    view.points.slice().reverse().map(p => el("tr", {},
      el("td", {}, when(p.at)), el("td", {}, phase(p.phase)), el("td", {}, p.weight + " %"),
      el("td", {}, p.event || p.reason,
        p.marks.filter(m => m.kind !== "step").map(m =>
          el("div", { class: m.ok === false ? "bad" : m.ok ? "ok" : "" }, `${m.kind}: ${m.label}`))))));
  const actions = token && view.active ? el("p", {},
    el("button", { id: "promote", onclick: () => act(name, "promote", false) }, "Promote"),
    el("button", { id: "promote-full", onclick: () => act(name, "promote", true) }, "Promote fully"),
    el("button", { id: "abort", class: "danger", onclick: () => act(name, "abort") }, "Abort")) : "";
  app.replaceChildren(
    el("h1", { "data-endpoint": name }, name),
    el("p", {}, el("a", { href: `#/h/${name}` }, "history"), " · ",
      el("a", { href: `/report/${name}` }, "audit report of this rollout")),
    actions, el("div", { id: "message" }),
    el("table", { class: "facts" }, facts.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v)))),
    el("h2", {}, "Traffic on the candidate"), chart, el("h2", {}, "Transitions"), events);
}

async function historyPage(name) {
  const rows = await getJSON(`/api/endpoints/${name}/history`);
  app.replaceChildren(el("h1", {}, `${name}: history`),
    el("table", { id: "history" },
      el("tr", {}, ["commit", "started (UTC)", "time", "outcome", "reason", ""].map(h => el("th", {}, h))),
      rows.map(r => el("tr", {}, el("td", {}, el("code", {}, r.commit.slice(0, 12))),
        el("td", {}, when(r.startedAt)), el("td", {}, r.duration), el("td", {}, phase(r.outcome)),
        el("td", { class: "reason" }, r.reason),
        el("td", {}, el("a", { href: `/report/${name}?rollout=${encodeURIComponent(r.rolloutId)}` }, "report"))))));
}

async function render() {
  const [, kind, name] = (location.hash || "#/").split("/");
  try {
    if (kind === "e" && name) await rolloutPage(name);
    else if (kind === "h" && name) await historyPage(name);
    else await endpointsPage();
    stamp();
  } catch (error) {
    app.replaceChildren(el("p", { class: "bad" }, String(error.message || error)));
  }
}

function start() {
  clearInterval(timer);
  render();
  timer = setInterval(render, POLL_MS);
}

window.addEventListener("hashchange", start);
start();
