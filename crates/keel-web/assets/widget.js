// Keel's feedback widget. A page includes it with
//   <script src="https://KEEL/widget.js" data-keel-key="KEY" async></script>
// It draws a "Feedback" button and a small form inside a shadow root (so the page's styles and
// the widget's do not touch), and posts to Keel without cookies. Everything shown is set as
// text, never as markup.
(function () {
  'use strict';
  var me = document.currentScript;
  if (!me) {
    var all = document.querySelectorAll('script[data-keel-key]');
    me = all[all.length - 1];
  }
  if (!me || !me.getAttribute('data-keel-key')) return;
  var key = me.getAttribute('data-keel-key');
  var api = new URL(me.src, location.href).origin + '/api/v1/widget/' + encodeURIComponent(key) + '/feedback';

  var css =
    ':host{all:initial}' +
    '*{box-sizing:border-box;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}' +
    '.btn{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:999px;' +
    'background:#1f4f8a;color:#fff;font-size:14px;font-weight:600;padding:10px 18px;cursor:pointer;' +
    'box-shadow:0 4px 14px rgba(0,0,0,.18)}' +
    '.btn:hover{background:#173d6b}' +
    '.btn:focus-visible,button:focus-visible,input:focus-visible,textarea:focus-visible{outline:2px solid #5b9bd5;outline-offset:2px}' +
    '.panel{position:fixed;right:20px;bottom:72px;z-index:2147483000;width:320px;max-width:calc(100vw - 40px);' +
    'background:#fff;color:#1d2733;border:1px solid #d5dce4;border-radius:10px;padding:16px;' +
    'box-shadow:0 10px 30px rgba(0,0,0,.16);font-size:14px;line-height:1.4}' +
    '.panel[hidden]{display:none}' +
    'h2{font-size:15px;margin:0 0 10px;font-weight:600}' +
    'label{display:block;font-size:12px;color:#4a5868;margin:8px 0 3px}' +
    'textarea,input{width:100%;border:1px solid #c3ccd6;border-radius:6px;padding:7px 8px;font-size:14px;color:#1d2733;background:#fff}' +
    'textarea{height:96px;resize:vertical}' +
    '.row{display:flex;gap:8px;justify-content:flex-end;margin-top:12px}' +
    '.send{border:0;border-radius:6px;background:#1f4f8a;color:#fff;padding:7px 14px;font-size:14px;cursor:pointer}' +
    '.send[disabled]{opacity:.6;cursor:default}' +
    '.cancel{border:1px solid #c3ccd6;border-radius:6px;background:#fff;color:#1d2733;padding:7px 12px;font-size:14px;cursor:pointer}' +
    '.msg{margin-top:10px;font-size:13px}.msg:empty{display:none}' +
    '.msg.ok{color:#1e6b3a}.msg.err{color:#a12a2a}';

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) e.textContent = text;
    return e;
  }

  function start() {
    var host = el('div', { 'data-keel-widget': '' });
    document.body.appendChild(host);
    var root = host.attachShadow({ mode: 'open' });
    var style = el('style');
    style.textContent = css;
    root.appendChild(style);

    var button = el('button', { type: 'button', 'class': 'btn', 'aria-expanded': 'false' }, 'Feedback');
    var form = el('form', { 'class': 'panel', hidden: '', 'aria-label': 'Send feedback' });
    form.appendChild(el('h2', {}, 'Tell us what you think'));
    form.appendChild(el('label', { 'for': 'k-text' }, 'Your feedback'));
    var text = el('textarea', { id: 'k-text', name: 'text', required: '', maxlength: '4000' });
    form.appendChild(text);
    form.appendChild(el('label', { 'for': 'k-name' }, 'Name (optional)'));
    var name = el('input', { id: 'k-name', name: 'name', maxlength: '200', autocomplete: 'name' });
    form.appendChild(name);
    form.appendChild(el('label', { 'for': 'k-email' }, 'E-mail (optional)'));
    var email = el('input', { id: 'k-email', name: 'email', type: 'email', maxlength: '254', autocomplete: 'email' });
    form.appendChild(email);
    var row = el('div', { 'class': 'row' });
    var cancel = el('button', { type: 'button', 'class': 'cancel' }, 'Close');
    var send = el('button', { type: 'submit', 'class': 'send' }, 'Send');
    row.appendChild(cancel);
    row.appendChild(send);
    form.appendChild(row);
    var msg = el('div', { 'class': 'msg', role: 'status', 'aria-live': 'polite' });
    form.appendChild(msg);
    root.appendChild(form);
    root.appendChild(button);

    function show(open) {
      form.hidden = !open;
      button.setAttribute('aria-expanded', open ? 'true' : 'false');
      if (open) text.focus();
    }
    function say(t, ok) {
      msg.textContent = t;
      msg.className = 'msg ' + (ok ? 'ok' : 'err');
    }
    button.addEventListener('click', function () { show(form.hidden); });
    cancel.addEventListener('click', function () { show(false); });

    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!text.value.trim()) { say('Please write something first.', false); return; }
      var body = { text: text.value };
      if (name.value.trim()) body.name = name.value.trim();
      if (email.value.trim()) body.email = email.value.trim();
      if (/^https?:/.test(location.href) && location.href.length <= 2000) body.page_url = location.href;
      send.disabled = true;
      say('Sending…', true);
      fetch(api, {
        method: 'POST',
        credentials: 'omit',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (r.ok) {
            text.value = '';
            say(j.message || 'Thank you! Your feedback was sent.', true);
          } else if (r.status === 429) {
            say(j.detail ? 'Sorry: ' + j.detail + '.' : 'Too many messages; please try again later.', false);
          } else {
            var what = j.detail || j.title || 'it could not be sent';
            say('Sorry: ' + what + '.', false);
          }
        });
      }).catch(function () {
        say('Sorry: the feedback could not be sent. Please try again later.', false);
      }).then(function () { send.disabled = false; });
    });
  }

  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
