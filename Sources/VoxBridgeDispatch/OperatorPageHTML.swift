extension OperatorPageController {
    /// `GET /`: the page's markup. No inline script or style, so the page's
    /// Content-Security-Policy can forbid both.
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>VoxBridge Dispatch · fleet</title>
<link rel="stylesheet" href="/ui/operator.css">
<script src="/ui/operator.js" defer></script>
</head>
<body>
<a class="skip" href="#servers-title">Skip to the servers</a>
<header class="top">
  <h1>VoxBridge Dispatch</h1>
  <p id="connection" class="connection" data-connection="connecting" role="status" aria-live="polite">Connecting…</p>
</header>
<main>
  <section id="access" class="panel access" hidden aria-labelledby="access-title">
    <h2 id="access-title">Token needed</h2>
    <p id="access-reason"></p>
    <form id="access-form" class="row">
      <label for="access-token">Token</label>
      <input id="access-token" type="password" autocomplete="off" spellcheck="false" required>
      <button type="submit">Use token</button>
    </form>
    <p class="note">Kept in this browser tab only (sessionStorage), never in a URL or a cookie.</p>
  </section>

  <section aria-labelledby="totals-title">
    <h2 id="totals-title">Fleet</h2>
    <dl id="totals" class="totals">
      <div><dt>Servers up</dt><dd id="total-up">–</dd></div>
      <div><dt>Free workers</dt><dd id="total-free">–</dd></div>
      <div><dt>Picks per second</dt><dd id="total-picks">–</dd></div>
      <div><dt>No-capacity answers</dt><dd id="total-no-capacity">–</dd></div>
      <div><dt>Probes per second</dt><dd id="total-probes">–</dd></div>
      <div><dt>Decided by</dt><dd id="total-decider">–</dd></div>
    </dl>
  </section>

  <section aria-labelledby="servers-title">
    <h2 id="servers-title" tabindex="-1">Servers</h2>
    <p id="servers-empty" class="note" hidden>The fleet list is empty: add a server below.</p>
    <ul id="servers" class="servers"></ul>
  </section>

  <section class="panel" aria-labelledby="edit-title">
    <h2 id="edit-title">Fleet list</h2>
    <p id="list-version" class="note">Loading the list…</p>
    <ol id="entries" class="entries"></ol>
    <form id="add-form" class="add" novalidate>
      <label for="add-url">Add a server</label>
      <div class="row">
        <input id="add-url" type="text" inputmode="url" autocomplete="off" spellcheck="false" placeholder="https://fleet-4.example.com">
        <button type="button" id="verify-button">Check health</button>
        <button type="submit" id="add-button">Add to list</button>
      </div>
      <p id="verify-result" class="result" role="status" aria-live="polite"></p>
    </form>
    <div class="row actions">
      <button type="button" id="save-button" class="primary">Save list</button>
      <button type="button" id="revert-button">Discard changes</button>
    </div>
    <p id="save-result" class="result" role="status" aria-live="polite"></p>
    <section id="conflict" class="conflict" hidden aria-labelledby="conflict-title">
      <h3 id="conflict-title" tabindex="-1">Someone else saved the list meanwhile</h3>
      <p>Nothing was overwritten. Compare the two lists, then choose.</p>
      <div class="compare">
        <div><h4>Your list (not saved)</h4><ol id="conflict-mine"></ol></div>
        <div><h4 id="conflict-theirs-title">Saved list</h4><ol id="conflict-theirs"></ol></div>
      </div>
      <div class="row">
        <button type="button" id="conflict-take">Use the saved list</button>
        <button type="button" id="conflict-keep">Keep my list and save it over theirs</button>
      </div>
    </section>
  </section>
</main>
</body>
</html>
"""#
}
