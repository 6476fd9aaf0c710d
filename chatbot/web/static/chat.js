/* The web chat page: talks to the widget routes; every text is rendered as text, never as HTML. */
(function () {
  "use strict";

  var script = document.currentScript;
  // Same server by default; a support line's own page may load this script with data-api.
  var api = script && script.dataset.api ? script.dataset.api.replace(/\/+$/, "") + "/" : "";
  // Phone numbers in a reply: the UK emergency and helpline numbers the content gives
  // (999, 111, 116 123) and 10-11 digit numbers starting with 0 (0808 2000 247).
  var PHONE = /(^|[^\d])(999|111|116 ?123|0\d{3} ?\d{3} ?\d{3,4}|0\d{3} ?\d{4} ?\d{3}|0\d{2} ?\d{4} ?\d{4})(?![\d])/g;

  var chat = { session: null, token: null, topics: {}, busy: false };
  var el = {};

  function $(id) { return document.getElementById(id); }

  function node(tag, className, text) {
    var n = document.createElement(tag);
    if (className) { n.className = className; }
    if (text !== undefined) { n.textContent = text; }
    return n;
  }

  /* Text with phone numbers as tel: links, built from text nodes only. */
  function linked(text, into) {
    var last = 0, m;
    PHONE.lastIndex = 0;
    while ((m = PHONE.exec(text)) !== null) {
      var start = m.index + m[1].length;
      into.appendChild(document.createTextNode(text.slice(last, start)));
      var a = node("a", "", m[2]);
      a.href = "tel:" + m[2].replace(/\s+/g, "");
      into.appendChild(a);
      last = start + m[2].length;
    }
    into.appendChild(document.createTextNode(text.slice(last)));
    return into;
  }

  function paragraphs(text, into) {
    text.split(/\n\s*\n/).forEach(function (para) {
      var p = node("p");
      para.split("\n").forEach(function (line, i) {
        if (i) { p.appendChild(node("br")); }
        linked(line, p);
      });
      into.appendChild(p);
    });
  }

  function longDate(iso) {
    var d = new Date(iso + "T00:00:00Z");
    if (isNaN(d.getTime())) { return iso; }
    return d.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  }

  function dated(label, iso, into) {
    into.appendChild(document.createTextNode(label + " "));
    var t = node("time", "", longDate(iso));
    t.dateTime = iso;
    into.appendChild(t);
  }

  function sourcesOf(sources) {
    var box = node("div", "sources");
    box.appendChild(node("h3", "", sources.length > 1 ? "Sources" : "Source"));
    var list = node("ul");
    sources.forEach(function (s) {
      var li = node("li", "source");
      var name = s.publisher + ": " + s.title;
      if (s.section && s.section !== s.title) { name += ", section \u201c" + s.section + "\u201d"; }
      li.appendChild(node("span", "", name + (/[.?!]$/.test(name) ? " " : ". ")));
      var when = node("span", "reviewed");
      if (s.last_reviewed) { dated("Last reviewed", s.last_reviewed, when); }
      if (s.next_review_due) {
        if (s.last_reviewed) { when.appendChild(document.createTextNode("; ")); }
        dated("next review due", s.next_review_due, when);
      }
      if (s.last_reviewed || s.next_review_due) { when.appendChild(document.createTextNode(".")); }
      li.appendChild(when);
      list.appendChild(li);
    });
    box.appendChild(list);
    return box;
  }

  function optionsOf(options) {
    var box = node("div", "options");
    var list = node("ol");
    list.setAttribute("aria-label", "Choose one");
    options.forEach(function (id, i) {
      var li = node("li");
      var title = chat.topics[id] || id;
      var b = node("button", "option", (i + 1) + ". " + title);
      b.type = "button";
      // The dialogue reads a bare number as a choice among the options it offered.
      b.addEventListener("click", function () { send(String(i + 1), title); });
      li.appendChild(b);
      list.appendChild(li);
    });
    box.appendChild(list);
    return box;
  }

  function addUser(text) {
    var m = node("div", "msg user");
    m.appendChild(node("p", "who", "You"));
    paragraphs(text, m);
    el.log.appendChild(m);
  }

  function addBot(reply) {
    var urgent = reply.kind === "safety";
    var m = node("div", "msg bot" + (urgent ? " urgent" : ""));
    m.dataset.kind = reply.kind;
    m.appendChild(node("p", "who", urgent ? "Urgent: please act now" : "Sarcoma information"));
    paragraphs(reply.text, m);
    if (reply.options && reply.options.length) { m.appendChild(optionsOf(reply.options)); }
    if (reply.sources && reply.sources.length) { m.appendChild(sourcesOf(reply.sources)); }
    el.log.appendChild(m);
    announce(reply.text, urgent);
    m.scrollIntoView({ block: "nearest" });
  }

  function announce(text, urgent) {
    var region = urgent ? el.announceUrgent : el.announce;
    region.textContent = "";
    // A fresh change, so the same words said twice are read twice.
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function status(text, isError) {
    el.status.textContent = text;
    el.status.className = "status" + (isError ? " error" : "");
  }

  function setBusy(busy) {
    chat.busy = busy;
    var off = busy || !chat.token;
    el.message.disabled = !chat.token;
    el.send.disabled = off;
    el.person.disabled = off;
  }

  function retireOptions() {
    Array.prototype.forEach.call(el.log.querySelectorAll("button.option"), function (b) { b.disabled = true; });
  }

  function request(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (chat.token) { headers["X-Widget-Token"] = chat.token; }
    return fetch(api + path, {
      method: method, headers: headers, credentials: "omit", referrerPolicy: "no-referrer",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (res) {
      var renewed = res.headers.get("X-Widget-Token");
      if (renewed) { chat.token = renewed; }
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var err = new Error(data.error || ("the server answered " + res.status));
          err.status = res.status;
          throw err;
        }
        return data;
      });
    });
  }

  function failed(err) {
    if (err.status === 401 || err.status === 404) {
      chat.token = null;
      status("This chat has ended (" + err.message + "). You can start a new chat.", true);
      el.restart.hidden = false;
    } else if (err.status === 429) {
      status("Please wait a moment: " + err.message + ".", true);
    } else if (err.status) {
      status("Sorry, that did not work: " + err.message + ".", true);
    } else {
      status("Sorry, the chat cannot reach the server. Please check your connection and try again.", true);
    }
  }

  function turn(path, body, shown, typed) {
    if (chat.busy || !chat.token) { return; }
    retireOptions();
    addUser(shown);
    setBusy(true);
    status("Waiting for a reply\u2026");
    request("POST", path, body).then(function (reply) {
      status("");
      addBot(reply);
    }).catch(function (err) {
      // Nothing typed is lost: a message the server refused goes back in the box.
      if (typed && !el.message.value) { el.message.value = typed; }
      failed(err);
    }).then(function () {
      setBusy(false);
      if (chat.token) { el.message.focus(); }
    });
  }

  function send(text, shown) {
    turn("v1/widget/sessions/" + encodeURIComponent(chat.session) + "/messages", { text: text }, shown || text,
         shown ? "" : text);
  }

  function start() {
    chat.token = null;
    setBusy(true);
    el.restart.hidden = true;
    status("Starting the chat\u2026");
    request("POST", "v1/widget/session").then(function (s) {
      chat.session = s.session;
      chat.token = s.token;
      chat.topics = s.topics || {};
      el.disclaimer.textContent = "";
      linked(s.disclaimer || "", el.disclaimer);
      el.disclaimer.hidden = !s.disclaimer;
      status("");
    }).catch(failed).then(function () { setBusy(false); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    ["log", "ask", "message", "send", "person", "restart", "status", "disclaimer", "announce"].forEach(function (id) {
      el[id] = $(id);
    });
    el.announceUrgent = $("announce-urgent");

    el.ask.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = el.message.value.trim();
      if (!text) { status("Please type a question first.", true); el.message.focus(); return; }
      el.message.value = "";
      send(text);
    });
    el.message.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        el.ask.requestSubmit();
      }
    });
    el.person.addEventListener("click", function () {
      turn("v1/widget/sessions/" + encodeURIComponent(chat.session) + "/handoff", undefined, el.person.textContent);
    });
    el.restart.addEventListener("click", function () {
      Array.prototype.forEach.call(el.log.querySelectorAll(".msg"), function (m) { m.remove(); });
      start();
      el.message.focus();
    });
    start();
  });
}());
