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
 * This file holds config, state, storage and the socket; widget-render.js
 * (loaded from the same folder) builds the DOM, safely: no HTML parsing.
 */
(function () {
  "use strict";

  if (window.__clinicChatWidget) return; // embedded twice: keep the first
  var script = document.currentScript || findOwnScript();
  if (!script) return;

  var WIDGET_VERSION = "1.0.0";
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
  var render = null; // widget-render.js: the panel's and messages' DOM

  // ------------------------------------------------------------------ boot ---
  loadCss(function () { loadRender(startUi); });

  function startUi() {
    buildUi();
    renderAll();
    if (state.open || cfg.openOnLoad) openPanel(false);
    // Reconnect at once when there is a conversation to continue (staff may
    // reply to it); otherwise connect only when someone opens the chat.
    if (state.sessionId) ensureSocket();
  }

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

  function loadRender(done) {
    if (window.__clinicChatWidgetRender) { render = window.__clinicChatWidgetRender; done(); return; }
    var s = document.createElement("script");
    s.src = cfg.base + "widget-render.js";
    s.async = true;
    function failed() { if (window.console) console.error("[chat widget] widget-render.js (beside widget.js) did not load; widget not started."); }
    s.onload = function () { render = window.__clinicChatWidgetRender; render ? done() : failed(); };
    s.onerror = failed;
    (document.head || document.documentElement).appendChild(s);
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

  function buildUi() {
    ui = render.buildUi(cfg);
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

  // -------------------------------------------------------------- messages ---
  function renderAll() {
    while (ui.log.firstChild) ui.log.removeChild(ui.log.firstChild);
    state.messages.forEach(function (m, idx) {
      // only the newest message's buttons stay usable after a reload
      if (m.buttons && m.buttons.length && idx !== state.messages.length - 1) m.used = true;
      ui.log.appendChild(render.messageNode(m, false, chooseReply, chosenReply));
    });
    scrollToEnd();
  }

  // a quick reply was clicked: send it; once it is marked chosen, keep it and move focus
  // (the clicked button is now disabled: keep focus somewhere useful)
  function chooseReply(button) { return sendToBot(button.title, button.payload); }
  function chosenReply() { saveState(); ui.input.focus(); }

  function addMessage(msg) {
    state.messages.push(msg);
    saveState();
    ui.log.appendChild(render.messageNode(msg, true, chooseReply, chosenReply));
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

  function onBotMessage(raw) {
    if (!raw || typeof raw !== "object") return;
    var text = typeof raw.text === "string" ? raw.text : "";
    var buttons = render.normaliseButtons(raw.quick_replies || raw.buttons);
    var urgency = render.pickUrgency(raw);
    var image = raw.attachment && raw.attachment.type === "image" && raw.attachment.payload ? raw.attachment.payload.src : null;
    if (!text && !buttons.length && !image) {
      // a bare custom payload, e.g. {"urgency": "emergency"} sent after its text
      var prev = urgency && lastBotMessage();
      if (prev && !prev.urgency) {
        prev.urgency = urgency;
        if (prev._node) render.markUrgent(prev._node, urgency, true);
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
