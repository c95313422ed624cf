/*!
 * Clinic chat widget: a small, dependency-free chat panel for a Rasa 3.6
 * assistant over Rasa's socket.io channel (socket.io-client 4.x, vendored).
 *
 * Embed:
 *   <script src="https://YOUR-SERVER/widget/widget.js"
 *           data-server-url="https://YOUR-RASA-SERVER"
 *           data-title="Riverside Physio assistant" defer></script>
 *
 * Optional attributes: data-subtitle, data-notice, data-offline-text,
 * data-launcher-label, data-initial-payload ("/greet"; "" for none),
 * data-socket-path ("/socket.io/"), data-storage-key, data-history-hours (24),
 * data-open ("true" opens the panel on load).
 *
 * Safety by construction: bot text is only ever inserted with textContent /
 * createTextNode (no HTML parsing anywhere), links are built element by
 * element and limited to http(s), mailto and tel.
 */
(function () {
  "use strict";

  if (window.__clinicChatWidget) return; // embedded twice: keep the first
  var script = document.currentScript || findOwnScript();
  if (!script) return;

  var WIDGET_VERSION = "1.0.0";
  var URGENCIES = { emergency: "Emergency advice", urgent: "Urgent advice", crisis: "Help is available now" };
  var MAX_STORED = 200;
  var REPLY_TIMEOUT_MS = 30000;

  var cfg = readConfig(script);
  if (!cfg.serverUrl) {
    if (window.console) console.error("[chat widget] data-server-url is missing on the <script> tag; widget not started.");
    return;
  }
  window.__clinicChatWidget = { version: WIDGET_VERSION };

  // ---------------------------------------------------------------- state ---
  var storageKey = cfg.storageKey + ":" + cfg.serverUrl;
  var memoryStore = null; // used when localStorage is unavailable (privacy modes)
  var state = loadState();
  var socket = null;
  var socketLoading = false;
  var connected = false; // socket connected and session confirmed
  var everConnected = false;
  var replyTimer = null;
  var unread = 0;
  var ui = {};

  // ------------------------------------------------------------------ boot ---
  loadCss(function () {
    buildUi();
    renderAll();
    if (state.open || cfg.openOnLoad) openPanel(false);
    // Reconnect at once when there is a conversation to continue (staff may
    // reply to it); otherwise connect only when someone opens the chat.
    if (state.sessionId) ensureSocket();
  });

  // ---------------------------------------------------------------- config ---
  function findOwnScript() {
    var scripts = document.querySelectorAll("script[data-server-url]");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/widget(\.min)?\.js(\?|#|$)/.test(scripts[i].src)) return scripts[i];
    }
    return null;
  }

  function readConfig(el) {
    var d = el.dataset || {};
    var src = el.src || "";
    var base = src.slice(0, src.lastIndexOf("/") + 1);
    var hours = parseFloat(d.historyHours);
    return {
      serverUrl: (d.serverUrl || "").trim().replace(/\/+$/, ""),
      title: d.title || "Chat with us",
      subtitle: d.subtitle !== undefined ? d.subtitle : "Automated assistant. General information, not a diagnosis.",
      notice: d.notice || "",
      offlineText: d.offlineText || "If you need urgent medical help, call your local emergency number.",
      launcherLabel: d.launcherLabel || "Chat with us",
      initialPayload: d.initialPayload !== undefined ? d.initialPayload : "/greet",
      socketPath: d.socketPath || "/socket.io/",
      storageKey: d.storageKey || "clinic-chat",
      historyMs: (isFinite(hours) && hours > 0 ? hours : 24) * 3600 * 1000,
      openOnLoad: d.open === "true",
      base: base
    };
  }

  // --------------------------------------------------------------- storage ---
  function emptyState() {
    return { v: 1, sessionId: null, messages: [], open: false, greeted: false, updated: Date.now() };
  }

  function loadState() {
    var raw = null;
    try { raw = window.localStorage.getItem(storageKey); } catch (e) { raw = memoryStore; }
    var s = null;
    try { s = raw ? JSON.parse(raw) : null; } catch (e) { s = null; }
    if (!s || s.v !== 1 || !Array.isArray(s.messages)) return emptyState();
    if (Date.now() - (s.updated || 0) > cfg.historyMs) return emptyState(); // old chat: start afresh
    return s;
  }

  function saveState() {
    state.updated = Date.now();
    if (state.messages.length > MAX_STORED) state.messages = state.messages.slice(-MAX_STORED);
    // DOM references (keys starting with "_") stay out of storage
    var raw = JSON.stringify(state, function (key, value) { return key.charAt(0) === "_" ? undefined : value; });
    try { window.localStorage.setItem(storageKey, raw); } catch (e) { memoryStore = raw; }
  }

  function clearState() {
    try { window.localStorage.removeItem(storageKey); } catch (e) { memoryStore = null; }
    state = emptyState();
  }

  // ------------------------------------------------------------ resources ---
  function loadCss(done) {
    var href = cfg.base + "widget.css";
    var existing = document.querySelector('link[data-clinic-chat-css]');
    if (existing) { done(); return; }
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    link.setAttribute("data-clinic-chat-css", "");
    var called = false;
    function once() { if (!called) { called = true; done(); } }
    link.onload = once;
    link.onerror = once; // still usable (unstyled) rather than invisible
    setTimeout(once, 3000);
    (document.head || document.documentElement).appendChild(link);
  }

  function loadSocketIo(done, fail) {
    if (typeof window.io === "function") { done(); return; }
    var s = document.createElement("script");
    s.src = cfg.base + "vendor/socket.io.min.js";
    s.async = true;
    s.onload = function () { typeof window.io === "function" ? done() : fail(); };
    s.onerror = fail;
    (document.head || document.documentElement).appendChild(s);
  }

  // ------------------------------------------------------------------- DOM ---
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] === null || attrs[k] === undefined) continue;
        if (k === "class") node.className = attrs[k];
        else if (k === "text") node.textContent = attrs[k];
        else if (k === "hidden") node.hidden = !!attrs[k];
        else node.setAttribute(k, attrs[k]);
      }
    }
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  var SVG_NS = "http://www.w3.org/2000/svg";
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    restart: "M4 12a8 8 0 1 0 2.3-5.7M4 4v4h4",
    send: "M3 20l18-8L3 4v6l12 2-12 2z",
    alert: "M12 3l10 18H2L12 3zm0 6v5m0 3v.5"
  };

  function icon(name, cls) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "rsw-svg " + (cls || ""));
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function buildUi() {
    ui.badge = el("span", { "class": "rsw-badge", "aria-hidden": "true", hidden: true });
    ui.launcher = el("button", {
      type: "button", "class": "rsw-launcher", "aria-expanded": "false", "aria-controls": "rsw-panel"
    }, [icon("chat"), el("span", { "class": "rsw-launcher-text", text: cfg.launcherLabel }), ui.badge]);

    ui.title = el("h2", { id: "rsw-title", "class": "rsw-title", text: cfg.title });
    ui.subtitle = cfg.subtitle ? el("p", { id: "rsw-subtitle", "class": "rsw-subtitle", text: cfg.subtitle }) : null;
    ui.restart = el("button", { type: "button", "class": "rsw-icon-btn rsw-restart", "aria-label": "Start a new conversation", title: "Start a new conversation" }, [icon("restart")]);
    ui.close = el("button", { type: "button", "class": "rsw-icon-btn rsw-close", "aria-label": "Close chat", title: "Close chat" }, [icon("close")]);
    var header = el("div", { "class": "rsw-header" }, [
      el("div", { "class": "rsw-heading" }, [ui.title, ui.subtitle]), ui.restart, ui.close
    ]);

    ui.errorText = el("p", { "class": "rsw-error-text" });
    ui.retry = el("button", { type: "button", "class": "rsw-retry", text: "Try again" });
    ui.error = el("div", { "class": "rsw-error", role: "alert", hidden: true }, [ui.errorText, ui.retry]);

    ui.log = el("div", {
      id: "rsw-log", "class": "rsw-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
      "aria-label": "Conversation", tabindex: "0"
    });
    ui.typingText = el("span", { "class": "rsw-sr" });
    ui.typing = el("div", { "class": "rsw-typing", role: "status" }, [
      el("span", { "class": "rsw-dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]), ui.typingText
    ]);

    ui.input = el("input", {
      id: "rsw-input", "class": "rsw-input", type: "text", autocomplete: "off", maxlength: "1000",
      placeholder: "Type your question", enterkeyhint: "send"
    });
    ui.send = el("button", { type: "submit", "class": "rsw-send" }, [icon("send"), el("span", { text: "Send" })]);
    ui.form = el("form", { "class": "rsw-form", novalidate: "" }, [
      el("label", { "for": "rsw-input", "class": "rsw-sr", text: "Type your message" }), ui.input, ui.send
    ]);
    ui.notice = cfg.notice ? el("p", { "class": "rsw-notice", text: cfg.notice }) : null;

    ui.panel = el("div", {
      id: "rsw-panel", "class": "rsw-panel", role: "dialog", "aria-modal": "false",
      "aria-labelledby": "rsw-title", "aria-describedby": ui.subtitle ? "rsw-subtitle" : null, hidden: true
    }, [header, ui.error, ui.log, ui.typing, ui.form, ui.notice]);

    ui.root = el("div", { id: "rsw-root", "class": "rsw-root", "data-state": "closed", lang: document.documentElement.lang || "en" }, [ui.panel, ui.launcher]);
    document.body.appendChild(ui.root);

    ui.launcher.addEventListener("click", function () { isOpen() ? closePanel() : openPanel(true); });
    ui.close.addEventListener("click", function () { closePanel(); });
    ui.restart.addEventListener("click", restartConversation);
    ui.retry.addEventListener("click", retry);
    ui.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = ui.input.value.replace(/\s+/g, " ").trim();
      if (!text) { ui.input.focus(); return; }
      if (sendToBot(text, null)) ui.input.value = "";
    });
    ui.panel.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" || ev.key === "Esc") { ev.preventDefault(); closePanel(); }
    });
    updateLauncherLabel();
  }

  function isOpen() { return !ui.panel.hidden; }

  function openPanel(moveFocus) {
    ui.panel.hidden = false;
    ui.root.setAttribute("data-state", "open");
    ui.launcher.setAttribute("aria-expanded", "true");
    unread = 0;
    updateLauncherLabel();
    if (!state.open) { state.open = true; saveState(); }
    scrollToEnd();
    ensureSocket();
    if (moveFocus) ui.input.focus();
  }

  function closePanel() {
    ui.panel.hidden = true;
    ui.root.setAttribute("data-state", "closed");
    ui.launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    saveState();
    ui.launcher.focus();
  }

  function updateLauncherLabel() {
    // the accessible name starts with the visible text (WCAG 2.5.3); aria-expanded gives the state
    var label = cfg.launcherLabel;
    if (unread > 0) label += ", " + unread + " new message" + (unread > 1 ? "s" : "");
    ui.launcher.setAttribute("aria-label", label);
    ui.badge.textContent = unread > 9 ? "9+" : String(unread);
    ui.badge.hidden = unread === 0;
  }

  function scrollToEnd() { ui.log.scrollTop = ui.log.scrollHeight; }

  // --------------------------------------------------------- text to DOM ---
  // URLs (http/https only), e-mail addresses and "call <number>" become links;
  // everything else is a text node, so markup in bot text is shown, not run.
  var LINK_RE = /(https?:\/\/[^\s<>"']+)|([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})|(\bcall\s+)(\+?\d[\d ]{1,14}\d)\b/gi;

  function safeHttpUrl(raw) {
    try {
      var u = new URL(raw);
      return (u.protocol === "http:" || u.protocol === "https:") ? u.href : null;
    } catch (e) { return null; }
  }

  function appendInline(parent, text) {
    var last = 0, m;
    LINK_RE.lastIndex = 0;
    while ((m = LINK_RE.exec(text)) !== null) {
      var start = m.index, matched = m[0], node = null, lead = "";
      if (m[1]) {
        var url = m[1];
        var trail = (url.match(/[.,;:!?'")\]]+$/) || [""])[0];
        if (trail && trail.charAt(0) === ")" && url.indexOf("(") !== -1) trail = trail.slice(1);
        url = url.slice(0, url.length - trail.length);
        matched = url;
        var href = safeHttpUrl(url);
        if (href) node = el("a", { href: href, target: "_blank", rel: "noopener noreferrer", "class": "rsw-link" }, [url, el("span", { "class": "rsw-sr", text: " (opens in a new tab)" })]);
      } else if (m[2]) {
        node = el("a", { href: "mailto:" + m[2], "class": "rsw-link", text: m[2] });
      } else if (m[4]) {
        lead = m[3];
        node = el("a", { href: "tel:" + m[4].replace(/\s+/g, ""), "class": "rsw-link rsw-tel", text: m[4] });
      }
      if (start > last) parent.appendChild(document.createTextNode(text.slice(last, start)));
      if (node) {
        if (lead) parent.appendChild(document.createTextNode(lead));
        parent.appendChild(node);
      } else {
        parent.appendChild(document.createTextNode(matched));
      }
      last = start + matched.length;
      LINK_RE.lastIndex = last;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function renderText(container, text) {
    var lines = String(text).replace(/\r\n?/g, "\n").split("\n");
    var list = null;
    lines.forEach(function (line) {
      var bullet = /^\s*[\u2022\u25CF\u25AA]\s*(.*)$/.exec(line);
      if (bullet) {
        if (!list) { list = el("ul", { "class": "rsw-list" }); container.appendChild(list); }
        var li = el("li");
        appendInline(li, bullet[1]);
        list.appendChild(li);
        return;
      }
      list = null;
      if (!line.trim()) return;
      var p = el("p", { "class": "rsw-p" });
      appendInline(p, line);
      container.appendChild(p);
    });
  }

  // -------------------------------------------------------------- messages ---
  function messageNode(msg, live) {
    var isBot = msg.from === "bot";
    var node = el("div", { "class": "rsw-msg " + (isBot ? "rsw-msg-bot" : "rsw-msg-user"), "data-from": msg.from });
    if (isBot && msg.staff) {
      // a person from the clinic replied (handoff): say who, visibly
      node.classList.add("rsw-msg-staff");
      node.appendChild(el("span", { "class": "rsw-from", text: msg.staff + ", clinic team" }));
      node.lastChild.insertBefore(el("span", { "class": "rsw-sr", text: "Message from " }), node.lastChild.firstChild);
      node.lastChild.appendChild(el("span", { "class": "rsw-sr", text: ": " }));
    } else {
      node.appendChild(el("span", { "class": "rsw-sr", text: isBot ? "Assistant: " : "You: " }));
    }
    var bubble = el("div", { "class": "rsw-bubble" });
    node.appendChild(bubble);
    if (isBot && msg.urgency && URGENCIES[msg.urgency]) markUrgent(node, msg.urgency, live);
    renderText(bubble, msg.text || "");
    if (msg.image) {
      var href = safeHttpUrl(msg.image);
      if (href) {
        var p = el("p", { "class": "rsw-p" });
        p.appendChild(el("a", { href: href, target: "_blank", rel: "noopener noreferrer", "class": "rsw-link", text: "Open the image (new tab)" }));
        bubble.appendChild(p);
      }
    }
    if (isBot && msg.buttons && msg.buttons.length) {
      var group = el("div", { "class": "rsw-choices", role: "group", "aria-label": "Suggested replies" });
      msg.buttons.forEach(function (b, i) {
        var btn = el("button", { type: "button", "class": "rsw-choice" + (msg.chosen === i ? " rsw-chosen" : ""), text: b.title });
        if (msg.used) btn.disabled = true;
        if (msg.chosen === i) btn.setAttribute("aria-pressed", "true");
        btn.addEventListener("click", function () {
          if (btn.disabled) return;
          if (sendToBot(b.title, b.payload)) {
            msg.chosen = i;
            btn.classList.add("rsw-chosen");
            btn.setAttribute("aria-pressed", "true");
            saveState();
            ui.input.focus(); // the clicked button is now disabled: keep focus somewhere useful
          }
        });
        group.appendChild(btn);
      });
      node.appendChild(group);
    }
    msg._node = node;
    return node;
  }

  function markUrgent(node, urgency, live) {
    node.classList.add("rsw-urgent", "rsw-urgency-" + urgency);
    node.setAttribute("data-urgency", urgency);
    // role=alert only for messages arriving now; restored history is not re-announced
    if (live) node.setAttribute("role", "alert");
    var bubble = node.querySelector(".rsw-bubble");
    if (!bubble.querySelector(".rsw-urgent-label")) {
      bubble.insertBefore(el("p", { "class": "rsw-urgent-label" }, [icon("alert", "rsw-alert-icon"), el("span", { text: URGENCIES[urgency] })]), bubble.firstChild);
    }
  }

  function renderAll() {
    while (ui.log.firstChild) ui.log.removeChild(ui.log.firstChild);
    state.messages.forEach(function (m, idx) {
      // only the newest message's buttons stay usable after a reload
      if (m.buttons && m.buttons.length && idx !== state.messages.length - 1) m.used = true;
      ui.log.appendChild(messageNode(m, false));
    });
    scrollToEnd();
  }

  function addMessage(msg) {
    state.messages.push(msg);
    saveState();
    ui.log.appendChild(messageNode(msg, true));
    scrollToEnd();
  }

  function disableChoices() {
    state.messages.forEach(function (m) {
      if (m.buttons && m.buttons.length && !m.used) {
        m.used = true;
        if (m._node) m._node.querySelectorAll(".rsw-choice").forEach(function (b) { b.disabled = true; });
      }
    });
  }

  function lastBotMessage() {
    for (var i = state.messages.length - 1; i >= 0; i--) {
      if (state.messages[i].from === "bot") return state.messages[i];
      if (state.messages[i].from === "user") return null; // only within the current turn
    }
    return null;
  }

  function pickUrgency(raw) {
    var candidates = [
      raw.custom && raw.custom.urgency,
      raw.metadata && raw.metadata.urgency,
      raw.custom && raw.custom.metadata && raw.custom.metadata.urgency,
      raw.urgency
    ];
    for (var i = 0; i < candidates.length; i++) {
      var u = typeof candidates[i] === "string" ? candidates[i].toLowerCase() : null;
      if (u && URGENCIES[u]) return u;
    }
    return null;
  }

  function normaliseButtons(list) {
    if (!Array.isArray(list)) return [];
    return list.filter(function (b) {
      return b && typeof b.title === "string" && b.title && typeof b.payload === "string" && b.payload;
    }).map(function (b) { return { title: b.title, payload: b.payload }; });
  }

  function onBotMessage(raw) {
    if (!raw || typeof raw !== "object") return;
    var text = typeof raw.text === "string" ? raw.text : "";
    var buttons = normaliseButtons(raw.quick_replies || raw.buttons);
    var urgency = pickUrgency(raw);
    var image = raw.attachment && raw.attachment.type === "image" && raw.attachment.payload ? raw.attachment.payload.src : null;
    if (!text && !buttons.length && !image) {
      // a bare custom payload, e.g. {"urgency": "emergency"} sent after its text
      var prev = urgency && lastBotMessage();
      if (prev && !prev.urgency) {
        prev.urgency = urgency;
        if (prev._node) markUrgent(prev._node, urgency, true);
        saveState();
      }
      return;
    }
    var staff = raw.metadata && raw.metadata.staff_reply ? String(raw.metadata.staff || "").slice(0, 60) || "Clinic team" : undefined;
    stopTyping();
    addMessage({ from: "bot", text: text, buttons: buttons, urgency: urgency, image: image || undefined, staff: staff, ts: Date.now() });
    if (!isOpen()) { unread += 1; updateLauncherLabel(); }
  }

  // ----------------------------------------------------------------- typing ---
  function startTyping() {
    ui.typing.classList.add("rsw-typing-on");
    ui.typingText.textContent = "The assistant is typing";
    scrollToEnd(); // the indicator takes room from the log: keep the newest message in view
    clearTimeout(replyTimer);
    replyTimer = setTimeout(function () {
      stopTyping();
      showError("No reply yet. Please try again in a moment. " + cfg.offlineText);
    }, REPLY_TIMEOUT_MS);
  }

  function stopTyping() {
    clearTimeout(replyTimer);
    ui.typing.classList.remove("rsw-typing-on");
    ui.typingText.textContent = "";
  }

  // ------------------------------------------------------------- errors ---
  function showError(text) {
    ui.errorText.textContent = text;
    if (ui.error.hidden) ui.error.hidden = false;
    ui.root.classList.add("rsw-has-error");
  }

  function hideError() {
    ui.error.hidden = true;
    ui.root.classList.remove("rsw-has-error");
  }

  function showUnreachable() {
    stopTyping();
    showError("We can't reach the assistant right now. " + cfg.offlineText);
  }

  function retry() {
    ui.errorText.textContent = "Connecting\u2026";
    if (!socket) { ensureSocket(); return; }
    if (socket.connected) { requestSession(); return; }
    socket.disconnect();
    socket.connect();
  }

  // ------------------------------------------------------------ socket.io ---
  function ensureSocket() {
    if (socket || socketLoading) return;
    socketLoading = true;
    loadSocketIo(function () {
      socketLoading = false;
      socket = window.io(cfg.serverUrl, {
        path: cfg.socketPath,
        reconnectionDelay: 1000,
        reconnectionDelayMax: 10000,
        timeout: 10000
      });
      socket.on("connect", function () { requestSession(); });
      socket.on("session_confirm", function (data) {
        var id = typeof data === "string" ? data : (data && data.session_id);
        if (!id) return;
        state.sessionId = String(id);
        connected = true;
        everConnected = true;
        hideError();
        ui.root.setAttribute("data-connection", "online");
        saveState();
        if (!state.messages.length && !state.greeted && cfg.initialPayload) {
          state.greeted = true;
          saveState();
          emitUser(cfg.initialPayload);
        }
      });
      socket.on("bot_uttered", onBotMessage);
      socket.on("connect_error", function () { connected = false; ui.root.setAttribute("data-connection", "offline"); showUnreachable(); });
      socket.on("disconnect", function (reason) {
        connected = false;
        ui.root.setAttribute("data-connection", "offline");
        if (reason === "io client disconnect") return; // our own restart or retry
        showUnreachable();
        if (reason === "io server disconnect") socket.connect(); // socket.io does not retry this one itself
      });
    }, function () {
      socketLoading = false;
      ui.root.setAttribute("data-connection", "offline");
      showUnreachable();
    });
  }

  function requestSession() {
    socket.emit("session_request", { session_id: state.sessionId || null });
  }

  function emitUser(payload) {
    socket.emit("user_uttered", { message: payload, session_id: state.sessionId });
    startTyping();
  }

  // Shows `shown` as the person's message and sends `payload` (or the text).
  function sendToBot(shown, payload) {
    if (!connected || !socket || !state.sessionId) {
      ensureSocket();
      showError((everConnected ? "The connection dropped, so your message was not sent. " : "We can't reach the assistant yet, so your message was not sent. ") + cfg.offlineText);
      return false;
    }
    disableChoices();
    addMessage({ from: "user", text: shown, ts: Date.now() });
    emitUser(payload || shown);
    return true;
  }

  function restartConversation() {
    if (!window.confirm("Start a new conversation? The messages shown here will be cleared from this device.")) return;
    stopTyping();
    clearState();
    state.open = true;
    renderAll();
    saveState();
    if (socket) {
      // a fresh connection leaves the old session's room; the server then
      // issues a new session id and the greeting follows on confirm
      connected = false;
      socket.disconnect();
      socket.connect();
    } else {
      ensureSocket();
    }
    ui.input.focus();
  }
})();
