/**
 * The console's stylesheet and its one script, served by callcard itself (no CDN; the
 * Content-Security-Policy allows this origin's files only). Every page works without the script
 * but the contact upload: the script adds the copy buttons, sends an upload with its progress, and
 * follows an import's progress and the overview's live figures without a reload.
 */

export const STYLESHEET = `
:root { color-scheme: light; --ink: #1b1f24; --quiet: #4a5360; --line: #c9d1da; --accent: #0b5394;
  --ok: #1e6b2e; --bad: #a4161a; --warn: #7a4b00; --paper: #ffffff; --band: #f2f5f8; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--paper); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--paper); padding: .5rem; z-index: 10; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .75rem 1rem; background: var(--band); border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; margin: 0; }
header nav ul, footer ul { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0; padding: 0; }
header nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
.who { margin-left: auto; display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
main { padding: 1rem; max-width: 75rem; }
footer { padding: 1rem; border-top: 1px solid var(--line); }
footer a[aria-current="true"] { font-weight: 700; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
label { display: block; font-weight: 600; margin: .5rem 0 .2rem; }
input, select, button { font: inherit; }
input, select { padding: .4rem .5rem; border: 1px solid #6b7785; border-radius: 4px; max-width: 100%; background: var(--paper); color: var(--ink); }
button { padding: .4rem .9rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; cursor: pointer; }
button.danger { background: var(--bad); border-color: var(--bad); }
.who button { background: var(--paper); color: var(--accent); }
form.narrow { max-width: 22rem; display: grid; gap: .25rem; }
form.narrow button { margin-top: 1rem; justify-self: start; }
form.inline { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
form.inline label { margin: 0; align-self: center; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin-bottom: 1rem; }
form.filters .buttons { display: flex; gap: 1rem; align-items: center; }
.scroll { overflow-x: auto; position: relative; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--band); }
td.actions { display: flex; gap: .5rem; }
form.buttons { display: flex; gap: .5rem; flex-wrap: wrap; }
.detail { display: block; color: var(--quiet); font-size: .9rem; }
.quiet { color: var(--quiet); }
.ok { color: var(--ok); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); font-weight: 600; }
.notice { padding: .6rem .8rem; border-radius: 4px; border: 1px solid var(--line); }
.notice.status { background: #e8f4ea; border-color: var(--ok); }
.notice.alert { background: #fbeaea; border-color: var(--bad); }
dl.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(13rem, 1fr)); gap: .75rem; margin: 0; }
dl.figures div { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; }
dl.figures dt { color: var(--quiet); font-size: .9rem; }
dl.figures dd { margin: .2rem 0 0; font-size: 1.4rem; font-weight: 700; }
dl.figures dd[data-figure="last-lookup"] { font-size: 1rem; }
dl.steps, dl.settings { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; }
dl.steps dt, dl.settings dt { font-weight: 600; }
dl.steps dd, dl.settings dd { margin: 0; overflow-wrap: anywhere; }
.copyable { display: inline-flex; gap: .5rem; flex-wrap: wrap; }
.copyable input { font-family: ui-monospace, monospace; }
ol.cards { list-style: none; padding: 0; display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); }
.card { border: 1px solid var(--line); border-radius: 8px; padding: .8rem; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
.card header { display: flex; gap: .75rem; align-items: center; }
.card p { margin: 0; }
.card-name { font-weight: 700; font-size: 1.1rem; }
.card-company { color: var(--quiet); }
.card-data { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .75rem; font-size: .9rem; margin: .6rem 0 0; }
.card-data dd { margin: 0; }
.card-actions { list-style: none; padding: 0; margin: .6rem 0 0; display: flex; gap: .5rem; }
.card-actions .action { display: inline-block; border: 1px solid var(--accent); color: var(--accent); border-radius: 4px; padding: .1rem .6rem; }
nav.pages { display: flex; gap: 1.5rem; margin: 1rem 0; }
ul.numbers { list-style: none; margin: 0; padding: 0; }
ul.tokens { list-style: none; padding: 0; display: grid; gap: .5rem; }
ul.tokens li { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; }
.token-id { font-family: ui-monospace, monospace; }
.check { display: flex; gap: .5rem; align-items: center; margin-top: .5rem; }
.check label { margin: 0; font-weight: 400; }
progress { width: 100%; max-width: 22rem; height: 1.2rem; }
@media (max-width: 40rem) { .who { margin-left: 0; } dl.steps, dl.settings { grid-template-columns: 1fr; } }
`;

export const SCRIPT = `
document.addEventListener('DOMContentLoaded', function () {
  if (!navigator.clipboard) return;
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var field = document.getElementById(button.getAttribute('data-copy'));
    if (!field) return;
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = button.getAttribute('data-copied');
        setTimeout(function () { button.textContent = label; }, 2000);
      });
    });
  });

  // An upload: the file is the body, its progress shown as it goes; then the import's page.
  document.querySelectorAll('form[data-upload]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var file = form.querySelector('input[type="file"]').files[0];
      if (!file) return;
      var bar = form.querySelector('progress');
      var status = form.querySelector('[data-upload-status]');
      var button = form.querySelector('button[type="submit"]');
      var query = new URLSearchParams({
        source: form.querySelector('select[name="source"]').value,
        name: file.name,
        replace: form.querySelector('input[name="replace"]').checked ? '1' : '0'
      });
      var request = new XMLHttpRequest();
      request.open('POST', form.action + '?' + query.toString());
      request.setRequestHeader('content-type', 'application/octet-stream');
      request.setRequestHeader('x-csrf-token', form.querySelector('input[name="_csrf"]').value);
      request.upload.addEventListener('progress', function (progress) {
        if (progress.lengthComputable) bar.value = progress.loaded / progress.total;
      });
      request.addEventListener('load', function () {
        var answer = {};
        try { answer = JSON.parse(request.responseText); } catch (error) { answer = {}; }
        if (request.status === 202 && answer.location) {
          bar.value = 1;
          window.location.assign(answer.location);
          return;
        }
        button.disabled = false;
        status.textContent = form.getAttribute('data-failed') + ' ' +
          ((answer.error && answer.error.message) || request.status);
      });
      request.addEventListener('error', function () {
        button.disabled = false;
        status.textContent = form.getAttribute('data-failed') + ' ' + request.status;
      });
      button.disabled = true;
      request.send(file);
    });
  });

  // An import under way: its progress asked for again until it is over, then its report.
  document.querySelectorAll('progress[data-poll]').forEach(function (bar) {
    var url = bar.getAttribute('data-poll');
    var read = document.querySelector('[data-import-read]');
    var poll = function () {
      fetch(url, { credentials: 'same-origin' }).then(function (answer) { return answer.json(); }).then(function (job) {
        if (job.status !== 'running') { window.location.reload(); return; }
        bar.value = Math.round(job.progress * 100);
        bar.textContent = bar.value + '%';
        if (read) read.textContent = job.text;
        setTimeout(poll, 500);
      }, function () { setTimeout(poll, 2000); });
    };
    setTimeout(poll, 300);
  });

  // The overview's figures, sent by callcard as they change (server-sent events).
  var live = document.querySelector('[data-live]');
  if (live && window.EventSource) {
    var events = new EventSource(live.getAttribute('data-live'));
    events.addEventListener('overview', function (event) {
      var data = JSON.parse(event.data);
      Object.keys(data.figures).forEach(function (name) {
        var figure = document.querySelector('[data-figure="' + name + '"]');
        if (figure && figure.textContent !== data.figures[name]) figure.textContent = data.figures[name];
      });
      var last = document.querySelector('[data-figure="last-lookup"]');
      if (last && data.lastLookup) {
        var time = document.createElement('time');
        time.setAttribute('datetime', data.lastLookup.iso);
        time.textContent = data.lastLookup.shown;
        var ago = document.createElement('span');
        ago.setAttribute('data-ago', '');
        ago.textContent = data.lastLookup.ago;
        last.replaceChildren(time, ' ', ago);
      } else if (last) {
        last.textContent = data.never;
      }
      Object.keys(data.sources).forEach(function (name) {
        var row = document.querySelector('tr[data-source="' + CSS.escape(name) + '"]');
        if (!row) return;
        var source = data.sources[name];
        var set = function (cell, text) {
          var element = row.querySelector('[data-cell="' + cell + '"]');
          if (element && element.textContent !== text) element.textContent = text;
          return element;
        };
        set('contacts', source.contacts);
        set('last-sync', source.lastSync);
        set('underway', source.underway);
        set('error', source.error);
        var health = set('health', source.health.text);
        if (health) health.className = source.health.tone;
      });
      live.setAttribute('data-updated', String(Date.now()));
    });
  }
});
`;
