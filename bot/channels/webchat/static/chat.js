// Web chat page: renders the assistant's events and sends what the citizen types or clicks.
// No inline scripts (CSP), no external resources. Bot text is Telegram's HTML subset and is
// rebuilt here from a whitelist: anything else is shown as text, never parsed as markup.
"use strict";

(function () {
  const MAX_CHARS = 4096;
  const WARN_CHARS = 3600;
  const POLL_TIMEOUT_S = 25;

  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("input");
  const sendButton = document.getElementById("send");
  const counter = document.getElementById("counter");
  const typing = document.getElementById("typing");
  const statusBox = document.getElementById("status");
  const toastBox = document.getElementById("toast");
  const quick = document.getElementById("quick");

  // ------------------------------------------------------------------ page language
  // Vietnamese first; "?lang=en" shows the page in English and tells the assistant so.
  const LANG = new URLSearchParams(window.location.search).get("lang") === "en" ? "en" : "vi";
  const TEXT = {
    vi: {
      title: "Trợ lý thủ tục hành chính",
      subtitle: "Hỏi về hồ sơ cần chuẩn bị, lệ phí, thời hạn và nơi nộp",
      other: "English", otherHref: "?lang=en",
      placeholder: "Nhập câu hỏi của bạn…", inputLabel: "Nhập câu hỏi của bạn",
      send: "Gửi", sendLabel: "Gửi câu hỏi",
      hint: "Ví dụ: “làm giấy khai sinh cho con”. Nhấn Enter để gửi, Shift + Enter để xuống dòng.",
      typing: "Trợ lý đang trả lời…", log: "Cuộc trò chuyện với trợ lý",
      skip: "Bỏ qua, đến ô nhập câu hỏi",
      spoiler: "Nội dung ẩn, nhấn để xem", choices: "Lựa chọn", bot: "Trợ lý", you: "Bạn",
      stale: "Nút này không còn dùng được. Vui lòng chọn lại.",
      tooFast: "Bạn gửi nhanh quá, vui lòng đợi trợ lý trả lời.",
      tooLong: "Tin nhắn quá dài.", failed: "Đã có lỗi xảy ra, vui lòng thử lại.",
      sendFailed: "Không gửi được tin nhắn. Vui lòng kiểm tra kết nối mạng.",
      pressFailed: "Không gửi được lựa chọn. Vui lòng kiểm tra kết nối mạng.",
      reconnecting: "Mất kết nối, đang thử kết nối lại…",
      connecting: "Chưa kết nối được với trợ lý, đang thử lại…",
      countOver: (n, max) => `${n}/${max} ký tự: tin nhắn dài quá, phần sau ký tự thứ ${max} sẽ bị cắt bớt.`,
      count: (n, max) => `${n}/${max} ký tự`,
    },
    en: {
      title: "Public services assistant",
      subtitle: "Ask which documents to bring, the fees, the time limits and where to apply",
      other: "Tiếng Việt", otherHref: "?lang=vi",
      placeholder: "Type your question…", inputLabel: "Type your question",
      send: "Send", sendLabel: "Send the question",
      hint: "For example: “register a birth for my child”. Enter sends, Shift + Enter adds a line.",
      typing: "The assistant is answering…", log: "Conversation with the assistant",
      skip: "Skip to the question box",
      spoiler: "Hidden text, tap to show", choices: "Choices", bot: "Assistant", you: "You",
      stale: "This button can no longer be used. Please choose again.",
      tooFast: "You are sending too fast; please wait for the answer.",
      tooLong: "The message is too long.", failed: "Something went wrong; please try again.",
      sendFailed: "Could not send the message. Please check the network connection.",
      pressFailed: "Could not send your choice. Please check the network connection.",
      reconnecting: "Connection lost, reconnecting…",
      connecting: "Cannot reach the assistant yet, retrying…",
      countOver: (n, max) => `${n}/${max} characters: too long, text after character ${max} will be cut.`,
      count: (n, max) => `${n}/${max} characters`,
    },
  }[LANG];

  function localisePage() {
    document.documentElement.lang = LANG;
    document.title = TEXT.title;
    const set = (selector, apply) => {
      const el = document.querySelector(selector);
      if (el) apply(el);
    };
    set(".app-header h1", (el) => { el.textContent = TEXT.title; });
    set(".app-header .subtitle", (el) => { el.textContent = TEXT.subtitle; });
    set("#lang-switch", (el) => { el.textContent = TEXT.other; el.setAttribute("href", TEXT.otherHref); });
    set(".skip-link", (el) => { el.textContent = TEXT.skip; });
    set("#log", (el) => { el.setAttribute("aria-label", TEXT.log); });
    set(".typing-label", (el) => { el.textContent = TEXT.typing; });
    set("label[for=input]", (el) => { el.textContent = TEXT.inputLabel; });
    set("#input", (el) => { el.setAttribute("placeholder", TEXT.placeholder); });
    set("#send", (el) => { el.setAttribute("aria-label", TEXT.sendLabel); });
    set("#send span", (el) => { el.textContent = TEXT.send; });
    set("#hint", (el) => { el.textContent = TEXT.hint; });
  }
  localisePage();

  let lastSeq = 0;
  let pending = 0;
  let typingUntil = 0;
  let clientSeq = 0;
  const localEchoes = new Set(); // client_ids of user bubbles already drawn optimistically

  // ------------------------------------------------------------------ sanitiser

  const SIMPLE_TAGS = {
    b: "b", strong: "b", i: "i", em: "i", u: "u", ins: "u",
    s: "s", strike: "s", del: "s", code: "code", pre: "pre",
  };
  const TAG_RE = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*>/g;
  const ATTR_RE = /([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;

  function decodeEntities(text) {
    // Telegram supports &lt; &gt; &amp; &quot; and numeric entities only.
    return text.replace(/&(lt|gt|amp|quot|#(\d{1,7})|#x([0-9a-fA-F]{1,6}));/g, (all, name, dec, hex) => {
      if (name === "lt") return "<";
      if (name === "gt") return ">";
      if (name === "amp") return "&";
      if (name === "quot") return '"';
      const code = dec !== undefined ? parseInt(dec, 10) : parseInt(hex, 16);
      if (code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)) {
        return String.fromCodePoint(code);
      }
      return all;
    });
  }

  function parseAttrs(source) {
    const attrs = {};
    ATTR_RE.lastIndex = 0;
    let match;
    while ((match = ATTR_RE.exec(source)) !== null) {
      const value = match[2] ?? match[3] ?? match[4] ?? "";
      attrs[match[1].toLowerCase()] = decodeEntities(value);
    }
    return attrs;
  }

  function safeUrl(href) {
    try {
      const url = new URL(href, window.location.href);
      if (url.protocol === "http:" || url.protocol === "https:") return url.href;
    } catch (_error) {
      // not a URL: shown as plain text
    }
    return null;
  }

  function elementFor(tag, attrs) {
    if (SIMPLE_TAGS[tag]) return document.createElement(SIMPLE_TAGS[tag]);
    if (tag === "tg-spoiler" || (tag === "span" && attrs["class"] === "tg-spoiler")) {
      const span = document.createElement("span");
      span.className = "spoiler";
      span.tabIndex = 0;
      span.setAttribute("role", "button");
      span.setAttribute("aria-label", TEXT.spoiler);
      return span;
    }
    if (tag === "blockquote") {
      const quote = document.createElement("blockquote");
      if ("expandable" in attrs) quote.className = "expandable";
      return quote;
    }
    if (tag === "a") {
      const url = safeUrl(attrs.href || "");
      if (url === null) return document.createElement("span");
      const link = document.createElement("a");
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      return link;
    }
    if (tag === "tg-emoji") return document.createElement("span");
    return null;
  }

  // Builds a DocumentFragment from Telegram HTML. Unknown tags and unbalanced closing tags
  // stay visible as literal text.
  function renderTelegramHtml(html) {
    const root = document.createDocumentFragment();
    const stack = [{ tag: null, node: root }];
    const top = () => stack[stack.length - 1].node;
    let last = 0;
    TAG_RE.lastIndex = 0;
    let match;
    const pushText = (raw) => {
      if (raw) top().appendChild(document.createTextNode(decodeEntities(raw)));
    };
    while ((match = TAG_RE.exec(html)) !== null) {
      pushText(html.slice(last, match.index));
      last = TAG_RE.lastIndex;
      const closing = match[1] === "/";
      const tag = match[2].toLowerCase();
      if (closing) {
        let depth = -1;
        for (let i = stack.length - 1; i > 0; i -= 1) {
          if (stack[i].tag === tag) { depth = i; break; }
        }
        if (depth > 0) stack.length = depth;
        else top().appendChild(document.createTextNode(match[0]));
        continue;
      }
      const element = elementFor(tag, parseAttrs(match[3] || ""));
      if (element === null) {
        top().appendChild(document.createTextNode(match[0]));
        continue;
      }
      top().appendChild(element);
      stack.push({ tag, node: element });
    }
    pushText(html.slice(last));
    return root;
  }

  // ------------------------------------------------------------------ rendering

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 120;
  }

  function scrollToEnd(force) {
    if (force || nearBottom()) log.scrollTop = log.scrollHeight;
  }

  function findBubble(messageId) {
    return log.querySelector(`.msg[data-message-id="${Number(messageId)}"]`);
  }

  function renderKeyboard(buttons, messageId) {
    if (!buttons || buttons.length === 0) return null;
    const keyboard = document.createElement("div");
    keyboard.className = "keyboard";
    keyboard.setAttribute("role", "group");
    keyboard.setAttribute("aria-label", TEXT.choices);
    for (const row of buttons) {
      const rowBox = document.createElement("div");
      rowBox.className = "kb-row";
      for (const spec of row) {
        let control;
        if (typeof spec.url === "string") {
          const url = safeUrl(spec.url);
          if (url === null) continue;
          control = document.createElement("a");
          control.href = url;
          control.target = "_blank";
          control.rel = "noopener noreferrer";
          control.className = "kb-btn kb-link";
        } else if (typeof spec.callback_data === "string") {
          control = document.createElement("button");
          control.type = "button";
          control.className = "kb-btn";
          control.addEventListener("click", () => pressButton(keyboard, messageId, spec.callback_data));
        } else {
          continue;
        }
        control.textContent = spec.text;
        rowBox.appendChild(control);
      }
      if (rowBox.childElementCount > 0) keyboard.appendChild(rowBox);
    }
    return keyboard.childElementCount > 0 ? keyboard : null;
  }

  function fillBotBubble(bubble, event) {
    bubble.replaceChildren();
    const body = document.createElement("div");
    body.className = "msg-body";
    body.appendChild(renderTelegramHtml(event.html || ""));
    bubble.appendChild(body);
    const keyboard = renderKeyboard(event.buttons, event.message_id);
    if (keyboard) bubble.appendChild(keyboard);
  }

  function addBotMessage(event) {
    const bubble = document.createElement("article");
    bubble.className = "msg bot";
    bubble.dataset.messageId = String(event.message_id);
    bubble.setAttribute("aria-label", TEXT.bot);
    fillBotBubble(bubble, event);
    log.appendChild(bubble);
    if (Array.isArray(event.keyboard)) renderQuickReplies(event.keyboard);
  }

  function addUserMessage(text, messageId) {
    const bubble = document.createElement("article");
    bubble.className = "msg user";
    bubble.setAttribute("aria-label", TEXT.you);
    if (messageId !== undefined) bubble.dataset.messageId = String(messageId);
    const body = document.createElement("div");
    body.className = "msg-body";
    body.textContent = text;
    bubble.appendChild(body);
    log.appendChild(bubble);
    scrollToEnd(true);
    return bubble;
  }

  function renderQuickReplies(rows) {
    quick.replaceChildren();
    for (const row of rows) {
      for (const text of row) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "quick-btn";
        button.textContent = text;
        button.addEventListener("click", () => sendText(text));
        quick.appendChild(button);
      }
    }
    quick.hidden = quick.childElementCount === 0;
  }

  let toastTimer = 0;
  function showToast(text, alert) {
    toastBox.textContent = text;
    toastBox.classList.toggle("alert", Boolean(alert));
    toastBox.hidden = false;
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(() => { toastBox.hidden = true; }, alert ? 8000 : 4000);
  }

  function updateTyping() {
    typing.hidden = !(pending > 0 || Date.now() < typingUntil);
  }

  function applyEvent(event) {
    switch (event.type) {
      case "message":
        addBotMessage(event);
        typingUntil = 0;
        break;
      case "edit": {
        const bubble = findBubble(event.message_id);
        if (bubble && bubble.classList.contains("bot")) fillBotBubble(bubble, event);
        else addBotMessage(event);
        break;
      }
      case "delete": {
        const bubble = findBubble(event.message_id);
        if (bubble) bubble.remove();
        break;
      }
      case "user":
        if (event.client_id && localEchoes.has(event.client_id)) {
          localEchoes.delete(event.client_id);
        } else {
          addUserMessage(event.text || "", event.message_id);
        }
        break;
      case "toast":
        showToast(event.text || "", event.alert);
        break;
      case "typing":
        typingUntil = Date.now() + 5000;
        window.setTimeout(updateTyping, 5100);
        break;
      default:
        break; // newer server, older page: ignore what we do not know
    }
  }

  // `contiguous`: answers to our own POSTs are applied only if nothing is missing before
  // them; otherwise the long-poll, which always starts at lastSeq, brings everything in order.
  function applyEvents(events, contiguous) {
    const follow = nearBottom();
    for (const event of events || []) {
      if (event.seq <= lastSeq) continue;
      if (contiguous && event.seq !== lastSeq + 1) break;
      applyEvent(event);
      lastSeq = event.seq;
    }
    updateTyping();
    scrollToEnd(follow);
  }

  // ------------------------------------------------------------------ network

  async function postJson(url, payload) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    let data = null;
    try {
      data = await response.json();
    } catch (_error) {
      data = null;
    }
    return { ok: response.ok, status: response.status, data };
  }

  function explain(result) {
    const code = result.data && result.data.error;
    if (code === "stale_button" || code === "unknown_message") return TEXT.stale;
    if (code === "too_many_requests") return TEXT.tooFast;
    if (code === "payload_too_large") return TEXT.tooLong;
    return TEXT.failed;
  }

  async function sendText(text, options) {
    const silent = Boolean(options && options.silent);
    const payload = { text, lang: LANG };
    if (silent) {
      payload.silent = true;
    } else {
      clientSeq += 1;
      payload.client_id = `c${Date.now().toString(36)}${clientSeq}`;
      localEchoes.add(payload.client_id);
      addUserMessage(text);
    }
    pending += 1;
    updateTyping();
    try {
      const result = await postJson("/api/chat/messages", payload);
      if (result.ok) applyEvents(result.data.events, true);
      else showToast(explain(result), true);
    } catch (_error) {
      showToast(TEXT.sendFailed, true);
    } finally {
      pending -= 1;
      updateTyping();
    }
  }

  async function pressButton(keyboard, messageId, data) {
    const controls = keyboard.querySelectorAll("button");
    controls.forEach((control) => { control.disabled = true; });
    pending += 1;
    updateTyping();
    try {
      const result = await postJson("/api/chat/callbacks", { message_id: messageId, data, lang: LANG });
      if (result.ok) applyEvents(result.data.events, true);
      else showToast(explain(result), true);
    } catch (_error) {
      showToast(TEXT.pressFailed, true);
    } finally {
      // The keyboard may have been replaced by an edit; re-enabling a detached one is harmless.
      controls.forEach((control) => { control.disabled = false; });
      pending -= 1;
      updateTyping();
    }
  }

  function sleep(ms) {
    return new Promise((resolve) => window.setTimeout(resolve, ms));
  }

  async function fetchEvents(timeout) {
    const response = await fetch(`/api/chat/events?after=${lastSeq}&timeout=${timeout}`, {
      credentials: "same-origin",
      cache: "no-store",
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response.json();
  }

  function handlePoll(data) {
    if (data.reset) {
      // The server does not know our history (it restarted or forgot us): start over.
      log.querySelectorAll(".msg").forEach((bubble) => bubble.remove());
      lastSeq = 0;
    }
    applyEvents(data.events, false);
    return data;
  }

  async function pollForever() {
    let backoff = 1000;
    for (;;) {
      try {
        const data = handlePoll(await fetchEvents(POLL_TIMEOUT_S));
        statusBox.textContent = "";
        backoff = 1000;
        if (data.reset && data.cursor === 0) await sendText("/start", { silent: true });
      } catch (_error) {
        statusBox.textContent = TEXT.reconnecting;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 30000);
      }
    }
  }

  async function start() {
    try {
      const data = handlePoll(await fetchEvents(0));
      if ((data.events || []).length === 0 && data.cursor === 0) {
        await sendText("/start", { silent: true }); // first visit: open the main menu
      }
    } catch (_error) {
      statusBox.textContent = TEXT.connecting;
    }
    pollForever();
  }

  // ------------------------------------------------------------------ composer

  function codePoints(text) {
    return Array.from(text).length; // the server counts characters, not UTF-16 units
  }

  function updateCounter() {
    const length = codePoints(input.value);
    counter.classList.toggle("warn", length > MAX_CHARS);
    if (length > MAX_CHARS) {
      counter.textContent = TEXT.countOver(length, MAX_CHARS);
    } else if (length > WARN_CHARS) {
      counter.textContent = TEXT.count(length, MAX_CHARS);
    } else {
      counter.textContent = "";
    }
  }

  function autoGrow() {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    updateCounter();
    autoGrow();
    sendText(text);
    input.focus();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit(sendButton);
    }
  });

  input.addEventListener("input", () => {
    updateCounter();
    autoGrow();
  });

  log.addEventListener("click", (event) => {
    const spoiler = event.target.closest(".spoiler");
    if (spoiler) spoiler.classList.add("revealed");
  });
  log.addEventListener("keydown", (event) => {
    const spoiler = event.target.closest(".spoiler");
    if (spoiler && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      spoiler.classList.add("revealed");
    }
  });

  window.webchat = { renderTelegramHtml }; // exposed for tests and debugging
  start();
})();
