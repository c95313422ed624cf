/*!
 * Clinic chat widget, rendering: the DOM for the panel and for one message, and
 * bot text turned into elements. No state and no network: widget.js owns those
 * and loads this file from the same folder before it builds the panel.
 *
 * Safety by construction: bot text is only ever inserted with textContent /
 * createTextNode (no HTML parsing anywhere), links are built element by
 * element and limited to http(s), mailto and tel.
 */
(function () {
  "use strict";

  if (window.__clinicChatWidgetRender) return;

  var URGENCIES = { emergency: "Emergency advice", urgent: "Urgent advice", crisis: "Help is available now" };

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

  // The panel's elements (no event handlers: widget.js wires them), added to the page.
  function buildUi(cfg) {
    var ui = {};
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
    return ui;
  }

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
  // onChoice(button) sends a quick reply (true when sent); onChosen() runs after it is marked
  function messageNode(msg, live, onChoice, onChosen) {
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
          if (onChoice(b)) {
            msg.chosen = i;
            btn.classList.add("rsw-chosen");
            btn.setAttribute("aria-pressed", "true");
            onChosen();
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

  window.__clinicChatWidgetRender = {
    URGENCIES: URGENCIES,
    buildUi: buildUi,
    messageNode: messageNode,
    markUrgent: markUrgent,
    pickUrgency: pickUrgency,
    normaliseButtons: normaliseButtons
  };
})();
