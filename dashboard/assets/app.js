"use strict";
// The page keeps no history: every event carries a panel's whole state, and
// the server sends only the latest one of each panel a slow page missed.

const $ = (sel) => document.querySelector(sel);
const cams = new Map(); // camera id -> {el, canvas, loading, pending}

function colour(id) { return `hsl(${(id * 137.508) % 360}, 85%, 58%)`; }
function esc(s) { return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c])); }
function fmt(n, d = 1) { return Number(n).toFixed(d); }

function connect() {
  const es = new EventSource("/events");
  es.onopen = () => { $("#conn").textContent = "live"; $("#conn").className = "conn up"; };
  es.onerror = () => { $("#conn").textContent = "disconnected"; $("#conn").className = "conn down"; };
  es.addEventListener("camera", (e) => onCamera(JSON.parse(e.data)));
  es.addEventListener("blocks", (e) => renderBlocks(JSON.parse(e.data)));
  es.addEventListener("stages", (e) => renderStages(JSON.parse(e.data)));
}

function camera(id) {
  let c = cams.get(id);
  if (c) return c;
  const box = $("#cameras");
  if (cams.size === 0) box.innerHTML = "";
  const el = document.createElement("div");
  el.className = "cam";
  el.dataset.camera = id;
  el.innerHTML = `<div class="title"><b>${esc(id)}</b><span class="info"></span></div><canvas></canvas>`;
  box.appendChild(el);
  c = { el, canvas: el.querySelector("canvas"), info: el.querySelector(".info"), loading: false, pending: null };
  cams.set(id, c);
  return c;
}

// One image in flight per camera: a panel that arrives meanwhile waits, and
// a newer one replaces it.
function onCamera(p) {
  const c = camera(p.camera);
  if (c.loading) { c.pending = p; return; }
  load(c, p);
}

function load(c, p) {
  c.loading = true;
  const img = new Image();
  const next = () => {
    c.loading = false;
    if (c.pending) { const q = c.pending; c.pending = null; load(c, q); }
  };
  img.onload = () => { draw(c, p, img); next(); };
  img.onerror = next;
  img.src = `/frame/${encodeURIComponent(p.camera)}/${p.seq}`;
}

function draw(c, p, img) {
  const cv = c.canvas;
  if (cv.width !== p.w || cv.height !== p.h) { cv.width = p.w; cv.height = p.h; }
  const g = cv.getContext("2d");
  const s = Math.max(1, p.w / 640); // line and font scale for large frames
  g.drawImage(img, 0, 0, p.w, p.h);
  g.lineWidth = s;
  g.setLineDash([]);
  g.strokeStyle = "rgba(255,255,255,0.55)";
  for (const d of p.dets) g.strokeRect(d[0], d[1], d[2] - d[0], d[3] - d[1]);
  for (const t of p.trails) {
    if ((t.points.length < 2 && !t.counted) || (t.ended && !t.counted)) continue;
    g.strokeStyle = colour(t.id);
    g.lineWidth = 1.5 * s;
    g.beginPath();
    t.points.forEach((pt, i) => (i ? g.lineTo(pt[0], pt[1]) : g.moveTo(pt[0], pt[1])));
    g.stroke();
    if (t.counted && t.points.length) {
      const [x, y] = t.points[t.points.length - 1];
      g.fillStyle = "#4ade80";
      g.font = `bold ${12 * s}px sans-serif`;
      g.fillText(`✓${t.id}`, x + 3 * s, y);
    }
  }
  g.font = `${10 * s}px sans-serif`;
  for (const t of p.tracks) {
    if (t.lost > 0) continue;
    const [x1, y1, x2, y2] = t.box;
    g.strokeStyle = colour(t.id);
    g.lineWidth = (t.confirmed ? 2 : 1) * s;
    g.setLineDash(t.confirmed ? [] : [3 * s, 2 * s]);
    g.strokeRect(x1, y1, x2 - x1, y2 - y1);
    g.setLineDash([]);
    if (t.confirmed) {
      const label = `#${t.id}${t.counts && !t.duplicate ? " ●" : ""}`;
      g.fillStyle = colour(t.id);
      g.fillText(label, x1, Math.max(10 * s, y1 - 2 * s));
    }
  }
  for (const l of p.lines || []) {
    g.strokeStyle = "#facc15";
    g.lineWidth = 2 * s;
    g.beginPath();
    g.moveTo(l.a.x, l.a.y);
    g.lineTo(l.b.x, l.b.y);
    g.stroke();
    g.fillStyle = "#facc15";
    g.font = `bold ${11 * s}px sans-serif`;
    g.fillText(`${l.name}: in ${perClass(l.in)} out ${perClass(l.out)}`, Math.min(l.a.x, p.w - 160 * s) + 4 * s, Math.max(l.a.y, 28 * s) + 12 * s);
  }
  g.fillStyle = "rgba(0,0,0,0.6)";
  g.fillRect(0, 0, 110 * s, 16 * s);
  g.fillStyle = "#fff";
  g.font = `bold ${11 * s}px sans-serif`;
  g.fillText(`frame ${p.seq}`, 4 * s, 12 * s);
  cv.dataset.seq = p.seq;
  cv.dataset.boxes = p.dets.length;
  cv.dataset.tracks = p.tracks.length;
  cv.dataset.lines = JSON.stringify(p.lines || []);
  const counted = p.trails.filter((t) => t.counted).length;
  c.info.textContent = `${p.row || ""} · ${p.dets.length} boxes · ${p.tracks.length} tracks${counted ? ` · ${counted} just counted` : ""}`;
}

// perClass writes a line's counts as "apple 3, citrus 1" ("0" when none).
function perClass(m) {
  const parts = Object.entries(m || {}).sort().map(([k, n]) => `${k} ${n}`);
  return parts.length ? parts.join(", ") : "0";
}

function renderBlocks(bs) {
  const box = $("#blocks");
  if (!bs.length) { box.innerHTML = `<p class="empty">No block counted yet.</p>`; return; }
  box.innerHTML = bs.map((b) => {
    const e = b.estimate;
    const state = b.final ? "final" : "provisional";
    const yieldLine = e
      ? `<p class="yield"><b>${fmt(e.yield_kg)} kg</b> (95 % ${fmt(e.low_kg)} – ${fmt(e.high_kg)}) <span class="tag ${e.final ? "final" : "provisional"}">${e.final ? "final" : "provisional"}</span> <small>${e.rows_done}/${e.rows_total} rows · ${esc(e.trigger)}</small></p>`
      : `<p class="yield empty">no estimate yet</p>`;
    const rows = b.rows.map((r) => {
      const max = Math.max(1, ...(r.plants || []));
      const bars = (r.plants || []).map((n) => `<i style="height:${(100 * n) / max}%" title="${n}"></i>`).join("");
      return `<tr><td>${esc(r.row)}</td><td class="row-count" data-row="${esc(r.row)}">${r.counted}</td><td class="${r.done ? "done" : ""}">${r.done ? "✓" : "…"}</td><td style="width:45%"><div class="plants">${bars}</div></td></tr>`;
    }).join("");
    return `<div class="block" data-block="${esc(b.block)}">
      <div class="head"><span class="name">${esc(b.field)} / ${esc(b.block)} <small>${esc(b.crop)}</small></span>
      <span><span class="count" data-block="${esc(b.block)}" data-final="${b.final}">${b.counted}</span><span class="tag ${state}">${state}</span></span></div>
      ${yieldLine}
      <table><thead><tr><th>row</th><th>counted</th><th>done</th><th>per plant</th></tr></thead><tbody>${rows}</tbody></table>
      ${b.unplaced ? `<p class="lag">${b.unplaced} not placed on a plant</p>` : ""}
    </div>`;
  }).join("");
}

function renderStages(p) {
  $("#stages tbody").innerHTML = p.stages.map((s) =>
    `<tr><td>${esc(s.stage)}</td><td>${s.records}</td><td>${fmt(s.per_s, 0)}</td><td>${s.dead_letters}</td></tr>`).join("");
  const lag = Object.entries(p.lag || {}).sort().map(([g, n]) => `${esc(g)} ${n}`).join(" · ");
  $("#lag").textContent = p.lag_error ? `lag unknown: ${p.lag_error}` : `lag: ${lag || "none"}`;
}

connect();
