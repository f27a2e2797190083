/*
 * The Soovita loader's decisions, shared by the script tag (script-tag.js) and the npm package
 * (module.js); scripts/build-widget puts each entry after this file. It decides whether this
 * visitor sees a survey (sampling, cooldown, fatigue, page rules, Do Not Track, the trigger)
 * before a single byte of wasm is fetched, and only then loads the card.
 * Kept tiny (budget 1.5 KB gzip for the script tag, tests/size.test.mjs): every page view pays
 * for it.
 *
 * start(site, api, lang, files): `site` is the site id, `api` the server's origin, `lang` the
 * site's language if it sets one; `files()` starts fetching the card and returns
 * [the wasm's Response promise, the glue module's promise]. Returns the soovita() function.
 */
function start(site, api, lang, files) {
  var navigator = window.navigator;
  var location = window.location;
  var now = Date.now;

  // Everything the loader remembers, under one localStorage key: per site, the sticky sampling
  // bucket and the end of the cooldown; `prompts`, when any Soovita survey was shown (the
  // fatigue cap); `outbox`, unacknowledged answers. Read afresh for every change, since other
  // tabs write it too. Where storage is disabled (it throws), the visitor is never remembered.
  function remember(change) {
    var memory = { outbox: {}, prompts: [] };
    try {
      memory = { ...memory, ...JSON.parse(localStorage.soovita || '{}') };
      if (change) {
        change(memory);
        localStorage.soovita = JSON.stringify(memory);
      }
    } catch (e) {}
    return memory;
  }
  function visitor() {
    return remember()[site] || {};
  }

  // The outbox holds [url, body] by response id. Each body carries every answer so far, so only
  // the newest per response is kept. The loader delivers them, not the card: after answering,
  // the visitor is in the cooldown and the card is never loaded again.
  function queue(id, url, body) {
    remember(function (memory) {
      memory.outbox[id] = [url, body];
    });
  }
  // Posts until the server has it: network errors, 429 and 5xx are retried with exponential
  // backoff and jitter (after Retry-After when given); any other 4xx is dropped, since sending
  // the same body again cannot fix it. The response id makes every repeat harmless.
  function deliver(id, url, body, attempt) {
    queue(id, url, body);
    // No keepalive: a page that closes meanwhile beacons the outbox on pagehide instead.
    fetch(url, { method: 'POST', body: body })
      .then(function (response) {
        var status = response.status;
        if (status >= 500 || status == 429) throw response.headers.get('retry-after');
        remember(function (memory) {
          if (memory.outbox[id]?.[1] == body) delete memory.outbox[id];
        });
        if (status >= 300) {
          response.text().then(function (text) {
            warn('answer dropped:', text);
          });
        }
      })
      .catch(function (retryAfter) {
        attempt = ~~attempt + 1;
        setTimeout(
          function () {
            var pending = remember().outbox[id];
            if (pending) deliver(id, pending[0], pending[1], attempt);
          },
          // Retry-After (seconds; anything else makes NaN) or 1, 2, 4… 64 s, each stretched by up
          // to twice at random so that many visitors' retries do not arrive together.
          (retryAfter * 2 || 2 ** Math.min(attempt, 7)) * 500 * (1 + Math.random())
        );
      });
  }
  // A closing page may not finish a fetch; a beacon goes out regardless (text/plain, so no
  // preflight). Everything still in the outbox is beaconed on pagehide, once per response (the
  // card keeps what is on screen there as it changes), and stays there until a later page gets
  // a 2xx for it.
  function send(deliver) {
    var box = remember().outbox;
    for (var id in box) deliver(id, box[id][0], box[id][1]);
  }
  send(deliver);
  window.addEventListener('pagehide', function () {
    send(function (id, url, body) {
      navigator.sendBeacon(url, body);
    });
  });

  var config; // the survey, once this visitor is known to be sampled in
  var card; // truthy from the moment the card is shown (the mounted card once it is)
  var wanted; // soovita('show') was called
  var disarm = function () {};
  var attributes = {};
  var path;
  var glue;
  var wasm;

  // soovita(command, value): 'show', 'attributes' ({name: value}), 'destroy'. Calls made
  // before this script arrived wait in the stub's queue (README: "JavaScript API").
  function command(name, value) {
    // The card reads them with every answer it sends, and leaves out what the server refuses.
    if (name == 'attributes') Object.assign(attributes, value);
    if (name == 'show') {
      wanted = 1;
      arm();
    }
    if (name == 'destroy') {
      disarm();
      card?.destroy?.();
      card = 1;
    }
  }
  var queued = window.soovita?.q;
  window.soovita = command;
  queued?.forEach(function (call) {
    command(...call);
  });

  // The card's files: fetched when the visitor is eligible and the trigger is a delay, so the
  // wait is spent downloading, or else when the trigger fires. Never for anyone else.
  function preload() {
    if (!glue) [wasm, glue] = files();
    return glue;
  }

  function show() {
    disarm();
    if (card) return;
    card = 1;
    remember(function (memory) {
      memory[site] = { ...memory[site], next: now() + config.cooldown_days * 864e5 };
      memory.prompts.push(now());
    });
    preload()
      .then(function (module) {
        return module.default({ module_or_path: wasm }).then(function () {
          if (card == 1) card = module.mount(config, api, deliver, queue, attributes);
        });
      })
      .catch(failed);
  }

  // Whether this page may show the survey now, and if so, waiting for its trigger. Run when the
  // survey arrives, on soovita('show') and on every single-page-app navigation, which cancels
  // a pending trigger first: a delay started on /pricing must not fire on /checkout.
  function arm() {
    disarm();
    if (!config || card) return;
    var targeting = config.survey.targeting;
    var trigger = targeting.trigger;
    // Whether a rule that excludes (or allows) exists, or with `matching`, one that matches.
    function rule(exclude, matching) {
      return targeting.pages.some(function (rule) {
        var value = rule.value;
        return !rule.exclude == !exclude && (!matching || (rule.match == 'exact' ? path == value : rule.match == 'regex' ? new RegExp(value).test(path) : path.indexOf(value) >= 0));
      });
    }
    // Displays of any Soovita survey on this site in the last 30 days: the fatigue cap.
    var prompts = remember().prompts.filter(function (time) {
      return time > now() - 2592e6;
    });
    if (visitor().next > now() || prompts.length >= targeting.prompts_per_month || rule(1, 1) || (rule() && !rule(0, 1))) return;
    if (wanted || trigger == 'load') return show();
    if (trigger.delay >= 0) {
      preload();
      var timer = setTimeout(show, trigger.delay * 1e3);
      disarm = function () {
        clearTimeout(timer);
      };
    } else if (trigger != 'api') {
      // Scrolled far enough, or the pointer left through the top edge (towards the tabs).
      var event = trigger.scroll ? 'scroll' : 'mouseout';
      var listener = function (e) {
        if (trigger.scroll ? scrollY + innerHeight >= (trigger.scroll / 100) * document.documentElement.scrollHeight : !e.relatedTarget && e.clientY <= 0) show();
      };
      document.addEventListener(event, listener);
      disarm = function () {
        document.removeEventListener(event, listener);
      };
      if (trigger.scroll) listener();
    }
  }
  function navigated() {
    if (location.pathname != path) {
      path = location.pathname;
      arm();
    }
  }
  // Single-page apps: the Navigation API reports pushState, replaceState and back/forward alike,
  // without wrapping the host's history functions. Browsers without it re-evaluate on page loads.
  window.navigation?.addEventListener('currententrychange', navigated);
  function warn(what, detail) {
    console.warn('soovita: ' + what, detail);
  }
  var failed = warn.bind(0, 'no survey shown:');

  if (visitor().next > now()) return command;
  // The server picks the first language it has: the site's data-lang, the page's, then those
  // of the visitor's Accept-Language.
  var languages = [lang, document.documentElement.lang];
  fetch(api + '/v1/sites/' + site + '/survey?lang=' + encodeURIComponent(languages))
    .then(function (response) {
      if (!response.ok) throw response.status;
      return response.json();
    })
    .then(function (survey) {
      if (survey.honor_do_not_track && (navigator.globalPrivacyControl || navigator.doNotTrack == '1')) return;
      // A sticky bucket: reloading the page does not give the visitor another draw.
      var bucket = visitor().bucket;
      if (!(bucket >= 0)) {
        bucket = (Math.random() * 100) | 0;
        remember(function (memory) {
          memory[site] = { ...memory[site], bucket: bucket };
        });
      }
      if (bucket < survey.sample_percent) {
        config = survey;
        navigated();
      }
    })
    .catch(failed);
  return command;
}
