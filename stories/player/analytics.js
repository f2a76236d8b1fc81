// The audience page: GET /v1/analytics (docs/analytics.md) drawn as tables
// and bars; #st_... shows one story's funnel and passages. Uses the API key
// the player keeps in sessionStorage.
"use strict";

const $ = (id) => document.getElementById(id);
const pct = (x) => (100 * x).toFixed(0) + "%";

function cell(row, text) {
  const td = document.createElement("td");
  if (text instanceof Node) td.appendChild(text); else td.textContent = text;
  row.appendChild(td);
  return td;
}

function bar(share, label) {
  const b = document.createElement("span");
  b.className = "bar";
  b.style.width = Math.max(2, 100 * share) + "%";
  b.title = label;
  b.textContent = label;
  return b;
}

async function load(path) {
  const key = sessionStorage.getItem("plotforge-key");
  const res = await fetch(path, { headers: key ? { Authorization: "Bearer " + key } : {} });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error(data && data.error ? data.error.message : String(res.status));
  return data;
}

function showAll(r) {
  const body = $("stories-table").tBodies[0];
  body.replaceChildren();
  for (const s of r.stories) {
    const row = body.insertRow();
    const a = document.createElement("a");
    a.href = "#" + s.id;
    a.textContent = s.title || s.id;
    cell(row, a);
    cell(row, s.viewers);
    cell(row, pct(s.completion_rate));
    cell(row, s.distinct_paths);
    cell(row, s.path_entropy_bits.toFixed(2));
  }
  const prefs = $("preferences").tBodies[0];
  prefs.replaceChildren();
  for (const [kind, values] of Object.entries(r.preferences)) {
    for (const [value, x] of Object.entries(values)) {
      const row = prefs.insertRow();
      cell(row, kind + " = " + value);
      cell(row, x.offered);
      cell(row, x.chosen);
      cell(row, x.lift.toFixed(2));
    }
  }
}

function showOne(s) {
  $("one-title").textContent = s.title || s.id;
  $("one-summary").textContent = s.viewers + " viewers; " + pct(s.completion_rate) + " reached an end; " +
      s.distinct_paths + " distinct paths (" + s.path_entropy_bits.toFixed(2) + " bits)";
  const byId = new Map(s.passages.map((p) => [p.id, p]));
  const funnel = $("funnel");
  funnel.replaceChildren();
  const top = Math.max(1, s.funnel[0] || 1);
  s.most_travelled_path.forEach((id, i) => {
    const row = document.createElement("div");
    row.className = "funnel-step";
    row.appendChild(bar(s.funnel[i] / top, "passage " + id + ": " + s.funnel[i] + " viewers, drop-off " +
                                                pct(byId.get(id).dropoff)));
    funnel.appendChild(row);
  });
  const body = $("passages").tBodies[0];
  body.replaceChildren();
  for (const p of s.passages) {
    const row = body.insertRow();
    cell(row, p.id + (p.text ? ": " + p.text.slice(0, 40) : ""));
    cell(row, p.visits);
    cell(row, p.choices);
    cell(row, pct(p.dropoff));
    cell(row, p.median_seconds < 0 ? "–" : p.median_seconds.toFixed(1));
    const shares = document.createElement("div");
    for (const c of p.children) {
      if (c.choices > 0) shares.appendChild(bar(c.share, c.id + ": " + pct(c.share)));
    }
    cell(row, shares);
  }
}

async function route() {
  const id = location.hash.slice(1);
  try {
    if (id.startsWith("st_")) {
      const r = await load("/v1/analytics/stories/" + id);
      showOne(r.stories[0]);
      $("overview").hidden = true;
      $("one").hidden = false;
    } else {
      showAll(await load("/v1/analytics"));
      $("overview").hidden = false;
      $("one").hidden = true;
    }
    $("status").textContent = "";
  } catch (e) {
    $("status").textContent = "Error: " + e.message + (/key/i.test(e.message) ? " (enter the API key above)" : "");
  }
}

$("api-key").value = sessionStorage.getItem("plotforge-key") || "";
$("api-key").addEventListener("change", () => {
  sessionStorage.setItem("plotforge-key", $("api-key").value);
  route();
});
window.addEventListener("hashchange", route);
route();
