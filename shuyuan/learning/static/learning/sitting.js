/*
 * The exam sitting page (learning/sitting/attempt.html): saves each answer as it is given,
 * keeps unsent answers and focus events in an outbox in localStorage (per attempt) so nothing
 * typed offline is lost, counts down to the server's deadline and submits at 0.
 *
 * No framework, no inline script (CSP): configuration and translated texts come from the
 * data- attributes of #sitting. Answers are POSTed as JSON {paper_item, answer, revision,
 * device}; the server answers {status: "saved"|"stale", revision, saved_at, answer}.
 */
(function () {
  "use strict";

  var root = document.getElementById("sitting");
  if (!root) {
    return;
  }
  var cfg = root.dataset;
  var attemptId = cfg.attempt;
  var STORE = "shuyuan.exam." + attemptId;
  var TEXT_DEBOUNCE_MS = 800;
  var EVENTS_DEBOUNCE_MS = 2000;
  var RETRY_MS = 15000;
  var EVENTS_BATCH = 100;
  var EVENTS_KEPT = 500;
  var FLUSH_WAIT_MS = 5000;

  // --- storage ---------------------------------------------------------------------------------

  function load(key, fallback) {
    try {
      var raw = window.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : fallback;
    } catch (e) {
      return fallback;
    }
  }

  function store(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (e) {
      /* storage full or disabled: the page still saves while online */
    }
  }

  function forget(key) {
    try {
      window.localStorage.removeItem(key);
    } catch (e) {
      /* ignore */
    }
  }

  function randomId() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  var device = load("shuyuan.exam.device", null);
  if (!device) {
    device = randomId();
    store("shuyuan.exam.device", device);
  }

  var outbox = load(STORE + ".outbox", null);
  if (!outbox || typeof outbox !== "object") {
    outbox = {};
  }
  outbox.answers = outbox.answers && typeof outbox.answers === "object" ? outbox.answers : {};
  outbox.events = Array.isArray(outbox.events) ? outbox.events : [];

  function persist() {
    if (Object.keys(outbox.answers).length || outbox.events.length) {
      store(STORE + ".outbox", outbox);
    } else {
      forget(STORE + ".outbox");
    }
  }

  // --- questions -------------------------------------------------------------------------------

  var questions = {};
  Array.prototype.forEach.call(root.querySelectorAll("[data-question]"), function (el) {
    questions[el.dataset.question] = {
      id: el.dataset.question,
      el: el,
      kind: el.dataset.kind,
      revision: parseInt(el.dataset.revision, 10) || 0,
      inflight: null,
      again: false,
      timer: null,
      saved: null,
    };
  });

  function all(el, selector) {
    return Array.prototype.slice.call(el.querySelectorAll(selector));
  }

  /* The answer the inputs show: {answer, complete}. Unanswered is null. */
  function readAnswer(q) {
    var el = q.el;
    var values;
    switch (q.kind) {
      case "single":
      case "true_false": {
        var checked = el.querySelector("input[type=radio]:checked");
        if (!checked) {
          return { answer: null, complete: true };
        }
        if (q.kind === "true_false") {
          return { answer: checked.value === "true", complete: true };
        }
        return { answer: checked.value, complete: true };
      }
      case "multiple":
        values = all(el, "input[type=checkbox]:checked").map(function (i) {
          return i.value;
        });
        return { answer: values.length ? values : null, complete: true };
      case "fill_blank":
        values = all(el, "input[data-blank]").map(function (i) {
          return i.value;
        });
        return {
          answer: values.some(function (v) {
            return v.trim();
          })
            ? values
            : null,
          complete: true,
        };
      case "numeric": {
        var text = el.querySelector("input[type=text]").value.trim();
        return { answer: text || null, complete: true };
      }
      case "matching": {
        var pairs = {};
        var any = false;
        all(el, "select[data-left]").forEach(function (s) {
          if (s.value) {
            pairs[s.dataset.left] = s.value;
            any = true;
          }
        });
        return { answer: any ? pairs : null, complete: true };
      }
      case "ordering": {
        values = all(el, "select[data-position]").map(function (s) {
          return s.value;
        });
        var filled = values.filter(Boolean);
        if (!filled.length) {
          return { answer: null, complete: true };
        }
        var distinct = filled.filter(function (v, i) {
          return filled.indexOf(v) === i;
        });
        return {
          answer: values,
          complete: filled.length === values.length && distinct.length === values.length,
        };
      }
      case "short_answer": {
        var area = el.querySelector("textarea").value;
        return { answer: area.trim() ? area : null, complete: true };
      }
      default:
        return { answer: null, complete: false };
    }
  }

  /* Show ``answer`` (the server's, or one kept in the outbox) in the inputs. */
  function writeAnswer(q, answer) {
    var el = q.el;
    switch (q.kind) {
      case "single":
      case "true_false":
        all(el, "input[type=radio]").forEach(function (i) {
          i.checked = answer !== null && answer !== undefined && i.value === String(answer);
        });
        break;
      case "multiple":
        all(el, "input[type=checkbox]").forEach(function (i) {
          i.checked = Array.isArray(answer) && answer.indexOf(i.value) >= 0;
        });
        break;
      case "fill_blank":
        all(el, "input[data-blank]").forEach(function (i) {
          var n = parseInt(i.dataset.blank, 10);
          i.value = Array.isArray(answer) && answer[n] ? answer[n] : "";
        });
        break;
      case "numeric":
        el.querySelector("input[type=text]").value = answer === null ? "" : String(answer);
        break;
      case "matching":
        all(el, "select[data-left]").forEach(function (s) {
          s.value = answer && answer[s.dataset.left] ? answer[s.dataset.left] : "";
        });
        break;
      case "ordering":
        all(el, "select[data-position]").forEach(function (s) {
          var n = parseInt(s.dataset.position, 10) - 1;
          s.value = Array.isArray(answer) && answer[n] ? answer[n] : "";
        });
        break;
      case "short_answer":
        el.querySelector("textarea").value = answer === null ? "" : String(answer);
        break;
    }
  }

  function isAnswered(answer) {
    if (answer === null || answer === undefined || answer === "") {
      return false;
    }
    if (Array.isArray(answer)) {
      return answer.some(Boolean);
    }
    if (typeof answer === "object") {
      return Object.keys(answer).length > 0;
    }
    return true;
  }

  function setState(q, state, message) {
    var el = document.getElementById("save-state-" + q.id);
    if (!el) {
      return;
    }
    var texts = {
      saved: cfg.textSaved,
      saving: cfg.textSaving,
      offline: cfg.textOffline,
      error: cfg.textError,
      incomplete: cfg.textIncomplete,
      stale: cfg.textStale,
      empty: cfg.textUnanswered,
    };
    el.dataset.state = state;
    el.textContent = message ? texts[state] + " — " + message : texts[state];
  }

  function updateProgress() {
    var answered = 0;
    var total = 0;
    Object.keys(questions).forEach(function (id) {
      var q = questions[id];
      var done = isAnswered(readAnswer(q).answer);
      total += 1;
      answered += done ? 1 : 0;
      var link = document.getElementById("nav-" + id);
      if (link) {
        link.dataset.answered = done ? "true" : "false";
        link.textContent = q.el.dataset.number + (done ? " ✓" : "");
      }
    });
    var count = document.getElementById("unanswered-count");
    if (count && cfg.textUnansweredCount) {
      count.textContent = cfg.textUnansweredCount.replace("%(count)s", String(total - answered));
    }
  }

  // --- saving ----------------------------------------------------------------------------------

  /* One request at a time, in the order they were made: a later save of a question can never
     overtake an earlier one on the wire, and the server sees one request per page at once. */
  var lane = Promise.resolve();

  function post(url, body) {
    var run = function () {
      return postNow(url, body);
    };
    var result = lane.then(run, run);
    lane = result.catch(function () {});
    return result;
  }

  function postNow(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": cfg.csrf,
      },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return null;
        })
        .then(function (data) {
          return { status: response.status, ok: response.ok, data: data };
        });
    });
  }

  /* Put the answer the inputs show in the outbox and send it. */
  function queue(q) {
    clearTimeout(q.timer);
    q.timer = null;
    var read = readAnswer(q);
    updateProgress();
    if (!read.complete) {
      setState(q, "incomplete");
      return;
    }
    if (!q.inflight && !outbox.answers[q.id] && JSON.stringify(read.answer) === q.saved) {
      return; // nothing changed since the last save (a text box losing focus)
    }
    var pending = outbox.answers[q.id];
    outbox.answers[q.id] = {
      answer: read.answer,
      revision: pending && q.inflight ? pending.revision : q.revision,
    };
    persist();
    send(q);
  }

  function send(q) {
    if (q.inflight) {
      q.again = true;
      return q.inflight;
    }
    var entry = outbox.answers[q.id];
    if (!entry) {
      return Promise.resolve();
    }
    if (!navigator.onLine) {
      setState(q, "offline");
      return Promise.resolve();
    }
    setState(q, "saving");
    var body = {
      paper_item: parseInt(q.id, 10),
      answer: entry.answer,
      revision: entry.revision,
      device: device,
    };
    q.inflight = post(cfg.answerUrl, body)
      .then(function (reply) {
        var data = reply.data || {};
        var current = outbox.answers[q.id];
        if (reply.ok && (data.status === "saved" || data.status === "stale")) {
          q.revision = data.revision;
          q.el.dataset.revision = String(data.revision);
          if (data.status === "stale") {
            delete outbox.answers[q.id];
            q.again = false;
            writeAnswer(q, data.answer);
            q.saved = JSON.stringify(readAnswer(q).answer);
            setState(q, "stale");
            var notice = document.getElementById("stale-notice");
            if (notice) {
              notice.hidden = false;
            }
          } else if (current === entry) {
            delete outbox.answers[q.id];
            q.saved = JSON.stringify(entry.answer);
            setState(q, "saved");
          } else if (current) {
            current.revision = data.revision; // a newer edit, based on what was just saved
          }
          updateProgress();
        } else if (reply.status === 401 || reply.status >= 500 || reply.status === 0) {
          setState(q, "error", data.message || "");
        } else {
          // Refused for good (deadline passed, submitted, invalid): the server logged it.
          if (current === entry) {
            delete outbox.answers[q.id];
          }
          setState(q, "error", data.message || "");
          if (data.code === "DEADLINE_PASSED" || data.code === "ATTEMPT_SUBMITTED") {
            window.location.reload();
          }
        }
      })
      .catch(function () {
        setState(q, "offline");
      })
      .then(function () {
        q.inflight = null;
        persist();
        if (q.again) {
          q.again = false;
          return send(q);
        }
        return undefined;
      });
    return q.inflight;
  }

  function flushAnswers() {
    return Promise.all(
      Object.keys(outbox.answers).map(function (id) {
        var q = questions[id];
        if (!q) {
          delete outbox.answers[id];
          return Promise.resolve();
        }
        return send(q);
      })
    );
  }

  // --- focus and connection events -------------------------------------------------------------

  var eventsTimer = null;
  var eventsInflight = null;

  function logEvent(kind) {
    outbox.events.push({ kind: kind, at: new Date().toISOString() });
    if (outbox.events.length > EVENTS_KEPT) {
      outbox.events.splice(0, outbox.events.length - EVENTS_KEPT);
    }
    persist();
    clearTimeout(eventsTimer);
    eventsTimer = setTimeout(flushEvents, EVENTS_DEBOUNCE_MS);
  }

  function flushEvents() {
    if (eventsInflight || !outbox.events.length || !navigator.onLine) {
      return eventsInflight || Promise.resolve();
    }
    var batch = outbox.events.slice(0, EVENTS_BATCH);
    eventsInflight = post(cfg.eventsUrl, { events: batch })
      .then(function (reply) {
        if (reply.ok || (reply.status >= 400 && reply.status < 500 && reply.status !== 401)) {
          outbox.events.splice(0, batch.length); // logged, or refused for good
        }
      })
      .catch(function () {
        /* offline: kept in the outbox */
      })
      .then(function () {
        eventsInflight = null;
        persist();
        if (outbox.events.length && navigator.onLine) {
          eventsTimer = setTimeout(flushEvents, EVENTS_DEBOUNCE_MS);
        }
      });
    return eventsInflight;
  }

  function flushAll() {
    return Promise.all([flushAnswers(), flushEvents()]);
  }

  function setOffline(offline) {
    var banner = document.getElementById("offline-banner");
    if (banner) {
      banner.hidden = !offline;
    }
  }

  window.addEventListener("blur", function () {
    logEvent("blur");
  });
  window.addEventListener("focus", function () {
    logEvent("focus");
  });
  document.addEventListener("visibilitychange", function () {
    logEvent(document.visibilityState === "hidden" ? "hidden" : "visible");
    if (document.visibilityState === "hidden") {
      flushAll();
    }
  });
  window.addEventListener("offline", function () {
    setOffline(true);
    logEvent("offline");
    Object.keys(outbox.answers).forEach(function (id) {
      if (questions[id]) {
        setState(questions[id], "offline");
      }
    });
  });
  window.addEventListener("online", function () {
    setOffline(false);
    logEvent("online");
    flushAll();
  });

  // --- inputs ----------------------------------------------------------------------------------

  function questionOf(target) {
    var el = target.closest ? target.closest("[data-question]") : null;
    return el ? questions[el.dataset.question] : null;
  }

  function isTyped(target) {
    return target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type === "text");
  }

  var answersForm = document.getElementById("answers");
  if (answersForm) {
    answersForm.addEventListener("submit", function (event) {
      event.preventDefault();
    });
    answersForm.addEventListener("input", function (event) {
      var q = questionOf(event.target);
      if (!q || !isTyped(event.target)) {
        return;
      }
      clearTimeout(q.timer);
      q.timer = setTimeout(function () {
        queue(q);
      }, TEXT_DEBOUNCE_MS);
    });
    answersForm.addEventListener("change", function (event) {
      var q = questionOf(event.target);
      if (q) {
        queue(q);
      }
    });
  }

  // --- countdown and submitting ----------------------------------------------------------------

  var submitForm = document.getElementById("submit-form");
  var submitting = false;

  function withTimeout(promise, ms) {
    return Promise.race([
      promise,
      new Promise(function (resolve) {
        setTimeout(resolve, ms);
      }),
    ]);
  }

  function submitNow() {
    if (submitting || !submitForm) {
      return;
    }
    submitting = true;
    Object.keys(questions).forEach(function (id) {
      if (questions[id].timer) {
        queue(questions[id]);
      }
    });
    withTimeout(flushAll(), FLUSH_WAIT_MS).then(function () {
      if (!Object.keys(outbox.answers).length) {
        outbox.events = [];
        forget(STORE + ".outbox");
      }
      HTMLFormElement.prototype.submit.call(submitForm);
    });
  }

  if (submitForm) {
    submitForm.addEventListener("submit", function (event) {
      event.preventDefault();
      submitNow();
    });
  }

  var deadline = Date.parse(cfg.deadline);
  var offset = Date.parse(cfg.serverNow) - Date.now();
  var countdown = document.getElementById("countdown");
  var timeUp = false;

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function tick() {
    var left = Math.max(0, Math.floor((deadline - (Date.now() + offset)) / 1000));
    if (countdown) {
      var h = Math.floor(left / 3600);
      var m = Math.floor((left % 3600) / 60);
      var s = left % 60;
      countdown.textContent =
        cfg.textRemaining + " " + (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s);
      countdown.dataset.secondsLeft = String(left);
    }
    if (left <= 0 && !timeUp) {
      timeUp = true;
      var notice = document.getElementById("time-up");
      if (notice) {
        notice.textContent = cfg.textTimeUp;
        notice.hidden = false;
      }
      if (navigator.onLine) {
        submitNow();
      } else {
        window.addEventListener("online", submitNow, { once: true });
      }
    }
  }

  if (!isNaN(deadline)) {
    tick();
    setInterval(tick, 1000);
  }

  // --- start: resume what the outbox kept --------------------------------------------------------

  Object.keys(questions).forEach(function (id) {
    questions[id].saved = JSON.stringify(readAnswer(questions[id]).answer);
  });
  Object.keys(outbox.answers).forEach(function (id) {
    var q = questions[id];
    if (!q) {
      delete outbox.answers[id];
      return;
    }
    writeAnswer(q, outbox.answers[id].answer);
    setState(q, "offline");
  });
  if (load(STORE + ".seen", false)) {
    logEvent("resumed");
  }
  store(STORE + ".seen", true);
  setOffline(!navigator.onLine);
  updateProgress();
  flushAll();
  setInterval(function () {
    if (navigator.onLine) {
      flushAll();
    }
  }, RETRY_MS);
})();
