import { ChannelStats, ConsumerInfo, FailedMessage, MessageInfo } from '../storage';
import { DashboardCapabilities, payloadJson, pausedOf, ScheduleRow } from './dashboard-data';
import { actionForm, formatAgo, formatMs, formatNumber, formatTime, html, Raw } from './dashboard-html';

/** What every page needs to know about the viewer and the queue. */
export interface PageContext {
    base: string;
    csrf: string;
    readOnly: boolean;
    capabilities: DashboardCapabilities;
}

const channelLink = (c: PageContext, channel: string) => `${c.base}/channel?name=${encodeURIComponent(channel)}`;
const messageLink = (c: PageContext, id: string) => `${c.base}/message?id=${encodeURIComponent(id)}`;
const stat = (channel: string, field: string, value: string) => html`<td class="num" data-stat="${channel}" data-field="${field}">${value}</td>`;

export function overviewPage(c: PageContext, stats: ChannelStats[], consumers: ConsumerInfo[], schedules?: ScheduleRow[]): Raw {
    const showPaused = stats.some(v => pausedOf(v) !== undefined);
    return html`<h1>Channels</h1>
<table class="channels" data-live="${c.base}/api/overview">
<thead><tr><th>Channel</th><th class="num">Pending</th><th class="num">Delayed</th><th class="num">In flight</th><th class="num">Failed</th>
${showPaused ? html`<th>State</th>` : ''}<th class="num">Done (1h)</th><th class="num">Rate/s</th></tr></thead>
<tbody>${stats.length ? stats.map(v => html`<tr>
<td><a href="${channelLink(c, v.channel)}">${v.channel}</a></td>
${stat(v.channel, 'pending', formatNumber(v.pending))}${stat(v.channel, 'delayed', formatNumber(v.delayed))}
${stat(v.channel, 'inFlight', formatNumber(v.inFlight))}${stat(v.channel, 'failed', formatNumber(v.failed))}
${showPaused ? html`<td>${pausedOf(v) ? html`<span class="badge paused">paused</span>` : 'running'}</td>` : ''}
${stat(v.channel, 'doneLastHour', formatNumber(v.doneLastHour))}${stat(v.channel, 'ratePerSecond', formatNumber(v.ratePerSecond))}
</tr>`) : html`<tr><td colspan="8" class="empty">No channel has messages or recent activity.</td></tr>`}</tbody></table>
${consumersTable(c, consumers)}
${schedules ? schedulesTable(c, schedules) : ''}`;
}

function consumersTable(c: PageContext, consumers: ConsumerInfo[]): Raw {
    return html`<h2>Consumers</h2>
<table class="consumers"><thead><tr><th>Channel</th><th>Host</th><th class="num">PID</th><th>Since</th><th class="num">In flight</th></tr></thead>
<tbody>${consumers.length ? consumers.map(v => html`<tr><td><a href="${channelLink(c, v.channel)}">${v.channel}</a></td><td>${v.host}</td>
<td class="num">${v.pid}</td><td title="${formatTime(v.since)}">${formatAgo(v.since)}</td><td class="num">${formatNumber(v.inFlight)}</td></tr>`)
        : html`<tr><td colspan="5" class="empty">No consumer is running.</td></tr>`}</tbody></table>`;
}

function schedulesTable(c: PageContext, schedules: ScheduleRow[]): Raw {
    return html`<h2>Schedules</h2>
<table class="schedules"><thead><tr><th>Channel</th><th>Key</th><th>Schedule</th><th>Next run</th><th>Last run</th></tr></thead>
<tbody>${schedules.length ? schedules.map(v => html`<tr><td><a href="${channelLink(c, v.channel)}">${v.channel}</a></td><td>${v.key}</td><td>${v.schedule}</td>
<td>${formatTime(v.next)}</td><td>${formatTime(v.last)}</td></tr>`) : html`<tr><td colspan="5" class="empty">No schedules.</td></tr>`}</tbody></table>`;
}

export interface FailedPage {
    search: string;
    page: number;
    pageSize: number;
    total: number;
    messages: FailedMessage[];
}

export function channelPage(c: PageContext, stats: ChannelStats, latency: { p50?: number, p95?: number }, consumers: ConsumerInfo[], failed: FailedPage): Raw {
    const name = stats.channel;
    const paused = pausedOf(stats);
    return html`<p class="crumbs"><a href="${c.base}/">Channels</a> /</p>
<h1>${name} ${paused ? html`<span class="badge paused">paused</span>` : ''}</h1>
<dl class="figures">
<div><dt>Pending</dt><dd data-stat="${name}" data-field="pending">${formatNumber(stats.pending)}</dd></div>
<div><dt>Delayed</dt><dd data-stat="${name}" data-field="delayed">${formatNumber(stats.delayed)}</dd></div>
<div><dt>In flight</dt><dd data-stat="${name}" data-field="inFlight">${formatNumber(stats.inFlight)}</dd></div>
<div><dt>Failed</dt><dd data-stat="${name}" data-field="failed">${formatNumber(stats.failed)}</dd></div>
<div><dt>Done (1h)</dt><dd data-stat="${name}" data-field="doneLastHour">${formatNumber(stats.doneLastHour)}</dd></div>
<div><dt>Rate/s</dt><dd data-stat="${name}" data-field="ratePerSecond">${formatNumber(stats.ratePerSecond)}</dd></div>
<div><dt>Latency p50 / p95 (1h)</dt><dd>${formatMs(latency.p50)} / ${formatMs(latency.p95)}</dd></div>
</dl>
${c.readOnly ? '' : html`<div class="actions">
${stats.failed ? actionForm(c.base, c.csrf, 'retry', { channel: name }, `Retry all ${formatNumber(stats.failed)} failed`) : ''}
${stats.failed ? actionForm(c.base, c.csrf, 'purge', { channel: name, which: 'failed' }, 'Purge failed…', 'danger') : ''}
${actionForm(c.base, c.csrf, 'purge', { channel: name, which: 'all' }, 'Purge all…', 'danger')}
${c.capabilities.pause ? (paused ? actionForm(c.base, c.csrf, 'resume', { channel: name }, 'Resume') : actionForm(c.base, c.csrf, 'pause', { channel: name }, 'Pause')) : ''}
</div>`}
<section class="charts" data-channel="${name}">
<div class="range"><button type="button" data-range="hour" class="active">Last hour</button><button type="button" data-range="day">Last day</button></div>
<div class="chart" data-chart="throughput"><h3>Throughput per minute</h3></div>
<div class="chart" data-chart="latency"><h3>Queue latency (ms)</h3></div>
</section>
${consumersTable(c, consumers)}
${failedTable(c, name, failed)}`;
}

function failedTable(c: PageContext, channel: string, failed: FailedPage): Raw {
    const from = failed.total ? (failed.page - 1) * failed.pageSize + 1 : 0;
    const to = Math.min(failed.total, failed.page * failed.pageSize);
    const pageLink = (page: number) => `${channelLink(c, channel)}&q=${encodeURIComponent(failed.search)}&page=${page}`;
    return html`<h2 id="failed">Failed messages</h2>
<form method="get" action="${c.base}/channel" class="search"><input type="hidden" name="name" value="${channel}">
<input type="search" name="q" value="${failed.search}" placeholder="Search error, payload text or id" aria-label="Search failed messages"><button>Search</button></form>
<p class="paging">${from}–${to} of ${formatNumber(failed.total)}
${failed.page > 1 ? html`<a href="${pageLink(failed.page - 1)}">‹ previous</a>` : ''}
${to < failed.total ? html`<a href="${pageLink(failed.page + 1)}">next ›</a>` : ''}</p>
<table class="failed"><thead><tr><th>ID</th><th class="num">Attempts</th><th>Failed</th><th>Last error</th><th>Payload</th>${c.readOnly ? '' : html`<th></th>`}</tr></thead>
<tbody>${failed.messages.length ? failed.messages.map(v => html`<tr data-id="${v.id}">
<td><a href="${messageLink(c, v.id)}">${v.id}</a></td><td class="num">${v.attempt}/${v.maxAttempts}</td>
<td title="${formatTime(v.failedAt)}">${formatAgo(v.failedAt)}</td>
<td class="error">${firstLine(v.error, 160)}</td><td><code class="payload">${truncate(payloadJson(v.payload, 0), 160)}</code></td>
${c.readOnly ? '' : html`<td>${actionForm(c.base, c.csrf, 'retry', { channel, id: v.id, return: pageLink(failed.page).slice(c.base.length) }, 'Retry')}</td>`}
</tr>`) : html`<tr><td colspan="6" class="empty">${failed.search ? 'No failed message matches.' : 'No failed messages.'}</td></tr>`}</tbody></table>`;
}

export function messagePage(c: PageContext, message: MessageInfo): Raw {
    const cancellable = c.capabilities.cancel && ['pending', 'delayed', 'leased'].includes(message.state);
    return html`<p class="crumbs"><a href="${c.base}/">Channels</a> / <a href="${channelLink(c, message.channel)}">${message.channel}</a> /</p>
<h1>Message ${message.id} <span class="badge state-${message.state}">${message.state}</span></h1>
<dl class="detail">
<dt>Channel</dt><dd>${message.channel}</dd>
<dt>Attempts</dt><dd>${message.attempt} of ${message.maxAttempts}</dd>
<dt>Priority</dt><dd>${message.priority}</dd>
<dt>Produced</dt><dd>${formatTime(message.producedAt)}</dd>
<dt>Available</dt><dd>${formatTime(message.availableAt)}</dd>
${message.settledAt ? html`<dt>Settled</dt><dd>${formatTime(message.settledAt)}</dd>` : ''}
${message.leaseOwner ? html`<dt>Consumer</dt><dd>${message.leaseOwner}</dd>` : ''}
${message.headers ? html`<dt>Headers</dt><dd><code>${JSON.stringify(message.headers)}</code></dd>` : ''}
</dl>
${c.readOnly ? '' : html`<div class="actions">
${message.state === 'failed' ? actionForm(c.base, c.csrf, 'retry', { channel: message.channel, id: message.id, return: `/message?id=${message.id}` }, 'Retry') : ''}
${cancellable ? actionForm(c.base, c.csrf, 'cancel', { channel: message.channel, id: message.id, return: `/message?id=${message.id}` }, 'Cancel', 'danger') : ''}
</div>`}
${message.error ? html`<h2>Last error</h2><pre class="error">${message.error}</pre>` : ''}
<h2>Payload</h2><pre class="payload">${payloadJson(message.payload)}</pre>`;
}

/** Purging asks once more, on a page of its own: works without script, and says how many. */
export function confirmPurgePage(c: PageContext, channel: string, which: 'failed' | 'all', count: number): Raw {
    const what = which === 'failed' ? `${formatNumber(count)} failed message(s)` : `all ${formatNumber(count)} message(s), in every state,`;
    return html`<h1>Purge ${channel}?</h1>
<p class="warning">This deletes ${what} of channel <strong>${channel}</strong>. It cannot be undone.</p>
<div class="actions">${actionForm(c.base, c.csrf, 'purge', { channel, which, confirmed: 'yes' }, `Yes, delete them`, 'danger')}
<a class="button" href="${channelLink(c, channel)}">Cancel</a></div>`;
}

function firstLine(text: string, max: number): string {
    return truncate(text.split('\n')[0], max);
}

function truncate(text: string, max: number): string {
    return text.length > max ? text.slice(0, max - 1) + '…' : text;
}
