// The plotforge web player: talks to /v1/stories (docs/stories.md) with
// fetch, reads streamed candidates as Server-Sent Events from the response
// body, keeps the API key in sessionStorage and the open story in the URL
// (#st_...), so a reload finds the story and its path as they were.
"use strict";

const $ = (id) => document.getElementById(id);
let story = null;        // the tree, as GET /v1/stories/{id} returns it
let shownAt = Date.now();  // when the current passage was shown (dwell time)

function headers(json) {
  const h = {};
  const key = sessionStorage.getItem("plotforge-key");
  if (key) h["Authorization"] = "Bearer " + key;
  if (json) h["Content-Type"] = "application/json";
  return h;
}

function status(text) { $("status").textContent = text; }

async function api(method, path, body) {
  const res = await fetch(path, { method, headers: headers(body !== undefined),
                                  body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try { data = JSON.parse(text); } catch (e) { data = text; }
  if (!res.ok) {
    const msg = data && data.error ? data.error.message : res.status + " " + text;
    throw new Error(msg);
  }
  return data;
}

function byId(id) { return story.passages.find((p) => p.id === id); }

function setBusy(busy) {
  for (const b of document.querySelectorAll("#story button")) b.disabled = busy;
}

function renderStory() {
  $("audience").href = "/analytics.html#" + story.id;
  $("library").hidden = true;
  $("story").hidden = false;
  $("story-title").textContent = story.title || "Untitled";
  const text = $("story-text");
  text.replaceChildren();
  for (const id of story.path) {
    const p = byId(id);
    const div = document.createElement("div");
    div.className = "passage " + p.author;
    div.dataset.id = p.id;
    div.textContent = p.text.replace(/^\n+/, "");
    text.appendChild(div);
  }
  renderCandidates(byId(story.current).children.map(byId));
  renderTree();
  $("undo").disabled = story.current === story.root;
  $("edit").disabled = byId(story.current).children.length > 0;
  shownAt = Date.now();
}

function renderCandidates(list) {
  const box = $("candidates");
  box.replaceChildren();
  list.forEach((p, i) => {
    const div = document.createElement("div");
    div.className = "candidate";
    div.dataset.id = p.id;
    const t = document.createElement("div");
    t.className = "candidate-text";
    t.textContent = p.text.replace(/^\n+/, "");
    const b = document.createElement("button");
    b.className = "choice";
    b.textContent = "Choose " + (i + 1);
    b.addEventListener("click", () => choose(p.id));
    div.append(t, b);
    box.appendChild(div);
  });
}

function renderTree() {
  const onPath = new Set(story.path);
  const build = (id) => {
    const p = byId(id);
    const li = document.createElement("li");
    if (onPath.has(id)) li.classList.add("on-path");
    if (id === story.current) li.classList.add("current");
    const b = document.createElement("button");
    b.className = "node";
    b.textContent = "#" + id + " " + (p.text.replace(/\s+/g, " ").slice(0, 60) || "(empty)");
    b.title = p.author + (p.controls.beat ? ", " + p.controls.beat : "");
    li.appendChild(b);
    if (p.children.length) {
      const ul = document.createElement("ul");
      p.children.forEach((c) => ul.appendChild(build(c)));
      li.appendChild(ul);
    }
    return li;
  };
  const ul = document.createElement("ul");
  ul.appendChild(build(story.root));
  $("tree").replaceChildren(ul);
}

async function openStory(id) {
  story = await api("GET", "/v1/stories/" + id);
  if (location.hash !== "#" + id) location.hash = id;
  renderStory();
  status("");
}

async function listStories() {
  const list = await api("GET", "/v1/stories?limit=50");
  const ul = $("stories");
  ul.replaceChildren();
  for (const s of list.data) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "#" + s.id;
    a.textContent = (s.title || "Untitled") + " — " + (s.premise || "").slice(0, 60);
    li.appendChild(a);
    ul.appendChild(li);
  }
}

// POST .../branches or .../retry with stream: true; shows each candidate's
// text as it arrives, then the stored passages as choices.
async function generate(kind) {
  setBusy(true);
  status("Writing…");
  const body = { node: story.current, k: Number($("k").value) || 3, stream: true };
  if ($("next-beat").value) body.beat = $("next-beat").value;
  if ($("next-emotion").value) body.emotion = $("next-emotion").value;
  try {
    const res = await fetch("/v1/stories/" + story.id + "/" + kind,
                            { method: "POST", headers: headers(true), body: JSON.stringify(body) });
    if (!res.ok) {
      const e = await res.json().catch(() => null);
      throw new Error(e && e.error ? e.error.message : "status " + res.status);
    }
    const live = [];
    $("candidates").replaceChildren();
    for (let i = 0; i < body.k; ++i) {
      const div = document.createElement("div");
      div.className = "candidate streaming";
      $("candidates").appendChild(div);
      live.push(div);
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let at;
      while ((at = buf.indexOf("\n\n")) >= 0) {
        const event = buf.slice(0, at);
        buf = buf.slice(at + 2);
        if (!event.startsWith("data: ")) continue;
        const data = event.slice(6);
        if (data === "[DONE]") continue;
        const msg = JSON.parse(data);
        if (msg.error) throw new Error(msg.error.message);
        if (msg.candidate !== undefined) live[msg.candidate].textContent += msg.text;
      }
    }
    await openStory(story.id);
  } catch (e) {
    status("Error: " + e.message);
  } finally {
    setBusy(false);
    if (story) {
      $("undo").disabled = story.current === story.root;
      $("edit").disabled = byId(story.current).children.length > 0;
    }
  }
}

async function choose(id) {
  const seconds = (Date.now() - shownAt) / 1000;
  try {
    await api("POST", "/v1/stories/" + story.id + "/dwell", { node: story.current, seconds });
    story = await api("POST", "/v1/stories/" + story.id + "/choose", { node: id });
    renderStory();
  } catch (e) { status("Error: " + e.message); }
}

async function exportStory(format) {
  const res = await fetch("/v1/stories/" + story.id + "/export?format=" + format, { headers: headers(false) });
  if (!res.ok) { status("Error: export failed (" + res.status + ")"); return; }
  const blob = await res.blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = story.id + "." + format;
  document.body.appendChild(a);
  a.click();
  a.remove();
  status("Exported " + a.download);
}

$("api-key").value = sessionStorage.getItem("plotforge-key") || "";
$("api-key").addEventListener("change", () => {
  sessionStorage.setItem("plotforge-key", $("api-key").value);
  route();
});
$("new-story").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = { title: $("title").value, premise: $("premise").value };
  for (const k of ["genre", "beat", "emotion"]) if ($(k).value) body[k] = $(k).value;
  try {
    story = await api("POST", "/v1/stories", body);
    location.hash = story.id;
    renderStory();
    await generate("branches");
  } catch (e) { status("Error: " + e.message); }
});
$("generate").addEventListener("click", () => generate("branches"));
$("retry").addEventListener("click", () => generate("retry"));
$("undo").addEventListener("click", async () => {
  try { story = await api("POST", "/v1/stories/" + story.id + "/undo", {}); renderStory(); }
  catch (e) { status("Error: " + e.message); }
});
$("edit").addEventListener("click", () => {
  $("edit-text").value = byId(story.current).text;
  $("editor").hidden = false;
  $("edit-text").focus();
});
$("cancel-edit").addEventListener("click", () => { $("editor").hidden = true; });
$("editor").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    story = await api("POST", "/v1/stories/" + story.id + "/edit", { node: story.current, text: $("edit-text").value });
    $("editor").hidden = true;
    renderStory();
  } catch (e) { status("Error: " + e.message); }
});
$("export-twee").addEventListener("click", () => exportStory("twee"));
$("export-fountain").addEventListener("click", () => exportStory("fountain"));
document.addEventListener("keydown", (ev) => {
  if ($("story").hidden || ev.target.matches("input, textarea") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const choices = document.querySelectorAll("#candidates .choice");
  if (/^[1-9]$/.test(ev.key) && choices[Number(ev.key) - 1]) choices[Number(ev.key) - 1].click();
  else if (ev.key === "g") $("generate").click();
  else if (ev.key === "r") $("retry").click();
  else if (ev.key === "u") $("undo").click();
  else if (ev.key === "e") $("edit").click();
});

async function route() {
  const id = location.hash.slice(1);
  try {
    if (id.startsWith("st_")) {
      if (story && story.id === id) return;  // already shown (we set the hash ourselves)
      await openStory(id);
    }
    else {
      story = null;
      $("story").hidden = true;
      $("library").hidden = false;
      await listStories();
    }
  } catch (e) { status("Error: " + e.message); }
}
window.addEventListener("hashchange", route);
route();
