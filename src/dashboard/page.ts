/**
 * page: the dashboard's one HTML document, script inline. It subscribes to `/events` and
 * redraws on every view: the members' table (role, term, commit and applied index, lag, db
 * size, health), the leader over the last minutes as a stepped line with each change listed,
 * the leader's write rate and WAL fsync p99 from its /metrics (and its Raft commit rate), and
 * the control plane (lease holders, nodes, pods) when there is one. Charts are uPlot. Elements carry data attributes (`data-member`, `data-role`) so tests
 * and scripts can read the page as a person does.
 */

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// NB: the script avoids template literals so that it can live in this one.
const SCRIPT = String.raw`
(function () {
  var fmtBytes = function (n) {
    if (n === null) return '–';
    var units = ['B', 'KiB', 'MiB', 'GiB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i === 0 ? 0 : 1) + ' ' + units[i];
  };
  var dash = function (v) { return v === null || v === undefined ? '–' : String(v); };
  var el = function (tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  };
  var clock = function (ms) { return new Date(ms).toLocaleTimeString(); };

  var names = [];
  var leaderChart = null;
  var rateChart = null;
  var latencyChart = null;
  var chartWidth = function () { return Math.max(320, document.getElementById('charts').clientWidth - 20); };

  function leaderSeries(view) {
    // One point per change and one now, stepped: y is the leader's position in the table (0: none).
    var xs = [];
    var ys = [];
    view.leaderChanges.forEach(function (c) {
      xs.push(c.atMs / 1000);
      ys.push(c.leader === null ? 0 : names.indexOf(c.leader) + 1);
    });
    xs.push(view.atMs / 1000);
    ys.push(view.leader === null ? 0 : names.indexOf(view.leader) + 1);
    return [xs, ys];
  }

  function drawCharts(view) {
    var leaderData = leaderSeries(view);
    var times = view.rates.map(function (r) { return r.atMs / 1000; });
    var rateData = [times, view.rates.map(function (r) { return r.proposalsPerSec; }), view.rates.map(function (r) { return r.committedPerSec; })];
    var latencyData = [times, view.rates.map(function (r) { return r.fsyncP99Ms; })];
    if (leaderChart === null) {
      leaderChart = new uPlot({
        title: 'Leader (last 10 minutes)', width: chartWidth(), height: 180,
        scales: { y: { range: function () { return [0, names.length + 0.5]; } } },
        axes: [{}, { splits: function () { var s = [0]; names.forEach(function (_, i) { s.push(i + 1); }); return s; },
                     values: function (u, splits) { return splits.map(function (v) { return v === 0 ? 'none' : (names[v - 1] || ''); }); } }],
        series: [{}, { label: 'leader', stroke: '#2b6cb0', width: 2, paths: uPlot.paths.stepped({ align: 1 }), points: { show: true } }],
      }, leaderData, document.getElementById('leader-chart'));
      rateChart = new uPlot({
        title: 'Leader: writes and Raft entries committed per second', width: chartWidth(), height: 180,
        series: [{}, { label: 'writes/s (etcd_server_proposals_committed_total)', stroke: '#2f855a', width: 2, fill: 'rgba(47,133,90,0.1)' },
                     { label: 'Raft entries/s', stroke: '#718096', width: 1, dash: [4, 4] }],
      }, rateData, document.getElementById('rate-chart'));
      latencyChart = new uPlot({
        title: 'Leader: WAL fsync p99 over each second (ms)', width: chartWidth(), height: 180,
        series: [{}, { label: 'fsync p99 ms (etcd_disk_wal_fsync_duration_seconds)', stroke: '#c05621', width: 2, points: { show: true } }],
      }, latencyData, document.getElementById('latency-chart'));
    } else {
      leaderChart.setData(leaderData);
      rateChart.setData(rateData);
      latencyChart.setData(latencyData);
    }
  }

  function drawMembers(view) {
    var body = document.getElementById('members');
    body.textContent = '';
    view.members.forEach(function (m) {
      var tr = el('tr', { 'data-member': m.name, 'data-role': m.role, 'data-healthy': String(m.healthy) });
      tr.appendChild(el('td', {}, m.name));
      var role = el('td', {});
      role.appendChild(el('span', { class: 'role ' + m.role }, m.role));
      tr.appendChild(role);
      tr.appendChild(el('td', { class: 'num' }, dash(m.term)));
      tr.appendChild(el('td', { class: 'num' }, dash(m.commitIndex)));
      tr.appendChild(el('td', { class: 'num' }, dash(m.appliedIndex)));
      tr.appendChild(el('td', { class: 'num' }, dash(m.lag)));
      tr.appendChild(el('td', { class: 'num' }, fmtBytes(m.dbSize)));
      tr.appendChild(el('td', { class: m.healthy ? 'ok' : 'bad' }, m.healthy ? 'healthy' : m.problem));
      tr.appendChild(el('td', { class: 'endpoint' }, m.endpoint));
      body.appendChild(tr);
    });
  }

  function drawChanges(view) {
    var list = document.getElementById('changes');
    list.textContent = '';
    view.leaderChanges.slice().reverse().slice(0, 12).forEach(function (c) {
      list.appendChild(el('li', {}, clock(c.atMs) + ' — ' + (c.leader === null ? 'no leader' : c.leader + ' leads') + (c.term === null ? '' : ', term ' + c.term)));
    });
  }

  function drawControlPlane(view) {
    var box = document.getElementById('control-plane');
    var cp = view.controlPlane;
    box.hidden = cp === null;
    if (cp === null) return;
    var leases = document.getElementById('leases');
    leases.textContent = '';
    cp.leases.forEach(function (l) {
      leases.appendChild(el('li', { 'data-lease': l.lease }, l.lease + ': ' + (l.holder || 'nobody') + ' (' + l.transitions + ' transitions)'));
    });
    document.getElementById('nodes').textContent = cp.nodesTotal === null ? '–' : cp.nodesReady + ' of ' + cp.nodesTotal + ' Ready';
    var phases = cp.podsByPhase === null ? '–' : Object.keys(cp.podsByPhase).sort().map(function (p) { return cp.podsByPhase[p] + ' ' + p; }).join(', ');
    document.getElementById('pods').textContent = phases === '' ? 'none' : phases;
  }

  function draw(view) {
    names = view.members.map(function (m) { return m.name; });
    var leader = document.getElementById('leader');
    leader.textContent = view.leader === null ? 'no leader' : view.leader;
    leader.className = view.leader === null ? 'bad' : 'ok';
    document.getElementById('term').textContent = dash(view.term);
    document.getElementById('updated').textContent = clock(view.atMs);
    drawMembers(view);
    drawChanges(view);
    drawControlPlane(view);
    drawCharts(view);
  }

  var stream = new EventSource('/events');
  var live = document.getElementById('live');
  stream.onmessage = function (e) { live.textContent = 'live'; live.className = 'ok'; draw(JSON.parse(e.data)); };
  stream.onerror = function () { live.textContent = 'reconnecting…'; live.className = 'bad'; };
  window.addEventListener('resize', function () {
    [leaderChart, rateChart, latencyChart].forEach(function (c) { if (c !== null) c.setSize({ width: chartWidth(), height: 180 }); });
  });
})();
`;

const STYLE = `
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #1a202c; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
.summary span { margin-right: 1.5em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: .3em .8em; border-bottom: 1px solid #e2e8f0; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.endpoint { color: #718096; }
.role { padding: .1em .5em; border-radius: .8em; background: #edf2f7; }
.role.leader { background: #bee3f8; font-weight: 600; }
.role.down, .role.no-leader { background: #fed7d7; }
.role.learner { background: #fefcbf; }
.ok { color: #2f855a; } .bad { color: #c53030; }
#charts > div { margin-bottom: 1em; }
ul { margin: .3em 0; padding-left: 1.2em; }
`;

/** dashboardPage is the whole page, titled for the cluster it shows. */
export function dashboardPage(title: string): string {
  const t = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${t}</title>
<link rel="stylesheet" href="/uPlot.css">
<style>${STYLE}</style>
</head>
<body>
<h1>${t}</h1>
<div class="summary"><span>Leader: <b id="leader">…</b></span><span>Term: <b id="term">…</b></span><span>Updated: <span id="updated">…</span></span><span id="live">connecting…</span></div>
<table>
<thead><tr><th>member</th><th>role</th><th>term</th><th>commit</th><th>applied</th><th>lag</th><th>db size</th><th>health</th><th>client URL</th></tr></thead>
<tbody id="members"></tbody>
</table>
<div id="charts"><div id="leader-chart"></div><div id="rate-chart"></div><div id="latency-chart"></div></div>
<h2>Leader changes</h2>
<ul id="changes"></ul>
<section id="control-plane" hidden>
<h2>Control plane</h2>
<ul id="leases"></ul>
<p>Nodes: <span id="nodes">–</span> · Pods: <span id="pods">–</span></p>
</section>
<script src="/uPlot.js"></script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
