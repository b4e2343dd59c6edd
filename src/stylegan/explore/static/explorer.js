// stylegan explore: the page. Plain JavaScript, no build step. Every control change asks the server
// for a new picture; at most one request is in flight and only the newest settings are sent next
// (latest-wins on both sides), so moving a slider never builds a queue.
"use strict";

const $ = (id) => document.getElementById(id);
const client = Math.random().toString(36).slice(2);
const ex = (window.explorer = {
  network: null, wId: null, inFlight: false, pending: false, changedAt: null,
  renders: 0, lastLatencyMs: null, latencies: [], lastError: null, lastResponse: null,
});

function showError(message) {
  ex.lastError = message;
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (e) {
    throw new Error("the explorer server cannot be reached (" + e.message + ")");
  }
  const type = response.headers.get("content-type") || "";
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    if (type.includes("json")) message = (await response.json()).error || message;
    throw new Error(message);
  }
  return type.includes("json") ? response.json() : response.blob();
}

const postJSON = (path, body) =>
  api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

function num(id, fallback = 0) {
  const v = parseFloat($(id).value);
  return Number.isFinite(v) ? v : fallback;
}

function settings() {
  const net = ex.network || {};
  const mix = [...document.querySelectorAll("#mix-layers input:checked")].map((c) => parseInt(c.value, 10));
  return {
    x: num("x"), y: num("y"), w_id: ex.wId, psi: num("psi-num", 1),
    cutoff: $("cutoff-on").checked ? parseInt($("cutoff").value, 10) : null,
    class_idx: net.c_dim ? parseInt($("class").value, 10) : null,
    mix_seed: parseInt($("mix-seed").value, 10) || 0, mix_layers: mix,
    noise_mode: $("noise-mode").value, noise_seed: parseInt($("noise-seed").value, 10) || 0,
    translate_x: net.stylegan3 ? num("tx") : 0, translate_y: net.stylegan3 ? num("ty") : 0,
    rotate: net.stylegan3 ? num("rotate") : 0,
    round_translate: $("round-translate").checked, untransform: $("untransform").checked,
    layer: $("layer").value || null,
    sel_channels: parseInt(document.querySelector("input[name=sel]:checked").value, 10),
    base_channel: parseInt($("channel").value, 10) || 0, normalize: $("normalize").checked, gain_db: num("gain"),
    fft: $("fft").checked, fft_all: $("fft-all").checked, fft_range_db: num("fft-range", 50),
    fft_beta: num("fft-beta", 8), precision: $("precision").value || "fp32",
    direction_id: ex.directionId || null,
    edit_strengths: ex.directionId ? [...document.querySelectorAll("#edit-sliders input")].map((e) => parseFloat(e.value)) : [],
  };
}

function updateLabels() {
  const x = num("x"), y = num("y");
  const whole = Number.isInteger(x) && Number.isInteger(y);
  $("seed-label").textContent = whole ? String(x + y * 100) : "blend of 4";
  $("tx-label").textContent = num("tx").toFixed(3);
  $("ty-label").textContent = num("ty").toFixed(3);
  $("rotate-label").textContent = num("rotate").toFixed(1);
  $("gain-label").textContent = num("gain").toFixed(1);
  $("channel-label").textContent = $("channel").value;
  $("view").classList.toggle("fft", $("fft").checked);
}

// A control changed: remember when (for the latency figure) and ask for a picture.
function changed() {
  updateLabels();
  if (ex.changedAt === null) ex.changedAt = performance.now();
  requestRender();
}

async function requestRender() {
  if (!ex.network) return;
  if (ex.inFlight) { ex.pending = true; return; }
  ex.inFlight = true;
  ex.pending = false;
  $("busy").hidden = false;
  const started = ex.changedAt;
  try {
    const body = await postJSON("/api/render?client=" + client, settings());
    if (!body.superseded) await show(body, started);
  } catch (e) {
    showError(e.message);
  } finally {
    ex.inFlight = false;
    $("busy").hidden = !ex.pending;
    if (ex.pending) requestRender();
  }
}

function show(body, started) {
  return new Promise((resolve) => {
    const img = $("view");
    img.onload = () => {
      if (started !== null && !ex.pending) {
        ex.lastLatencyMs = performance.now() - started;
        ex.latencies.push(ex.lastLatencyMs);
        $("perf-latency").textContent = ex.lastLatencyMs.toFixed(0);
        ex.changedAt = null;
      }
      ex.renders += 1;
      resolve();
    };
    img.onerror = () => resolve();
    img.src = body.image;
    $("download").href = body.image;
    ex.lastResponse = body;
    showError("");
    $("perf-render").textContent = body.render_ms;
    $("perf-total").textContent = body.total_ms;
    $("perf-device").textContent = body.device;
    $("perf-dtype").textContent = body.dtype;
    for (const [k, v] of Object.entries(body.stats)) {
      const cell = $("st-" + k);
      if (cell) cell.textContent = v.toPrecision(4);
    }
    const ch = $("channel");
    ch.max = Math.max(0, body.shape[0] - body.sel_channels);
    $("view-info").textContent = (body.layer || "output image") + "  [" + body.shape.join(", ") + "] " + body.dtype +
      (body.sel_channels === 1 ? "  channel " + body.base_channel : "  channels " + body.base_channel + "-" +
      (body.base_channel + 2));
  });
}

// ------------------------------------------------------------------------------------------ network

function fillNetwork(net, recent) {
  ex.network = net;
  ex.wId = null;
  showDirection(null);
  $("w-row").hidden = true;
  $("network-info").textContent = net.kind + ", " + net.resolution + " px, " + net.num_ws + " ws, w_dim " +
    net.w_dim + (net.c_dim ? ", " + net.c_dim + " classes" : "") + ", " + net.parameters.toLocaleString() +
    " parameters - " + net.path + (net.warning ? " - WARNING: " + net.warning : "");
  $("status").textContent = net.name;
  $("class-row").hidden = !net.c_dim;
  $("class").max = Math.max(0, net.c_dim - 1);
  $("class-range").textContent = net.c_dim ? "0-" + (net.c_dim - 1) : "";
  $("panel-sg3").hidden = !net.stylegan3;
  $("panel-noise").hidden = !net.noise;
  $("cutoff").max = net.num_ws;
  const mix = $("mix-layers");
  mix.innerHTML = "";
  for (let i = 0; i < net.num_ws; i++) {
    const label = document.createElement("label");
    label.innerHTML = '<input type="checkbox" value="' + i + '">' + i;
    mix.appendChild(label);
  }
  const layer = $("layer");
  layer.innerHTML = "";
  for (const l of net.layers) {
    const opt = document.createElement("option");
    opt.value = l.name || "";
    opt.textContent = (l.name || "output image") + "  [" + l.shape.join(", ") + "] " + l.dtype;
    layer.appendChild(opt);
  }
  layer.value = "";
  fillRecent(recent);
  loadPinGates();
}

function fillRecent(recent) {
  const span = $("recent");
  span.innerHTML = "";
  for (const r of recent || []) {
    const a = document.createElement("a");
    a.textContent = r;
    a.onclick = () => { $("path").value = r; openNetwork(); };
    span.appendChild(a);
  }
}

async function openNetwork() {
  $("status").textContent = "opening " + $("path").value + " ...";
  try {
    const body = await postJSON("/api/open", { path: $("path").value });
    fillNetwork(body.network, body.recent);
    showError("");
    changed();
  } catch (e) {
    $("status").textContent = ex.network ? ex.network.name : "Open a network to start.";
    showError(e.message);
  }
}

async function loadPinGates() {
  try {
    const gates = (await api("/api/pin")).gates;
    $("pin-gates").innerHTML = gates.length ? "<b>PIN gates</b> (1 = pixel norm, 0 = instance norm)<br>" +
      gates.map((g) => g.name + ": mean " + g.mean.toFixed(3) + ", min " + g.min.toFixed(3) + ", max " +
      g.max.toFixed(3) + " (" + g.channels + " channels)").join("<br>") : "";
  } catch (e) { /* shown elsewhere */ }
}

// ------------------------------------------------------------------------------------------ actions

async function exportW() {
  try {
    const blob = await postJSON("/api/w/export", settings());
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "w.npz";
    a.click();
  } catch (e) { showError(e.message); }
}

async function importW(event) {
  const file = event.target.files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  try {
    const body = await api("/api/w/import", { method: "POST", body: form });
    ex.wId = body.ids[0];
    $("w-id").textContent = file.name + (body.count > 1 ? " (first of " + body.count + ")" : "");
    $("w-row").hidden = false;
    changed();
  } catch (e) { showError(e.message); }
  event.target.value = "";
}

async function startProjection() {
  const file = $("project-file").files[0];
  if (!file) { showError("choose an image to project first"); return; }
  const form = new FormData();
  form.append("file", file);
  form.append("steps", $("project-steps").value);
  form.append("distance", $("project-distance").value);
  form.append("w_plus", $("project-wplus").checked ? "true" : "false");
  if (ex.network && ex.network.c_dim) form.append("class_idx", $("class").value);
  try {
    await api("/api/project", { method: "POST", body: form });
    showError("");
    pollProjection(file.name);
  } catch (e) { showError(e.message); }
}

async function pollProjection(name) {
  let status;
  try { status = await api("/api/project"); } catch (e) { showError(e.message); return; }
  ex.projection = status;
  const line = $("project-status");
  if (status.state === "running") {
    line.textContent = "projecting " + name + ": step " + status.step + " / " + status.num_steps +
      (status.distance !== null ? ", distance " + status.distance.toFixed(4) : "");
    setTimeout(() => pollProjection(name), 400);
  } else if (status.state === "done") {
    line.textContent = "projected " + name + " in " + status.seconds + " s (distance " +
      (status.distance !== null ? status.distance.toFixed(4) : "-") + ")";
    ex.wId = status.w_id;
    $("w-id").textContent = "projection of " + name;
    $("w-row").hidden = false;
    changed();
  } else if (status.state === "error") {
    line.textContent = "";
    showError(status.error);
  }
}

const MAX_SLIDERS = 16;
function showDirection(info) {
  ex.directionId = info ? info.id : null;
  const box = $("edit-sliders");
  box.innerHTML = "";
  $("edit-reset-row").hidden = !info;
  $("direction-info").textContent = info ? info.method + " direction, " + info.space + " space, " + info.names.length +
    " vectors" + (info.names.length > MAX_SLIDERS ? " (the first " + MAX_SLIDERS + " as sliders)" : "") +
    (info.layers ? ", layers " + info.layers.join(",") : "") + (info.warning ? " - " + info.warning : "") : "";
  if (!info) return;
  info.names.slice(0, MAX_SLIDERS).forEach((name, i) => {
    const row = document.createElement("div");
    row.className = "row";
    row.innerHTML = '<label>' + name + ' <input type="range" min="-10" max="10" step="0.1" value="0" id="edit-' + i +
      '"></label><span id="edit-' + i + '-label">0</span>';
    box.appendChild(row);
  });
}

async function directionDone(request) {
  $("direction-info").textContent = "working ...";
  try {
    showDirection(await request);
    showError("");
    changed();
  } catch (e) { $("direction-info").textContent = ""; showError(e.message); }
}

function uploadDirection(event) {
  const file = event.target.files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  directionDone(api("/api/directions/upload", { method: "POST", body: form }));
  event.target.value = "";
}

function computeDirection() {
  directionDone(postJSON("/api/directions/compute",
    { method: $("direction-method").value, components: parseInt($("direction-components").value, 10) || 8 }));
}

async function saveImage() {
  try {
    const body = await postJSON("/api/save", settings());
    const a = $("saved-link");
    a.href = body.url;
    a.textContent = "saved " + body.path;
    showError("");
  } catch (e) { showError(e.message); }
}

async function recordVideo() {
  const kind = $("video-kind").value;
  const speeds = { latent: num("anim-speed", 0.25), translate: 0.1, rotate: 0.1 };
  $("video-link").textContent = "recording ...";
  try {
    const body = await postJSON("/api/video", {
      settings: settings(), kind, frames: parseInt($("video-frames").value, 10) || 60,
      fps: num("video-fps", 30), speed: speeds[kind],
    });
    $("video-link").href = body.url;
    $("video-link").textContent = "video " + body.path + " (" + body.seconds + " s)";
    showError("");
  } catch (e) { $("video-link").textContent = ""; showError(e.message); }
}

async function analyse() {
  $("artifact-info").textContent = "analysing ...";
  try {
    const body = await postJSON("/api/artifacts", settings());
    const r = body.region;
    $("artifact-info").textContent = body.layer + ": " + (r.is_artifact ? "ARTIFACT" : "no artifact") +
      ", score " + r.score.toFixed(2) + ", area " + r.area + " px (" + (100 * r.area_fraction).toFixed(1) +
      "%), peak (y, x) " + r.peak.join(", ") + ", channels showing it " + (100 * r.channel_consistency).toFixed(0) + "%";
    $("energy-figure").src = body.energy_figure;
    $("profile-figure").src = body.profile_figure;
    showError("");
  } catch (e) { $("artifact-info").textContent = ""; showError(e.message); }
}

function applyPreset(name) {
  const boxes = [...document.querySelectorAll("#mix-layers input")];
  const presets = (ex.network && ex.network.presets) || {};
  const chosen = name === "all" ? boxes.map((_, i) => i) : name === "none" ? [] : presets[name] || [];
  boxes.forEach((b, i) => { b.checked = chosen.includes(i); });
  changed();
}

// ------------------------------------------------------------------------------------------ drag, animation

let drag = null;
function startDrag(e) {
  drag = { x: e.clientX, y: e.clientY };
  e.preventDefault();
}
function moveDrag(e) {
  if (!drag || !ex.network) return;
  const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
  drag = { x: e.clientX, y: e.clientY };
  const size = $("view").clientHeight || 256;
  if (ex.network.stylegan3 && $("drag-translate").checked) {
    $("tx").value = (num("tx") + dx / size).toFixed(4);
    $("ty").value = (num("ty") + dy / size).toFixed(4);
  } else {
    $("x").value = +(num("x") + dx / 100).toFixed(3);
    $("y").value = +(num("y") + dy / 100).toFixed(3);
  }
  changed();
}

let lastFrame = null;
function animate(now) {
  const dt = lastFrame === null ? 0 : (now - lastFrame) / 1000;
  lastFrame = now;
  let moved = false;
  if ($("anim-latent").checked) { $("x").value = +(num("x") + num("anim-speed", 0.25) * dt).toFixed(4); moved = true; }
  if (ex.network && ex.network.stylegan3) {
    if ($("anim-translate").checked) {
      const t = now / 1000 * 0.5;
      $("tx").value = (0.25 * Math.sin(t)).toFixed(4);
      $("ty").value = (0.25 * Math.cos(t * 0.7)).toFixed(4);
      moved = true;
    }
    if ($("anim-rotate").checked) {
      $("rotate").value = (((num("rotate") + 30 * dt + 180) % 360) - 180).toFixed(2);
      moved = true;
    }
  }
  if (moved && !ex.inFlight) changed();
  requestAnimationFrame(animate);
}

// ------------------------------------------------------------------------------------------ wiring

function wire() {
  $("open").onclick = openNetwork;
  $("path").addEventListener("keydown", (e) => { if (e.key === "Enter") openNetwork(); });
  $("psi").addEventListener("input", () => { $("psi-num").value = $("psi").value; changed(); });
  $("psi-num").addEventListener("input", () => { $("psi").value = $("psi-num").value; changed(); });
  const ids = ["x", "y", "class", "cutoff-on", "cutoff", "mix-seed", "noise-mode", "noise-seed", "tx", "ty", "rotate",
    "round-translate", "untransform", "layer", "normalize", "channel", "gain", "fft", "fft-all", "fft-range",
    "fft-beta", "precision"];
  for (const id of ids) $(id).addEventListener("input", changed);
  document.querySelectorAll("input[name=sel]").forEach((r) => r.addEventListener("change", changed));
  $("layer").addEventListener("change", () => { $("channel").value = 0; changed(); });
  $("mix-layers").addEventListener("change", changed);
  document.querySelectorAll("[data-preset]").forEach((b) => { b.onclick = () => applyPreset(b.dataset.preset); });
  $("reset-transform").onclick = () => { $("tx").value = 0; $("ty").value = 0; $("rotate").value = 0; changed(); };
  $("w-export").onclick = exportW;
  $("w-import").addEventListener("change", importW);
  $("w-clear").onclick = () => { ex.wId = null; $("w-row").hidden = true; changed(); };
  $("save").onclick = saveImage;
  $("direction-file").addEventListener("change", uploadDirection);
  $("direction-compute").onclick = computeDirection;
  $("edit-sliders").addEventListener("input", (e) => {
    const label = $(e.target.id + "-label");
    if (label) label.textContent = parseFloat(e.target.value).toFixed(1);
    changed();
  });
  $("edit-reset").onclick = () => {
    document.querySelectorAll("#edit-sliders input").forEach((e) => { e.value = 0; $(e.id + "-label").textContent = "0"; });
    changed();
  };
  $("project").onclick = startProjection;
  $("record").onclick = recordVideo;
  $("analyse").onclick = analyse;
  // pointer events: mouse, pen and touch alike
  $("view").addEventListener("pointerdown", startDrag);
  window.addEventListener("pointermove", moveDrag);
  window.addEventListener("pointerup", () => { drag = null; });
  window.addEventListener("pointercancel", () => { drag = null; });
  requestAnimationFrame(animate);
}

async function init() {
  wire();
  try {
    const state = await api("/api/state");
    const list = $("network-list");
    let found = [];
    try { found = (await api("/api/networks")).networks; } catch (e) { /* the list is a convenience */ }
    for (const name of [...new Set([...state.recent, ...state.shipped, ...found])]) {
      const opt = document.createElement("option");
      opt.value = name;
      list.appendChild(opt);
    }
    const precision = $("precision");
    for (const p of state.precisions) {
      const opt = document.createElement("option");
      opt.value = opt.textContent = p;
      precision.appendChild(opt);
    }
    $("perf-device").textContent = state.device;
    if (state.network) {
      $("path").value = state.network.name;
      fillNetwork(state.network, state.recent);
      changed();
    } else if (state.shipped.length) {
      $("path").value = state.shipped[0];
    }
  } catch (e) { showError(e.message); }
  ex.ready = true;
}

init();
