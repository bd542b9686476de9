import { readFileSync } from 'fs';

/**
 * The dashboard's static files, served by the app itself (no CDN: the page
 * works offline). uPlot comes from its npm package; our script and styles
 * are kept here as text so that they ship inside the compiled package.
 */
export interface Asset {
    type: string;
    body: Buffer;
}

const style = `
:root { --fg: #1d2430; --muted: #5d6776; --line: #e2e5ea; --bg: #f4f5f7; --accent: #2f5bd3; --danger: #b3261e; --ok: #1b8a5a; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 1.2rem; padding: .7rem 1.5rem; background: #1d2430; color: #fff; }
header a { color: #dfe5f2; text-decoration: none; }
header .brand { font-weight: 600; color: #fff; }
header nav { display: flex; gap: 1rem; flex: 1; }
header .logout button { background: transparent; color: #dfe5f2; border-color: #5d6776; }
main { padding: 1.2rem 1.5rem 3rem; max-width: 1200px; margin: 0 auto; }
h1 { font-size: 1.4rem; margin: .3rem 0 1rem; word-break: break-all; }
h2 { font-size: 1.1rem; margin: 1.8rem 0 .6rem; }
h3 { font-size: .9rem; margin: 0 0 .4rem; color: var(--muted); font-weight: 500; }
a { color: var(--accent); }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
th, td { padding: .45rem .7rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #fafbfc; font-weight: 600; color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
tr:last-child td { border-bottom: 0; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: var(--muted); text-align: center; padding: 1rem; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .75rem; background: #e4e9f7; color: var(--accent); vertical-align: middle; }
.badge.paused, .badge.state-failed { background: #fbe4e2; color: var(--danger); }
.badge.state-done { background: #dff3ea; color: var(--ok); }
.flash { background: #dff3ea; border: 1px solid #b6e2cd; padding: .5rem .8rem; border-radius: 6px; }
.warning { background: #fdf1e1; border: 1px solid #f0d2a8; padding: .7rem .9rem; border-radius: 6px; }
.crumbs { margin: 0; color: var(--muted); }
.figures { display: flex; flex-wrap: wrap; gap: .7rem; margin: 0 0 1rem; }
.figures div { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .5rem .9rem; min-width: 7.5rem; }
.figures dt { font-size: .75rem; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.figures dd { margin: 0; font-size: 1.3rem; font-variant-numeric: tabular-nums; }
.detail { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; }
.detail dt { color: var(--muted); }
.detail dd { margin: 0; word-break: break-all; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: .5rem 0 1rem; align-items: center; }
form.inline { display: inline; margin: 0; }
button, .button { font: inherit; padding: .3rem .8rem; border: 1px solid var(--accent); border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; }
button.danger { background: #fff; color: var(--danger); border-color: var(--danger); }
.button { background: #fff; color: var(--fg); border-color: var(--line); }
.search { display: flex; gap: .5rem; margin-bottom: .5rem; }
.search input { flex: 1; max-width: 28rem; font: inherit; padding: .3rem .6rem; border: 1px solid #c5cad3; border-radius: 4px; }
.paging { color: var(--muted); display: flex; gap: 1rem; margin: .3rem 0; }
td.error { color: var(--danger); font-family: ui-monospace, monospace; font-size: .8rem; max-width: 26rem; word-break: break-word; }
code.payload { font-size: .8rem; word-break: break-all; }
pre { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; overflow: auto; max-height: 28rem; font-size: .85rem; }
pre.error { color: var(--danger); }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; margin: 1rem 0; }
.charts .range { grid-column: 1 / -1; display: flex; gap: .4rem; }
.charts .range button { background: #fff; color: var(--fg); border-color: var(--line); }
.charts .range button.active { background: var(--accent); color: #fff; border-color: var(--accent); }
.chart { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .7rem; min-height: 260px; overflow: hidden; }
@media (max-width: 800px) { .charts { grid-template-columns: 1fr; } }
`;

// Plain ES2017 for the browser, no build step. Renders numbers with textContent and charts with uPlot.
const script = `(function () {
    'use strict';
    var base = document.body.getAttribute('data-base');
    var format = function (v) { return typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: v < 10 ? 2 : 0 }) : String(v); };

    function refresh() {
        fetch(base + '/api/overview', { credentials: 'same-origin', headers: { accept: 'application/json' } })
            .then(function (r) { return r.ok ? r.json() : null; })
            .then(function (data) {
                if (!data) return;
                var cells = document.querySelectorAll('[data-stat]');
                data.channels.forEach(function (channel) {
                    cells.forEach(function (cell) {
                        if (cell.getAttribute('data-stat') !== channel.channel) return;
                        var value = channel[cell.getAttribute('data-field')];
                        if (value !== undefined) cell.textContent = format(value);
                    });
                });
            })
            .catch(function () { /* offline for a moment: the next round tries again */ });
    }
    if (document.querySelector('[data-stat]')) setInterval(refresh, 5000);

    var charts = document.querySelector('.charts');
    if (!charts || !window.uPlot) return;
    var plots = [];
    function draw(series) {
        plots.forEach(function (plot) { plot.destroy(); });
        plots = [];
        var width = Math.max(280, charts.querySelector('.chart').clientWidth - 16);
        var axes = [{}, { size: 60 }];
        var throughput = charts.querySelector('[data-chart="throughput"]');
        var latency = charts.querySelector('[data-chart="latency"]');
        plots.push(new window.uPlot({ width: width, height: 200, axes: axes, scales: { x: { time: true } }, series: [{},
            { label: 'produced', stroke: '#2f5bd3', width: 2 }, { label: 'completed', stroke: '#1b8a5a', width: 2 }, { label: 'failed', stroke: '#b3261e', width: 2 }],
        }, [series.time, series.produced, series.done, series.failed], throughput));
        plots.push(new window.uPlot({ width: width, height: 200, axes: axes, scales: { x: { time: true } }, series: [{},
            // Points too: a minute with claims between idle ones is a single point, which a line alone does not show.
            { label: 'p50', stroke: '#2f5bd3', width: 2, spanGaps: true, points: { show: true, size: 6 } },
            { label: 'p95', stroke: '#d9822b', width: 2, spanGaps: true, points: { show: true, size: 6 } }],
        }, [series.time, series.p50, series.p95], latency));
        charts.setAttribute('data-drawn', series.step === 1 ? 'hour' : 'day');
    }
    function load(range) {
        charts.querySelectorAll('[data-range]').forEach(function (b) { b.classList.toggle('active', b.getAttribute('data-range') === range); });
        fetch(base + '/api/history?channel=' + encodeURIComponent(charts.getAttribute('data-channel')) + '&range=' + range, { credentials: 'same-origin' })
            .then(function (r) { return r.json(); }).then(draw);
    }
    charts.querySelectorAll('[data-range]').forEach(function (button) {
        button.addEventListener('click', function () { load(button.getAttribute('data-range')); });
    });
    load('hour');
})();
`;

let cache: Map<string, Asset> | undefined;

/** The assets by file name under `<path>/assets/`. */
export function dashboardAssets(): Map<string, Asset> {
    if (cache) return cache;
    const uplot = (file: string) => readFileSync(require.resolve(`uplot/dist/${file}`));
    cache = new Map([
        ['dashboard.css', { type: 'text/css; charset=utf-8', body: Buffer.from(style) }],
        ['dashboard.js', { type: 'text/javascript; charset=utf-8', body: Buffer.from(script) }],
        ['uplot.css', { type: 'text/css; charset=utf-8', body: uplot('uPlot.min.css') }],
        ['uplot.js', { type: 'text/javascript; charset=utf-8', body: uplot('uPlot.iife.min.js') }],
    ]);
    return cache;
}
