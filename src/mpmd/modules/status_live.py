"""The status page's live view: charts drawn in the browser from ``?json``, ours, not httpd's.

Three pieces that ``status_page.py`` puts into mod_status's page: ``STYLE``
(one style sheet for the whole page), ``LIVE_PANEL`` (the markup under the
heading, ``hidden`` until the script runs, so a browser without scripts and
every scraper see mod_status's page) and ``LIVE_SCRIPT``.

The script polls ``?json`` on the page's own URL once a second and draws,
in SVG, the last five minutes: requests per second (the difference of two
polls' Total Accesses over the difference of their server times, less the
page's own poll; bytes a second alike), busy and idle workers (stacked),
processes and those stopping, and for the event MPM the connections; above
them the current numbers, below them the scoreboard as coloured cells. The samples are kept
in the browser's localStorage per server and path, so a reload -- or
``?refresh=N`` -- continues the charts instead of starting them again. No
library, no network access beyond the server itself.
"""

from __future__ import annotations

STYLE = """<style>
:root{--bg:#f4f6f9;--card:#fff;--ink:#1d2a38;--muted:#67788c;--line:#e1e6ec;--head:#eef2f6}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 color:var(--ink);background:var(--bg);margin:0;padding:18px 26px 40px}
h1{font-size:20px;font-weight:600;margin:0 0 14px}
h2{font-size:16px;font-weight:600}
dl{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 16px;margin:0 0 12px}
dt{padding:1px 0}
hr{border:0;border-top:1px solid var(--line);margin:12px 0}
pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--card);
 border:1px solid var(--line);border-radius:8px;padding:10px 14px;letter-spacing:.14em;overflow-x:auto}
table{border-collapse:collapse;background:var(--card);font-size:12px;margin:8px 0}
table[border="0"]{display:block;overflow-x:auto;width:max-content;max-width:100%;
 border:1px solid var(--line);border-radius:8px}
th{background:var(--head);font-weight:600;text-align:left;padding:4px 8px;white-space:nowrap}
td{padding:3px 8px;border-top:1px solid var(--line);white-space:nowrap;font-variant-numeric:tabular-nums}
table[border="0"] tr:nth-child(odd) td{background:#fafbfc}
table[rules="all"] th,table[rules="all"] td{border:1px solid var(--line);text-align:center}
#live{margin:0 0 16px}
#live[hidden]{display:none}
.live-head{display:flex;align-items:center;gap:10px;margin:0 0 10px;color:var(--muted);font-size:13px}
.live-head b{color:var(--ink);font-size:15px}
.dot{width:9px;height:9px;border-radius:50%;background:#43a047;box-shadow:0 0 0 3px #43a04733}
.dot.off{background:#e53935;box-shadow:0 0 0 3px #e5393533}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:0 0 10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:9px 14px}
.card .k{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.05em}
.card .v{font-size:26px;font-weight:600;line-height:1.25;font-variant-numeric:tabular-nums}
.card .s{color:var(--muted);font-size:12px;min-height:1.2em}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:10px;margin:0 0 10px}
.charts.four{grid-template-columns:repeat(auto-fit,minmax(260px,1fr))}
.charts figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:9px 12px 4px}
.charts figcaption{font-size:13px;font-weight:600;display:flex;flex-wrap:wrap;gap:4px 12px;align-items:center}
.key{font-weight:400;color:var(--muted);font-size:12px}
.key::before{content:"";display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;
 vertical-align:-1px;background:var(--c)}
svg.chart{width:100%;height:150px;display:block}
svg.chart text{font-size:10px;fill:var(--muted)}
.board{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:9px 12px}
.board .cells{display:flex;flex-wrap:wrap;gap:2px;margin:8px 0}
.board .cells span{width:11px;height:11px;border-radius:2px;background:var(--c)}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px}
</style>
"""

LIVE_PANEL = """<div id="live" hidden>
<div class="live-head"><span class="dot" id="live-dot"></span><b>Live</b>
<span id="live-note">polling ?json every second, last 5 minutes</span></div>
<div class="cards">
<div class="card"><div class="k">Requests/s</div><div class="v" id="v-rps">&ndash;</div><div class="s" id="s-rps"></div></div>
<div class="card"><div class="k">Busy workers</div><div class="v" id="v-busy">&ndash;</div><div class="s" id="s-busy"></div></div>
<div class="card"><div class="k">Idle workers</div><div class="v" id="v-idle">&ndash;</div><div class="s" id="s-idle"></div></div>
<div class="card"><div class="k">Processes</div><div class="v" id="v-procs">&ndash;</div><div class="s" id="s-procs"></div></div>
<div class="card"><div class="k">Traffic</div><div class="v" id="v-bps">&ndash;</div><div class="s" id="s-bps"></div></div>
</div>
<div class="charts" id="charts">
<figure><figcaption>Requests per second <span class="key" style="--c:#1e88e5">requests/s</span></figcaption><svg class="chart" id="c-rps"></svg></figure>
<figure><figcaption>Workers <span class="key" style="--c:#fb8c00">busy</span><span class="key" style="--c:#81c784">idle</span></figcaption><svg class="chart" id="c-workers"></svg></figure>
<figure><figcaption>Processes <span class="key" style="--c:#5e35b1">running</span><span class="key" style="--c:#e53935">stopping</span></figcaption><svg class="chart" id="c-procs"></svg></figure>
<figure id="f-conns" hidden><figcaption>Connections <span class="key" style="--c:#00897b">total</span><span class="key" style="--c:#8e24aa">keep-alive</span></figcaption><svg class="chart" id="c-conns"></svg></figure>
</div>
<div class="board"><div class="legend" id="legend"></div><div class="cells" id="cells"></div></div>
</div>
"""

LIVE_SCRIPT = r"""<script>
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch || !window.JSON) return;
  live.hidden = false;
  var WINDOW = 300, POLL = 1000, GAP = 5;
  var url = location.pathname + "?json";
  var store = "mpmd-status:" + location.host + location.pathname;
  var STATES = [["_", "ready", "#81c784"], ["S", "starting", "#fdd835"], ["R", "reading", "#42a5f5"],
    ["W", "sending reply", "#fb8c00"], ["K", "keep-alive", "#8e24aa"], ["D", "DNS", "#26c6da"],
    ["C", "closing", "#8d6e63"], ["L", "logging", "#78909c"], ["G", "graceful", "#ffb74d"],
    ["I", "idle cleanup", "#bdbdbd"], [".", "open slot", "#e3e8ee"]];
  var COLOR = {}, NAME = {};
  STATES.forEach(function (s) { COLOR[s[0]] = s[2]; NAME[s[0]] = s[1]; });
  var samples = load();
  var $ = function (id) { return document.getElementById(id); };
  $("legend").innerHTML = STATES.map(function (s) {
    return '<span class="key" style="--c:' + s[2] + '">' + s[1] + " <code>" + s[0] + "</code></span>";
  }).join("");

  function load() {
    try {
      var s = JSON.parse(localStorage.getItem(store) || "[]");
      return Array.isArray(s) ? s : [];
    } catch (e) { return []; }
  }
  function save() { try { localStorage.setItem(store, JSON.stringify(samples)); } catch (e) {} }

  function add(d, size) {
    var s = {t: d.server.current_time, r: d.server.restart_time, a: d.totals.accesses, b: d.totals.bytes, z: size,
      busy: d.workers.busy, idle: d.workers.idle, p: d.workers.processes, st: d.workers.stopping,
      c: d.connections.total, ka: d.connections.async_keep_alive};
    var prev = samples[samples.length - 1];
    if (prev && s.t <= prev.t) return;
    if (prev && prev.r === s.r && s.a >= prev.a && s.t - prev.t <= GAP) {
      // the previous poll is one of the requests counted since: leave it (and its bytes) out
      s.rps = Math.max(0, s.a - prev.a - 1) / (s.t - prev.t);
      s.bps = Math.max(0, s.b - prev.b - (prev.z || 0)) / (s.t - prev.t);
    }
    samples.push(s);
    while (samples.length && samples[0].t < s.t - WINDOW) samples.shift();
    save();
  }

  function fmt(v) {
    if (v == null || isNaN(v)) return "\u2013";
    var a = Math.abs(v);
    if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M";
    if (a >= 1e4) return (v / 1e3).toFixed(a >= 1e5 ? 0 : 1) + "k";
    if (a >= 100 || v === Math.round(v)) return String(Math.round(v));
    return v.toFixed(1);
  }
  function bytes(v) {
    if (v == null) return "\u2013";
    var u = ["B", "kB", "MB", "GB"], i = 0;
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : Math.round(v)) + " " + u[i] + "/s";
  }
  function niceTop(max) {
    if (!(max > 0)) return 1;
    var raw = max / 4, p = Math.pow(10, Math.floor(Math.log10(raw))), steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= raw) return steps[i] * p * 4;
    return 40 * p;
  }

  // series: [{k: sample key, c: colour}]; stack: each on top of the ones before
  function chart(svg, series, stack) {
    var W = svg.clientWidth || 400, H = 150, L = 38, R = 6, T = 8, B = 18;
    var now = samples.length ? samples[samples.length - 1].t : Date.now() / 1000, t0 = now - WINDOW;
    var max = 0;
    samples.forEach(function (s) {
      var sum = 0;
      series.forEach(function (d) {
        var v = s[d.k] || 0;
        sum = stack ? sum + v : Math.max(sum, v);
      });
      max = Math.max(max, sum);
    });
    var top = niceTop(max);
    var x = function (t) { return L + (t - t0) / WINDOW * (W - L - R); };
    var y = function (v) { return T + (1 - v / top) * (H - T - B); };
    var out = [];
    for (var i = 0; i <= 4; i++) {
      var gv = top * i / 4, gy = y(gv).toFixed(1);
      out.push('<line x1="' + L + '" x2="' + (W - R) + '" y1="' + gy + '" y2="' + gy +
        '" stroke="' + (i ? "#eef1f4" : "#cfd6de") + '"/>');
      out.push('<text x="' + (L - 5) + '" y="' + (+gy + 3) + '" text-anchor="end">' + fmt(gv) + "</text>");
    }
    for (var m = 1; m <= 5; m++) {
      var tx = x(t0 + m * 60).toFixed(1);
      out.push('<line x1="' + tx + '" x2="' + tx + '" y1="' + T + '" y2="' + (H - B) + '" stroke="#f3f5f7"/>');
      out.push('<text x="' + tx + '" y="' + (H - 4) + '" text-anchor="' + (m === 5 ? "end" : "middle") + '">' +
        (m === 5 ? "now" : "\u2212" + (5 - m) + " min") + "</text>");
    }
    // runs of samples without a gap, each drawn as its own area
    var runs = [], run = [];
    samples.forEach(function (s, i) {
      var prev = samples[i - 1];
      if (prev && s.t - prev.t > GAP) { runs.push(run); run = []; }
      run.push(s);
    });
    runs.push(run);
    runs.forEach(function (pts) {
      pts = pts.filter(function (s) { return series.every(function (d) { return s[d.k] != null; }); });
      if (!pts.length) return;
      var base = pts.map(function () { return 0; });
      series.forEach(function (d) {
        var upper = pts.map(function (s, i) { return (stack ? base[i] : 0) + s[d.k]; });
        var line = pts.map(function (s, i) { return x(s.t).toFixed(1) + "," + y(upper[i]).toFixed(1); });
        var floor = pts.map(function (s, i) { return x(s.t).toFixed(1) + "," + y(stack ? base[i] : 0).toFixed(1); }).reverse();
        if (pts.length === 1) line.push((x(pts[0].t) + 2).toFixed(1) + "," + y(upper[0]).toFixed(1));
        out.push('<polygon points="' + line.concat(floor).join(" ") + '" fill="' + d.c + '" fill-opacity="' + (stack ? 0.55 : 0.16) + '"/>');
        out.push('<polyline points="' + line.join(" ") + '" fill="none" stroke="' + d.c + '" stroke-width="1.6" stroke-linejoin="round"/>');
        if (stack) base = upper;
      });
    });
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.innerHTML = out.join("");
  }

  function render(d) {
    var last = samples[samples.length - 1] || {}, w = d.workers;
    var recent = samples.slice(-10).filter(function (s) { return s.rps != null; });
    var avg = recent.length ? recent.reduce(function (a, s) { return a + s.rps; }, 0) / recent.length : null;
    $("v-rps").textContent = fmt(last.rps);
    $("s-rps").textContent = avg == null ? "" : "10 s average " + fmt(avg);
    $("v-busy").textContent = fmt(w.busy);
    $("s-busy").textContent = "of " + w.limit + " (" + Math.round(100 * w.busy / Math.max(1, w.limit)) + "%)" +
      (w.graceful ? ", " + w.graceful + " graceful" : "");
    $("v-idle").textContent = fmt(w.idle);
    $("s-idle").textContent = d.server.mpm + " MPM";
    $("v-procs").textContent = fmt(w.processes);
    $("s-procs").textContent = (w.stopping ? w.stopping + " stopping, " : "") + "generation " + d.server.mpm_generation;
    $("v-bps").textContent = bytes(last.bps);
    $("s-bps").textContent = fmt(d.totals.accesses) + " requests since restart";
    var t = new Date(d.server.current_time * 1000);
    $("live-note").textContent = "polling ?json every second, last 5 minutes \u00b7 server time " + t.toLocaleTimeString();
    chart($("c-rps"), [{k: "rps", c: "#1e88e5"}], false);
    chart($("c-workers"), [{k: "busy", c: "#fb8c00"}, {k: "idle", c: "#81c784"}], true);
    chart($("c-procs"), [{k: "p", c: "#5e35b1"}, {k: "st", c: "#e53935"}], false);
    if (d.server.async) {
      $("f-conns").hidden = false;
      $("charts").className = "charts four";
      chart($("c-conns"), [{k: "c", c: "#00897b"}, {k: "ka", c: "#8e24aa"}], false);
    }
    $("cells").innerHTML = d.scoreboard.split("").map(function (ch) {
      return '<span style="--c:' + (COLOR[ch] || "#000") + '" title="' + (NAME[ch] || ch) + '"></span>';
    }).join("");
  }

  function state(ok, why) {
    $("live-dot").className = ok ? "dot" : "dot off";
    if (!ok) $("live-note").textContent = "cannot poll ?json: " + why;
  }

  function poll() {
    fetch(url, {cache: "no-store", credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
      .then(function (text) { var d = JSON.parse(text); add(d, text.length); render(d); state(true); })
      .catch(function (e) { state(false, e.message); })
      .then(function () { setTimeout(poll, POLL); });
  }
  poll();
})();
</script>
"""
